import Foundation
import Testing
import VisageCore
import VisageMedia

@Suite struct VideoReaderTests {
    @Test func readsFramesFpsAndSize() throws {
        let reader = try VideoReader(path: MediaFixtures.path("video/openface/default.wmv"))
        #expect(abs(reader.fps - 15) < 0.5)
        #expect(reader.width > 0 && reader.height > 0)
        #expect(reader.frameCount > 250)
        var frames = 0
        while let frame = try reader.read(), frames < 20 {
            #expect(frame.width == reader.width && frame.height == reader.height && frame.channels == 3)
            frames += 1
        }
        #expect(frames == 20)
    }

    @Test func rejectsNonVideo() throws {
        let file = try MediaFixtures.temporaryDirectory().appendingPathComponent("clip.mp4")
        try Data("not a video at all".utf8).write(to: file)
        #expect(throws: VisageError.self) { try VideoReader(path: file.path) }
        #expect(throws: VisageError.fileNotFound(path: "/nonexistent.mp4")) { try VideoReader(path: "/nonexistent.mp4") }
    }
}
