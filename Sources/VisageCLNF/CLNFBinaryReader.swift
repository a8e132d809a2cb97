import Foundation
import VisageCore

/// Sequential little-endian reader over OpenFace's binary model files (`std::ifstream::read` of raw ints and
/// doubles, and `ReadMatBin` matrices: int32 rows, cols, OpenCV type, then the elements). Every read is
/// bounds-checked so a truncated or foreign file becomes a `VisageError.invalidModel` naming the file.
struct CLNFBinaryReader {
    let path: String
    private let data: [UInt8]
    private(set) var offset = 0

    init(contentsOf url: URL) throws {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw VisageError.fileNotFound(path: path)
        }
        guard !isDirectory.boolValue else { throw VisageError.notAFile(path: path) }
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw VisageError.unreadable(path: path, reason: "could not read the file")
        }
        guard !contents.isEmpty else { throw VisageError.emptyFile(path: path) }
        self.path = path
        data = [UInt8](contents)
    }

    var isAtEnd: Bool { offset >= data.count }

    func failure(_ reason: String) -> VisageError {
        .invalidModel(path: path, reason: "\(reason) (at byte \(offset) of \(data.count))")
    }

    private mutating func take(_ count: Int, _ what: String) throws -> Int {
        guard count >= 0, offset + count <= data.count else {
            throw failure("file ends inside \(what)")
        }
        defer { offset += count }
        return offset
    }

    mutating func int32(_ what: String) throws -> Int {
        let start = try take(4, what)
        let bits = UInt32(data[start]) | UInt32(data[start + 1]) << 8 | UInt32(data[start + 2]) << 16 | UInt32(data[start + 3]) << 24
        return Int(Int32(bitPattern: bits))
    }

    mutating func float64(_ what: String) throws -> Double {
        let start = try take(8, what)
        var bits: UInt64 = 0
        for k in 0..<8 { bits |= UInt64(data[start + k]) << (8 * UInt64(k)) }
        return Double(bitPattern: bits)
    }

    /// A `ReadMatBin` matrix: returns rows, cols and the values (row-major) converted to double.
    /// Accepts OpenCV types CV_32S (4), CV_32F (5) and CV_64F (6), the only ones OpenFace writes.
    mutating func matrix(_ what: String, maxElements: Int = 1 << 24) throws -> (rows: Int, cols: Int, values: [Double]) {
        let rows = try int32("\(what) rows"), cols = try int32("\(what) cols"), type = try int32("\(what) type")
        guard rows >= 0, cols >= 0, rows * cols <= maxElements else {
            throw failure("\(what) has an implausible size \(rows)×\(cols)")
        }
        let count = rows * cols
        var values = [Double](repeating: 0, count: count)
        switch type {
        case 4:
            let start = try take(4 * count, what)
            for i in 0..<count {
                let p = start + 4 * i
                let bits = UInt32(data[p]) | UInt32(data[p + 1]) << 8 | UInt32(data[p + 2]) << 16 | UInt32(data[p + 3]) << 24
                values[i] = Double(Int32(bitPattern: bits))
            }
        case 5:
            let start = try take(4 * count, what)
            for i in 0..<count {
                let p = start + 4 * i
                let bits = UInt32(data[p]) | UInt32(data[p + 1]) << 8 | UInt32(data[p + 2]) << 16 | UInt32(data[p + 3]) << 24
                values[i] = Double(Float(bitPattern: bits))
            }
        case 6:
            let start = try take(8 * count, what)
            for i in 0..<count {
                var bits: UInt64 = 0
                for k in 0..<8 { bits |= UInt64(data[start + 8 * i + k]) << (8 * UInt64(k)) }
                values[i] = Double(bitPattern: bits)
            }
        default:
            throw failure("\(what) has OpenCV element type \(type); expected 4 (int32), 5 (float) or 6 (double)")
        }
        return (rows, cols, values)
    }
}
