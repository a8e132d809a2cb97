import Foundation
import Testing
import VisageCore

/// A mapped file reads the file's bytes in place; anything that is not a non-empty regular file is refused.
@Suite struct MappedFileTests {
    @Test func mapsTheFileBytes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mapped-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let bytes = (0..<100_003).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let path = folder.appendingPathComponent("data.bin").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let file = try #require(MappedFile(path: path))
        #expect(file.byteCount == bytes.count)
        #expect(Array(file.bytes) == bytes)

        let empty = folder.appendingPathComponent("empty.bin").path
        try Data().write(to: URL(fileURLWithPath: empty))
        #expect(MappedFile(path: empty) == nil, "an empty file has nothing to map")
        #expect(MappedFile(path: folder.appendingPathComponent("missing.bin").path) == nil)
        #expect(MappedFile(path: folder.path) == nil, "a folder is not a file")
    }
}
