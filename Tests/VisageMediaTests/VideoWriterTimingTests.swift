import Foundation
import Testing
import VisageCore
@testable import VisageMedia

/// The writer keeps time: frames land at the timestamps they are given, the video stream starts
/// where the source's did relative to its audio, and a recording with dropped frames keeps real time.
@Suite(.enabled(if: VideoFixtures.available, "needs ffmpeg and ffprobe on PATH"))
struct VideoWriterTimingTests {
    /// Decodes `source` and encodes every frame at its own timestamp, with the source's audio and
    /// time base; returns the output path.
    static func roundTrip(_ source: String, to output: String, encoder: String = "libx264") throws -> VideoReader {
        let reader = try VideoReader(path: source, decoder: .ffmpeg)
        let writer = try VideoWriter(path: output, width: reader.width, height: reader.height, fps: reader.fps,
                                     encoder: encoder, audioFrom: source, timeBase: reader.timeBase)
        while let frame = try reader.readFrame() { try writer.write(frame.image, timestamp: frame.timestamp) }
        try writer.finish()
        return reader
    }

    /// Frame times of `output` equal those of `source` within one tick of the coarser time base,
    /// after `shift` seconds (a container that cannot store negative times moves every stream).
    static func expectSameFrameTimes(_ source: String, _ output: String, shift: Double = 0) throws {
        let a = try VideoFixtures.probePTS(source), b = try VideoFixtures.probePTS(output)
        #expect(a.pts.count == b.pts.count, "frame count \(a.pts.count) → \(b.pts.count)")
        let tick = max(a.timeBase.seconds, b.timeBase.seconds)
        let worst = zip(a.pts, b.pts).map { abs(a.timeBase.seconds($0) + shift - b.timeBase.seconds($1)) }.max() ?? 0
        #expect(worst <= tick / 2 + 1e-9, "frame times differ by up to \(worst) s (tick \(tick) s)")
    }

