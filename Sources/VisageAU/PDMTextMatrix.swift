import Foundation
import VisageCore

/// One matrix in OpenFace's text model format, as its `ReadMat` reads it: a header of three integers
/// `rows cols type` (type is OpenCV's element code: 4 = int32, 5 = float32, 6 = float64) followed by
/// `rows * cols` whitespace-separated numbers in row-major order.
struct OpenFaceTextMatrix: Sendable {
    let rows: Int
    let cols: Int
    let type: Int
    let values: [Double]
}

/// Reads consecutive `OpenFaceTextMatrix` blocks from one file (the PDM holds three, the triangulation one).
///
/// Before each header, lines starting with `#` and blank lines are skipped, which is what OpenFace's
/// `SkipComments` does for the comment lines its model files contain. Every failure names the file and
/// says what was expected, so a truncated or foreign file is reported instead of read as zeros.
struct OpenFaceTextMatrixReader {
    let path: String
    /// What the file should be ("OpenFace PDM", "OpenFace triangulation"), for error messages.
    let kind: String
    /// The file's bytes plus a terminating NUL, so `strtod` can parse in place.
    private let bytes: [UInt8]
    private var position = 0

    init(contentsOf url: URL, kind: String) throws {
        path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw VisageError.fileNotFound(path: path)
        }
        guard !isDirectory.boolValue else { throw VisageError.notAFile(path: path) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw VisageError.unreadable(path: path, reason: "\(kind): \(error.localizedDescription)")
        }
        guard !data.isEmpty else { throw VisageError.emptyFile(path: path) }
        bytes = Array(data) + [0]
        self.kind = kind
    }

    func failure(_ reason: String) -> VisageError {
        VisageError.unreadable(path: path, reason: "not a valid \(kind) file: \(reason)")
    }

    /// The next matrix; `name` says which one (for messages), `expectedType` the OpenCV type code required.
    mutating func next(_ name: String, expectedTypes: Set<Int>, maxElements: Int = 10_000_000) throws -> OpenFaceTextMatrix {
        skipCommentLines()
        let rows = try nextInteger("\(name): row count")
        let cols = try nextInteger("\(name): column count")
        let type = try nextInteger("\(name): element type")
        guard rows > 0, cols > 0, rows <= maxElements / cols else {
            throw failure("\(name) claims \(rows)×\(cols) elements")
        }
        guard expectedTypes.contains(type) else {
            throw failure("\(name) has OpenCV element type \(type), expected one of \(expectedTypes.sorted())")
        }
        var values = [Double]()
        values.reserveCapacity(rows * cols)
        for k in 0..<(rows * cols) {
            values.append(try nextNumber("\(name): value \(k + 1) of \(rows * cols)"))
        }
        return OpenFaceTextMatrix(rows: rows, cols: cols, type: type, values: values)
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C }

    private mutating func skipCommentLines() {
        while position < bytes.count - 1 {
            var lineStart = position
            while lineStart < bytes.count - 1, bytes[lineStart] == 0x20 || bytes[lineStart] == 0x09 { lineStart += 1 }
            let b = bytes[lineStart]
            guard b == UInt8(ascii: "#") || b == 0x0A || b == 0x0D else { return }
            var end = lineStart
            while end < bytes.count - 1, bytes[end] != 0x0A { end += 1 }
            position = min(end + 1, bytes.count - 1)
        }
    }

    /// Start and end of the next whitespace-delimited token, or nil at the end of the file.
    private mutating func nextToken() -> Range<Int>? {
        while position < bytes.count - 1, Self.isSpace(bytes[position]) { position += 1 }
        guard position < bytes.count - 1 else { return nil }
        let start = position
        while position < bytes.count - 1, !Self.isSpace(bytes[position]) { position += 1 }
        return start..<position
    }

    private mutating func nextInteger(_ what: String) throws -> Int {
        guard let token = nextToken() else { throw failure("file ends before \(what)") }
        let text = String(decoding: bytes[token], as: UTF8.self)
        guard let value = Int(text) else { throw failure("expected an integer for \(what), found \"\(text.prefix(40))\"") }
        return value
    }

    private mutating func nextNumber(_ what: String) throws -> Double {
        guard let token = nextToken() else { throw failure("file ends before \(what)") }
        let parsed: (Double, Int) = bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return (.nan, 0) }
            let start = UnsafeRawPointer(base + token.lowerBound).assumingMemoryBound(to: CChar.self)
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(start, &end)
            let consumed = end.map { UnsafeRawPointer($0) - UnsafeRawPointer(start) } ?? 0
            return (value, consumed)
        }
        guard parsed.1 == token.count, parsed.0.isFinite else {
            let text = String(decoding: bytes[token], as: UTF8.self)
            throw failure("expected a number for \(what), found \"\(text.prefix(40))\"")
        }
        return parsed.0
    }
}
