import Foundation
import Testing

/// Every bad input: one clear line on stderr, non-zero exit, no crash, no partial output file.
@Suite struct BadInputCLITests {
    func expectCleanFailure(_ arguments: [String], mentions needle: String, environment: [String: String] = [:],
                            output: URL? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try CLI.run(arguments, environment: environment)
        #expect(r.status != 0 && r.status < 128, "exit \(r.status)", sourceLocation: sourceLocation)   // >= 128 would be a signal (crash)
        let errorLines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("visage: error:") }
        #expect(errorLines.count == 1, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(errorLines.first?.contains(needle) == true, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
        if let output {
            let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: output.deletingLastPathComponent().path)) ?? []
            #expect(leftovers.isEmpty, "left behind: \(leftovers)", sourceLocation: sourceLocation)
        }
    }

    @Test func missingFile() throws {
        let out = try CLI.temporaryDirectory().appendingPathComponent("o.png")
        try expectCleanFailure(["detect", "/nonexistent/face.jpg", "--draw", out.path], mentions: "file not found", output: out)
    }

    @Test func directoryInsteadOfFile() throws {
        let dir = try CLI.temporaryDirectory()
        try expectCleanFailure(["detect", dir.path], mentions: "is a directory")
    }

    @Test func zeroByteFile() throws {
        let dir = try CLI.temporaryDirectory()
        let file = dir.appendingPathComponent("empty.jpg")
        #expect(FileManager.default.createFile(atPath: file.path, contents: Data()))
        let out = try CLI.temporaryDirectory().appendingPathComponent("o.png")
        try expectCleanFailure(["detect", file.path, "--draw", out.path], mentions: "empty", output: out)
    }

    @Test func truncatedJPEG() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: CLI.media("images/insightface/t1.jpg")))
        let file = try CLI.temporaryDirectory().appendingPathComponent("cut.jpg")
        try data.prefix(data.count * 2 / 3).write(to: file)
        let out = try CLI.temporaryDirectory().appendingPathComponent("o.png")
        try expectCleanFailure(["detect", file.path, "--draw", out.path], mentions: "truncated", output: out)
    }

    @Test func textFileNamedJPEG() throws {
        let file = try CLI.temporaryDirectory().appendingPathComponent("photo.jpg")
        try Data("hello, I am text\n".utf8).write(to: file)
        try expectCleanFailure(["detect", file.path], mentions: "not a valid image")
    }

    @Test func hugeImageHeader() throws {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8)
        png += [0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60, 8, 2, 0, 0, 0, 0, 0, 0, 0] + Array("IEND".utf8)
        let file = try CLI.temporaryDirectory().appendingPathComponent("huge.png")
        try Data(png).write(to: file)
        try expectCleanFailure(["detect", file.path], mentions: "60000x60000")
    }

    @Test func unknownModelID() throws {
        try expectCleanFailure(["detect", "Samples/obama.jpg", "--model", "face-magic-9000"], mentions: "unknown model 'face-magic-9000'")
        try expectCleanFailure(["models", "install", "face-magic-9000"], mentions: "unknown model")
    }

    @Test func modelFileThatIsNotONNX() throws {
        let file = try CLI.temporaryDirectory().appendingPathComponent("detector.onnx")
        try Data("this is not a neural network".utf8).write(to: file)
        try expectCleanFailure(["detect", "Samples/obama.jpg", "--model", file.path], mentions: "not a usable ONNX model")
    }

    @Test func modelWithWrongSHA256() throws {
        let mirror = try CLI.temporaryDirectory()
        try FileManager.default.createDirectory(at: mirror.appendingPathComponent("pfld-68"), withIntermediateDirectories: true)
        try Data("tampered weights".utf8).write(to: mirror.appendingPathComponent("pfld-68/pfld.onnx"))
        let cache = try CLI.temporaryDirectory()
        try expectCleanFailure(["models", "install", "pfld-68"], mentions: "expected sha256 7d7bbd5c",
                               environment: ["VISAGE_MODEL_MIRROR": mirror.path, "VISAGE_MODEL_DIR": cache.path])
        #expect(!FileManager.default.fileExists(atPath: cache.appendingPathComponent("pfld-68/pfld.onnx").path))
    }

    @Test func onnxRuntimeLibraryMissing() throws {
        try expectCleanFailure(["detect", "Samples/obama.jpg"], mentions: "make setup",
                               environment: ["VISAGE_ORT_LIBRARY": "/nonexistent/libonnxruntime.so"])
    }

    @Test func openFaceWithoutLicenceAcceptance() throws {
        let r = try CLI.run(["models", "install", "openface-2.2.0"], environment: ["VISAGE_MODEL_DIR": try CLI.temporaryDirectory().path],
                            removing: ["VISAGE_ACCEPT_LICENSES"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--accept-license"))
    }
}
