import Foundation
import Testing
import VisageCore
@testable import VisageMedia

/// Containers and encoders are checked before any work, refusals are plain words, and no
/// temporary file outlives a failure.
@Suite(.enabled(if: VideoFixtures.available, "needs ffmpeg and ffprobe on PATH"))
struct VideoWriterChecksTests {
    static func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    /// The folder holds nothing but what the test put there (no ".x.partial-…" leftovers).
    static func expectNoLeftovers(in dir: URL, besides kept: Set<String> = []) throws {
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        #expect(names.subtracting(kept).isEmpty, "left behind: \(names.subtracting(kept).sorted())")
    }

    @Test func unknownExtensionsAreRefusedUpFront() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["out.avi", "out", "out.gif", "out.MP4.txt"] {
            let text = Self.message { _ = try VideoWriter(path: dir.appendingPathComponent(name).path, width: 64, height: 48, fps: 25) }
            #expect(text?.contains("use .mp4, .mov, .mkv or .webm") == true, "\(name): \(text ?? "accepted")")
        }
        // Upper case is the same format.
        let upper = try VideoWriter(path: dir.appendingPathComponent("OUT.MP4").path, width: 64, height: 48, fps: 25)
        #expect(upper.container == .mp4)
        upper.cancel()
        try Self.expectNoLeftovers(in: dir)
    }

    @Test(arguments: [("out.webm", "libx264"), ("out.mp4", "libvpx-vp9"), ("out.mov", "libaom-av1"), ("out.webm", "mpeg4")])
    func encodersThatDoNotFitTheContainerAreRefused(_ name: String, _ encoder: String) throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try #require(Self.message {
            _ = try VideoWriter(path: dir.appendingPathComponent(name).path, width: 64, height: 48, fps: 25, encoder: encoder)
        })
        #expect(text.contains("'\(encoder)'") && text.contains("do not take") && text.contains(".mkv"), "\(text)")
        try Self.expectNoLeftovers(in: dir)
    }

    @Test func unknownEncoderIsRefusedNamingTheFix() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try #require(Self.message {
            _ = try VideoWriter(path: dir.appendingPathComponent("out.mp4").path, width: 64, height: 48, fps: 25, encoder: "libx246")
        })
        #expect(text.contains("no 'libx246' encoder") && text.contains("libx264"))
        #expect(EncoderProbe.status(of: "libx246") == .notListed)
    }

    /// An encoder ffmpeg lists but that cannot start here (NVENC on a machine without an NVIDIA
    /// GPU) is refused before any frame, with libx264 named as the fix.
    @Test func listedButBrokenEncoderIsRefused() throws {
        guard EncoderProbe.codec(of: "h264_nvenc") != nil, case .fails(let reason) = EncoderProbe.status(of: "h264_nvenc") else {
            return   // this machine's ffmpeg lacks NVENC, or has a GPU it works on: nothing to refuse
        }
        #expect(reason.contains("libx264") && reason.contains("h264_nvenc"))
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = Self.message {
            _ = try VideoWriter(path: dir.appendingPathComponent("out.mp4").path, width: 64, height: 48, fps: 25, encoder: "h264_nvenc")
        }
        #expect(text == reason)
        #expect(!EncoderProbe.working(among: ["libx264", "h264_nvenc"]).contains("h264_nvenc"))
        #expect(!EncoderProbe.workingHardwareEncoders().contains("h264_nvenc"))
        try Self.expectNoLeftovers(in: dir)
    }

    @Test func workingEncodersIncludeTheSoftwareOnes() {
        #expect(EncoderProbe.status(of: "libx264") == .works)
        #expect(EncoderProbe.working(among: ["libx264", "libx246", "libvpx-vp9"]) == ["libx264", "libvpx-vp9"])
        #expect(EncoderProbe.codec(of: "libx264") == "h264" && EncoderProbe.codec(of: "libvpx-vp9") == "vp9")
        // Hardware candidates are only of codecs we write, and doctor's list only those that start.
        let candidates = EncoderProbe.hardwareCandidates()
        #expect(candidates.allSatisfy { EncoderProbe.writtenCodecs.contains(EncoderProbe.codec(of: $0) ?? "") })
        #expect(!candidates.contains("mjpeg_vaapi") && !candidates.contains("libx264"))
        #expect(Set(EncoderProbe.workingHardwareEncoders()).isSubset(of: candidates))
    }

    /// Each container with a fitting encoder writes a playable file; audio that a container cannot
    /// hold is re-encoded (AAC into WebM becomes Opus), audio that fits is copied.
    @Test(arguments: [("out.mp4", "libx264", "h264", "aac"), ("out.mov", "libx265", "hevc", "aac"),
                      ("out.mkv", "mpeg4", "mpeg4", "aac"), ("out.webm", "libvpx-vp9", "vp9", "opus")])
    func containersWriteWithTheirEncoders(_ name: String, _ encoder: String, _ codec: String, _ audio: String) throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = try VideoFixtures.clip("source.mp4", in: dir, seconds: 0.4, size: "96x64")
        let output = dir.appendingPathComponent(name).path
        _ = try VideoWriterTimingTests.roundTrip(source, to: output, encoder: encoder)
        let out = try VideoFixtures.run(VideoFixtures.ffprobe, ["-v", "error", "-show_entries", "stream=codec_type,codec_name", "-of", "csv=p=0", output])
        let streams = String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(streams.contains("\(codec),video") && streams.contains("\(audio),audio"), "\(streams)")
        #expect(try VideoFixtures.cliFrameCount(output) == 10)
        try Self.expectNoLeftovers(in: dir, besides: ["source.mp4", name])
    }

    /// Cancelling, finishing without frames and a source that vanished leave nothing behind and
    /// never show the temporary name.
    @Test func failuresLeaveNoTemporaryFiles() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent("out.mp4").path

        let cancelled = try VideoWriter(path: output, width: 64, height: 48, fps: 25)
        #expect(cancelled.encoderProcessID == nil)   // ffmpeg starts with the first frame
        for _ in 0..<5 { try cancelled.write(Image(width: 64, height: 48)) }
        let pid = try #require(cancelled.encoderProcessID)
        cancelled.cancel()
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "ffmpeg \(pid) still exists after cancel")
        try Self.expectNoLeftovers(in: dir)

        let empty = try VideoWriter(path: output, width: 64, height: 48, fps: 25)
        let text = Self.message { try empty.finish() }
        #expect(text?.contains("no frames were written") == true)
        try Self.expectNoLeftovers(in: dir)

        #expect(throws: VisageError.fileNotFound(path: dir.appendingPathComponent("gone.mp4").path)) {
            _ = try VideoWriter(path: output, width: 64, height: 48, fps: 25, audioFrom: dir.appendingPathComponent("gone.mp4").path)
        }
        #expect(Self.message { _ = try VideoWriter(path: "/nonexistent-dir/out.mp4", width: 64, height: 48, fps: 25) }?
            .contains("does not exist") == true)

        // ffmpeg failing at the end (its audio source is not a media file): plain words, no temp name.
        let notMedia = dir.appendingPathComponent("notes.txt")
        try Data("just text".utf8).write(to: notMedia)
        let broken = try VideoWriter(path: output, width: 64, height: 48, fps: 25, audioFrom: notMedia.path)
        for _ in 0..<3 { try? broken.write(Image(width: 64, height: 48)) }
        let failure = Self.message { try broken.finish() } ?? ""
        #expect(failure.hasPrefix("cannot write \(output)"), "\(failure)")
        #expect(!failure.contains(".partial-") && !failure.contains("@ 0x"), "\(failure)")
        try Self.expectNoLeftovers(in: dir, besides: ["notes.txt"])
    }
}