    /// The case: short_hamilton_clip.mp4's video starts at 0.852 s, its audio at 0.008 s;
    /// the output must keep both starts and every frame time.
    @Test func hamiltonClipKeepsItsAudioVideoOffset() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = MediaFixtures.path("video/face_recognition/short_hamilton_clip.mp4")
        let output = dir.appendingPathComponent("out.mp4").path
        let reader = try Self.roundTrip(source, to: output)
        let sourceAudioStart = try #require(reader.audioStartTime)
        #expect(abs(reader.startTime - 0.852) < 0.001 && abs(sourceAudioStart - 0.008) < 0.001)
        let videoStart = try #require(try VideoFixtures.startTime(output, "video"))
        let audioStart = try #require(try VideoFixtures.startTime(output, "audio"))
        #expect(abs(videoStart - reader.startTime) < 1e-6, "video starts at \(videoStart)")
        #expect(abs(audioStart - sourceAudioStart) < 1e-6, "audio starts at \(audioStart)")
        try Self.expectSameFrameTimes(source, output)
    }

    /// Variable frame rate and a late video start on a made clip, into mp4, mov and mkv.
    @Test(arguments: ["mp4", "mov", "mkv"])
    func variableRateAndLateStartSurvive(_ ext: String) throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let vfr = try VideoFixtures.make("vfr.mp4", in: dir, ["-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=1.6",
                                                               "-f", "lavfi", "-i", "sine=d=2.5",
                                                               "-vf", "setpts='if(lt(N,20),N/25,0.8+(N-20)/10)/TB'", "-fps_mode", "passthrough",
                                                               "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-video_track_timescale", "90000"])
        let late = try VideoFixtures.make("late.mp4", in: dir, ["-itsoffset", "0.3", "-i", vfr, "-i", vfr, "-map", "0:v", "-map", "1:a", "-c", "copy"])
        let output = dir.appendingPathComponent("out.\(ext)").path
        let reader = try Self.roundTrip(late, to: output)
        #expect(reader.isVariableFrameRate)
        #expect(reader.startTime > 0.25)
        // A/V sync: video frames move exactly as the audio packets do. MP4 and MOV keep the AAC
        // priming before 0 (edit list), so nothing moves; Matroska cannot store negative times,
        // so ffmpeg moves every stream by the priming (23 ms), the same for both.
        let audioShift = try #require(try VideoFixtures.firstPacketTime(output, "a:0")) - (try #require(try VideoFixtures.firstPacketTime(late, "a:0")))
        let tolerance = ext == "mkv" ? 0.0006 : 1e-6   // Matroska keeps milliseconds
        if ext != "mkv" { #expect(abs(audioShift) < tolerance) }
        let videoStart = try #require(try VideoFixtures.startTime(output, "video"))
        #expect(abs(videoStart - (reader.startTime + audioShift)) < tolerance, "video starts at \(videoStart)")
        try Self.expectSameFrameTimes(late, output, shift: audioShift)
    }

    /// A transport stream whose clock starts 100 s in: kept as is, the MP4 would open with 100 s of
    /// nothing, so video and audio move together to start near 0, their offset unchanged.
    @Test func distantOriginMovesVideoAndAudioTogether() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clip = try VideoFixtures.clip("clip.mp4", in: dir, seconds: 1)
        let ts = try VideoFixtures.make("clock.ts", in: dir, ["-i", clip, "-c", "copy", "-output_ts_offset", "100"])
        let output = dir.appendingPathComponent("out.mp4").path
        let reader = try Self.roundTrip(ts, to: output)
        let sourceAudio = try #require(reader.audioStartTime)
        #expect(reader.startTime > 100 && sourceAudio > 100)
        let video = try #require(try VideoFixtures.startTime(output, "video"))
        let audio = try #require(try VideoFixtures.startTime(output, "audio"))
        #expect(min(video, audio) < 0.1, "starts at \(video) / \(audio)")
        #expect(abs((video - audio) - (reader.startTime - sourceAudio)) < 0.002, "A/V offset \(video - audio) vs \(reader.startTime - sourceAudio)")
        let shift = video - reader.startTime
        try Self.expectSameFrameTimes(ts, output, shift: shift)
    }

    /// A live recording that dropped frames: frames carry the capture clock, so the file lasts
    /// as long as the recording did instead of playing fast.
    @Test func droppedFramesKeepRealTime() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent("live.mp4").path
        let writer = try VideoWriter(path: output, width: 64, height: 48, fps: 30)
        // 30 fps capture, every third frame dropped by a slow pipeline.
        let captured = (0..<45).filter { $0 % 3 != 2 }.map { Double($0) / 30 }
        for (i, t) in captured.enumerated() {
            let frame = Image(width: 64, height: 48)
            frame.baseAddress.initializeMemory(as: UInt8.self, repeating: UInt8(i * 5), count: 64 * 48 * 3)
            try writer.write(frame, timestamp: t)
        }
        try writer.finish()
        let times = try VideoFixtures.probeFrameTimes(output)
        #expect(times.count == captured.count)
        #expect(zip(times, captured).allSatisfy { abs($0 - $1) < 1.0 / 90000 })
        #expect(abs(times.last! - 43.0 / 30) < 1e-4)   // 1.43 s, not 30 frames / 30 fps = 1 s
    }

    /// Frames written without timestamps land at n / fps, as before.
    @Test func nominalRateWithoutTimestamps() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent("nominal.mp4").path
        let writer = try VideoWriter(path: output, width: 64, height: 48, fps: 24000.0 / 1001)
        for _ in 0..<30 { try writer.write(Image(width: 64, height: 48)) }
        try writer.finish()
        #expect(writer.timeBase == VideoTimeBase(1001, 24000))   // the frame grid, as ffmpeg's -r 23.976… gives
        let (pts, timeBase) = try VideoFixtures.probePTS(output)
        #expect(pts.count == 30)
        #expect(pts.enumerated().allSatisfy { abs(timeBase.seconds($0.element) - Double($0.offset) * 1001 / 24000) < 1e-9 })
        let rate = try VideoFixtures.run(VideoFixtures.ffprobe, ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=r_frame_rate",
                                                                 "-of", "csv=p=0", output])
        #expect(String(decoding: rate, as: UTF8.self).hasPrefix("24000/1001"))
    }

    /// The nominal rate as a fraction, as ffmpeg reads "-r" (so old outputs keep their time base).
    @Test func frameRatesBecomeExactFractions() {
        #expect(VideoTimeBase(framesPerSecond: 29.97) == VideoTimeBase(100, 2997))
        #expect(VideoTimeBase(framesPerSecond: 30000.0 / 1001) == VideoTimeBase(1001, 30000))
        #expect(VideoTimeBase(framesPerSecond: 25) == VideoTimeBase(1, 25))
        #expect(VideoTimeBase(framesPerSecond: 15) == VideoTimeBase(1, 15))
        #expect(VideoTimeBase(framesPerSecond: 519168.0 / 19667) == VideoTimeBase(19667, 519168))
    }

    /// A timestamp that does not increase is placed one tick after the previous frame, not dropped.
    @Test func nonIncreasingTimestampsKeepEveryFrame() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent("dup.mkv").path
        let writer = try VideoWriter(path: output, width: 32, height: 32, fps: 25, timeBase: VideoTimeBase(1, 1000))
        for t in [0.0, 0.04, 0.04, 0.08, 0.02, 0.12] { try writer.write(Image(width: 32, height: 32), timestamp: t) }
        try writer.finish()
        let times = try VideoFixtures.probeFrameTimes(output)
        #expect(times.count == 6)
        #expect(zip(times.dropFirst(), times).allSatisfy { $0 > $1 })
    }
}
