import Foundation
import Testing
import VisageCore

@Suite struct AtomicFileTests {
    func tempDir() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("visage-core-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func failedWriteKeepsTheOldFileAndLeavesNoTemp() throws {
        let dir = try tempDir()
        let target = dir.appendingPathComponent("result.json")
        try AtomicFile.write(Data("old".utf8), to: target)
        struct Boom: Error {}
        #expect(throws: VisageError.self) {
            try AtomicFile.write(to: target) { temp in
                try Data("half".utf8).write(to: temp)
                throw Boom()
            }
        }
        #expect(try String(contentsOf: target, encoding: .utf8) == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["result.json"])
    }

    @Test func replacesAtomically() throws {
        let target = try tempDir().appendingPathComponent("x.txt")
        try AtomicFile.write(Data("1".utf8), to: target)
        try AtomicFile.write(Data("2".utf8), to: target)
        #expect(try String(contentsOf: target, encoding: .utf8) == "2")
    }

    @Test func missingDirectoryIsAClearError() {
        #expect(throws: VisageError.self) { try AtomicFile.write(Data(), to: URL(fileURLWithPath: "/nonexistent-dir/x")) }
    }
}
