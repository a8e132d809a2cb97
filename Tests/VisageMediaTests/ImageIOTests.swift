import Foundation
import Testing
import VisageCore
@testable import VisageMedia

@Suite struct ImageIOTests {
    @Test func decodesJPEGAndPNGAsBGR() throws {
        let jpeg = try ImageIO.read(MediaFixtures.path("images/face_recognition/obama.jpg"))
        #expect(jpeg.channels == 3 && jpeg.width > 100 && jpeg.height > 100)
        // astronaut.png: the top-left pixel of the NASA portrait is not grey; check BGR order against RGB conversion.
        let png = try ImageIO.read(MediaFixtures.path("images/skimage/astronaut.png"))
        #expect(png.width == 512 && png.height == 512)
        let rgb = try ImageOps.convertColor(png, .bgrToRGB)
        #expect(rgb.byte(x: 10, y: 10, channel: 0) == png.byte(x: 10, y: 10, channel: 2))
    }

    @Test func decodesFromMemoryLikeFromFile() throws {
        let path = MediaFixtures.path("images/face_recognition/biden.jpg")
        let a = try ImageIO.read(path)
        let b = try ImageIO.decode(Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(a.width == b.width && a.height == b.height)
        #expect((0..<50).allSatisfy { a.byte(x: $0 * 3, y: $0 * 2) == b.byte(x: $0 * 3, y: $0 * 2) })
    }

    @Test func writesAtomicallyAndRoundTrips() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        let image = Image(width: 32, height: 16, channels: 3)
        image.baseAddress.storeBytes(of: 200, toByteOffset: 0, as: UInt8.self)
        let out = dir.appendingPathComponent("x.png").path
        try ImageIO.write(image, to: out)
        let back = try ImageIO.read(out)
        #expect(back.width == 32 && back.height == 16 && back.byte(x: 0, y: 0) == 200)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["x.png"])
    }

    @Test func encodesToMemory() throws {
        let image = Image(width: 8, height: 8, channels: 3)
        let png = try ImageIO.encode(image, format: "png")
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(try ImageIO.decode(png).width == 8)
    }

    // MARK: bad input: each fails with a VisageError, never crashes, leaves no output behind

    @Test func missingFile() {
        #expect(throws: VisageError.fileNotFound(path: "/nonexistent/face.jpg")) { try ImageIO.read("/nonexistent/face.jpg") }
    }

    @Test func directoryInsteadOfFile() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        #expect(throws: VisageError.notAFile(path: dir.path)) { try ImageIO.read(dir.path) }
    }

    @Test func zeroByteFile() throws {
        let file = try MediaFixtures.temporaryDirectory().appendingPathComponent("empty.jpg")
        #expect(FileManager.default.createFile(atPath: file.path, contents: Data()))
        #expect(throws: VisageError.emptyFile(path: file.path)) { try ImageIO.read(file.path) }
    }

    @Test(arguments: ["images/face_recognition/obama.jpg", "images/skimage/astronaut.png"])
    func truncatedImage(source: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: MediaFixtures.path(source)))
        let file = try MediaFixtures.temporaryDirectory().appendingPathComponent("cut." + (source as NSString).pathExtension)
        try data.prefix(data.count / 2).write(to: file)
        let error = try #require(throws: VisageError.self) { try ImageIO.read(file.path) }
        #expect("\(error)".contains("truncated"))
    }

    @Test func textFileNamedJPEG() throws {
        let file = try MediaFixtures.temporaryDirectory().appendingPathComponent("notes.jpg")
        try Data("these are my holiday notes, not a picture\n".utf8).write(to: file)
        let error = try #require(throws: VisageError.self) { try ImageIO.read(file.path) }
        guard case .invalidImage = error else { Issue.record("unexpected \(error)"); return }
    }

    @Test func hugeHeaderIsRefusedBeforeDecoding() throws {
        // A PNG signature and IHDR claiming 60000x60000, followed by nothing useful.
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8)
        png += [0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60, 8, 2, 0, 0, 0, 0, 0, 0, 0]
        png += Array("IEND".utf8)
        let file = try MediaFixtures.temporaryDirectory().appendingPathComponent("huge.png")
        try Data(png).write(to: file)
        #expect(throws: VisageError.imageTooLarge(path: file.path, width: 60000, height: 60000, limit: ImageIO.maxPixels)) {
            try ImageIO.read(file.path)
        }
        // The same claim in a JPEG start-of-frame.
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8, 0xEA, 0x60, 0xEA, 0x60, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]
        #expect(ImageHeader.parse(Data(jpeg)) == ImageHeader(format: "jpeg", width: 60000, height: 60000))
    }

    @Test func headerParsingMatchesDecodedSize() throws {
        for rel in ["images/face_recognition/obama.jpg", "images/skimage/astronaut.png", "images/insightface/t1.jpg"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: MediaFixtures.path(rel)))
            let header = try #require(ImageHeader.parse(data))
            let image = try ImageIO.decode(data)
            #expect(header.width == image.width && header.height == image.height, "\(rel)")
        }
    }

    @Test func failedWriteLeavesNothing() throws {
        let dir = try MediaFixtures.temporaryDirectory()
        let image = Image(width: 4, height: 4, channels: 3)
        #expect(throws: VisageError.self) { try ImageIO.write(image, to: dir.appendingPathComponent("missing/x.png").path) }
        #expect(throws: VisageError.self) { try ImageIO.write(image, to: dir.appendingPathComponent("x.unknown").path) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
