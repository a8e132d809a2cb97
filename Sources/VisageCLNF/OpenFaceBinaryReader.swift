import Foundation
import VisageCore

/// Reads OpenFace's binary model files (MTCNN `PNet.dat`/`RNet.dat`/`ONet.dat`, the CNN detection validator
/// `validator_cnn.txt` and the CCNF patch experts `ccnf_patches_*.txt`, binary despite their names): little-endian int32/float32/float64 scalars and
/// matrices in the layout of OpenFace's `ReadMatBin` (int32 rows, int32 cols, int32 OpenCV type, then
/// rows × cols elements row by row). Every read is bounds-checked, so a truncated or corrupt file is an error
/// that names the file and what was being read, never a crash.
struct OpenFaceBinaryReader {
    let path: String
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(contentsOf url: URL) throws {
        path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw VisageError.fileNotFound(path: path) }
        guard !isDirectory.boolValue else { throw VisageError.notAFile(path: path) }
        do {
            bytes = [UInt8](try Data(contentsOf: url))
        } catch {
            throw VisageError.unreadable(path: path, reason: "\(error.localizedDescription)")
        }
        guard !bytes.isEmpty else { throw VisageError.emptyFile(path: path) }
    }

    var isAtEnd: Bool { offset == bytes.count }
    var byteCount: Int { bytes.count }

    func corrupt(_ reason: String) -> VisageError {
        .unreadable(path: path, reason: "\(reason) (at byte \(offset) of \(bytes.count)); the file is truncated or not an OpenFace 2.2 model")
    }

    private mutating func take(_ count: Int, _ what: @autoclosure () -> String) throws -> Int {
        guard count >= 0, count <= bytes.count - offset else {
            throw corrupt("needs \(count) more bytes for \(what())")
        }
        defer { offset += count }
        return offset
    }

    mutating func int32(_ what: @autoclosure () -> String) throws -> Int {
        let at = try take(4, what())
        return Int(Int32(bitPattern: UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24))
    }

    mutating func float32(_ what: @autoclosure () -> String) throws -> Float {
        let at = try take(4, what())
        return Float(bitPattern: UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24)
    }

    mutating func float64(_ what: @autoclosure () -> String) throws -> Double {
        let at = try take(8, what())
        var bits: UInt64 = 0
        for i in 0..<8 { bits |= UInt64(bytes[at + i]) << (8 * i) }
        return Double(bitPattern: bits)
    }

    /// One `ReadMatBin` matrix, its elements widened to Double (single-channel CV_8U/8S/16U/16S/32S/32F/64F).
    mutating func matrix(_ what: @autoclosure () -> String) throws -> OpenFaceMatrix {
        let rows = try int32("\(what()) rows")
        let cols = try int32("\(what()) columns")
        let type = try int32("\(what()) element type")
        guard rows >= 0, cols >= 0, rows <= 1 << 24, cols <= 1 << 24 else { throw corrupt("\(what()) claims \(rows)x\(cols) elements") }
        let size: Int
        switch type {
        case 0, 1: size = 1
        case 2, 3: size = 2
        case 4, 5: size = 4
        case 6: size = 8
        default: throw corrupt("\(what()) has OpenCV type \(type), expected a one-channel matrix")
        }
        let count = rows * cols
        let at = try take(count * size, "\(what()) (\(rows)x\(cols), \(size)-byte elements)")
        // Whole-element little-endian loads (the patch experts are ≈25 MB of these, read at every start-up).
        let values = bytes.withUnsafeBytes { raw in
            [Double](unsafeUninitializedCapacity: count) { out, initialized in
                let base = raw.baseAddress! + at
                for i in 0..<count {
                    switch type {
                    case 0: out[i] = Double(base.load(fromByteOffset: i, as: UInt8.self))
                    case 1: out[i] = Double(base.load(fromByteOffset: i, as: Int8.self))
                    case 2: out[i] = Double(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
                    case 3: out[i] = Double(Int16(littleEndian: base.loadUnaligned(fromByteOffset: i * 2, as: Int16.self)))
                    case 4: out[i] = Double(Int32(littleEndian: base.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)))
                    case 5: out[i] = Double(Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))))
                    default: out[i] = Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))
                    }
                }
                initialized = count
            }
        }
        return OpenFaceMatrix(rows: rows, cols: cols, values: values)
    }
}

/// A row-major matrix read by `OpenFaceBinaryReader`.
struct OpenFaceMatrix {
    var rows: Int
    var cols: Int
    var values: [Double]

    subscript(row: Int, col: Int) -> Double { values[row * cols + col] }
}
