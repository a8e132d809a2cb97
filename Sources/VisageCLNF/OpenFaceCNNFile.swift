import Foundation
import VisageCore

/// Reads OpenFace's binary model files (MTCNN `PNet.dat`/`RNet.dat`/`ONet.dat` and the CNN detection
/// validator `validator_cnn.txt`, binary despite its name): little-endian int32/float32/float64 scalars and
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

    private mutating func take(_ count: Int, _ what: String) throws -> Int {
        guard count >= 0, count <= bytes.count - offset else {
            throw corrupt("needs \(count) more bytes for \(what)")
        }
        defer { offset += count }
        return offset
    }

    mutating func int32(_ what: String) throws -> Int {
        let at = try take(4, what)
        return Int(Int32(bitPattern: UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24))
    }

    mutating func float32(_ what: String) throws -> Float {
        let at = try take(4, what)
        return Float(bitPattern: UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24)
    }

    mutating func float64(_ what: String) throws -> Double {
        let at = try take(8, what)
        var bits: UInt64 = 0
        for i in 0..<8 { bits |= UInt64(bytes[at + i]) << (8 * i) }
        return Double(bitPattern: bits)
    }

    /// One `ReadMatBin` matrix, its elements widened to Double (single-channel CV_8U/8S/16U/16S/32S/32F/64F).
    mutating func matrix(_ what: String) throws -> OpenFaceMatrix {
        let rows = try int32("\(what) rows")
        let cols = try int32("\(what) columns")
        let type = try int32("\(what) element type")
        guard rows >= 0, cols >= 0, rows <= 1 << 24, cols <= 1 << 24 else { throw corrupt("\(what) claims \(rows)x\(cols) elements") }
        let size: Int
        switch type {
        case 0, 1: size = 1
        case 2, 3: size = 2
        case 4, 5: size = 4
        case 6: size = 8
        default: throw corrupt("\(what) has OpenCV type \(type), expected a one-channel matrix")
        }
        let count = rows * cols
        let at = try take(count * size, "\(what) (\(rows)x\(cols), \(size)-byte elements)")
        var values = [Double](repeating: 0, count: count)
        for i in 0..<count {
            let p = at + i * size
            var bits: UInt64 = 0
            for b in 0..<size { bits |= UInt64(bytes[p + b]) << (8 * b) }
            switch type {
            case 0: values[i] = Double(UInt8(bits))
            case 1: values[i] = Double(Int8(bitPattern: UInt8(bits)))
            case 2: values[i] = Double(UInt16(bits))
            case 3: values[i] = Double(Int16(bitPattern: UInt16(bits)))
            case 4: values[i] = Double(Int32(bitPattern: UInt32(bits)))
            case 5: values[i] = Double(Float(bitPattern: UInt32(bits)))
            default: values[i] = Double(bitPattern: bits)
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

/// One layer of OpenFace's hand-rolled CNNs (`CNN::Inference` in FaceDetectorMTCNN.cpp for MTCNN,
/// `DetectionValidator::CheckCNN` for the validator), with weights in the orientation OpenFace applies them.
enum OpenFaceCNNLayer {
    /// Valid, stride-1 cross-correlation (no kernel flip), as `convolution_direct_blas` computes it.
    /// `weights[((o * inputs + i) * kernelHeight + ky) * kernelWidth + kx]`.
    case convolution(inputs: Int, outputs: Int, kernelHeight: Int, kernelWidth: Int, weights: [Float], bias: [Float])
    /// `max_pooling`: windows start every stride inside the map and are clipped at its end;
    /// output size `round((size - kernel) / stride) + 1`.
    case maxPool(kernelX: Int, kernelY: Int, strideX: Int, strideY: Int)
    /// `fully_connected`: `weights` is outputs × inputs (row-major) as applied (OpenFace stores its transpose).
    case fullyConnected(inputs: Int, outputs: Int, weights: [Float], bias: [Float])
    /// Per-channel leaky slope (MTCNN's layer type 3).
    case prelu(slopes: [Float])
    /// The validator's layer type 3.
    case relu
    case sigmoid
}

/// Which file family a CNN comes from: the same layer-type numbers mean different layers in each.
enum OpenFaceCNNDialect {
    /// MTCNN `.dat`: type 1 = max-pool with its own kernel/stride, type 3 = PReLU.
    case mtcnn
    /// `validator_cnn.txt`: type 1 = 2×2 stride-2 max-pool (no parameters stored), type 3 = ReLU.
    case validator
}

extension OpenFaceBinaryReader {
    /// The layer list as `CNN::Read` / `DetectionValidator::Read` parse it: int32 depth, then per layer an
    /// int32 type and its data.
    mutating func cnnLayers(_ dialect: OpenFaceCNNDialect, context: String) throws -> [OpenFaceCNNLayer] {
        let depth = try int32("\(context) layer count")
        guard (1...64).contains(depth) else { throw corrupt("\(context) claims \(depth) layers") }
        var layers: [OpenFaceCNNLayer] = []
        for index in 0..<depth {
            let what = "\(context) layer \(index)"
            let type = try int32("\(what) type")
            switch (type, dialect) {
            case (0, _):
                layers.append(try convolution(what))
            case (1, .mtcnn):
                let kx = try int32("\(what) kernel x"), ky = try int32("\(what) kernel y")
                let sx = try int32("\(what) stride x"), sy = try int32("\(what) stride y")
                guard kx > 0, ky > 0, sx > 0, sy > 0, kx <= 64, ky <= 64, sx <= 64, sy <= 64 else {
                    throw corrupt("\(what) has max-pool kernel \(kx)x\(ky) stride \(sx)x\(sy)")
                }
                layers.append(.maxPool(kernelX: kx, kernelY: ky, strideX: sx, strideY: sy))
            case (1, .validator):
                layers.append(.maxPool(kernelX: 2, kernelY: 2, strideX: 2, strideY: 2))
            case (2, _):
                let bias = try matrix("\(what) biases")
                let stored = try matrix("\(what) weights")
                // Stored inputs × outputs; OpenFace multiplies by its transpose.
                guard bias.cols == 1, bias.rows == stored.cols, stored.rows > 0 else {
                    throw corrupt("\(what): weights \(stored.rows)x\(stored.cols) do not match biases \(bias.rows)x\(bias.cols)")
                }
                var weights = [Float](repeating: 0, count: stored.rows * stored.cols)
                for o in 0..<stored.cols { for i in 0..<stored.rows { weights[o * stored.rows + i] = Float(stored[i, o]) } }
                layers.append(.fullyConnected(inputs: stored.rows, outputs: stored.cols, weights: weights, bias: bias.values.map { Float($0) }))
            case (3, .mtcnn):
                let slopes = try matrix("\(what) PReLU slopes")
                guard !slopes.values.isEmpty else { throw corrupt("\(what) has no PReLU slopes") }
                layers.append(.prelu(slopes: slopes.values.map { Float($0) }))
            case (3, .validator):
                layers.append(.relu)
            case (4, _):
                layers.append(.sigmoid)
            default:
                throw corrupt("\(what) has unknown type \(type)")
            }
        }
        return layers
    }

    private mutating func convolution(_ what: String) throws -> OpenFaceCNNLayer {
        let inputs = try int32("\(what) input maps")
        let outputs = try int32("\(what) kernel count")
        guard (1...4096).contains(inputs), (1...4096).contains(outputs) else {
            throw corrupt("\(what) claims \(inputs) input maps and \(outputs) kernels")
        }
        var bias = [Float](repeating: 0, count: outputs)
        for k in 0..<outputs { bias[k] = try float32("\(what) bias \(k)") }
        var weights: [Float] = []
        var kh = 0, kw = 0
        // Stored input map by input map, each with all its kernels.
        for i in 0..<inputs {
            for o in 0..<outputs {
                let kernel = try matrix("\(what) kernel \(o) of input \(i)")
                if weights.isEmpty {
                    kh = kernel.rows; kw = kernel.cols
                    guard kh > 0, kw > 0 else { throw corrupt("\(what) has an empty kernel") }
                    weights = [Float](repeating: 0, count: outputs * inputs * kh * kw)
                }
                guard kernel.rows == kh, kernel.cols == kw else { throw corrupt("\(what) mixes kernel sizes") }
                let base = (o * inputs + i) * kh * kw
                for k in 0..<(kh * kw) { weights[base + k] = Float(kernel.values[k]) }
            }
        }
        return .convolution(inputs: inputs, outputs: outputs, kernelHeight: kh, kernelWidth: kw, weights: weights, bias: bias)
    }
}
