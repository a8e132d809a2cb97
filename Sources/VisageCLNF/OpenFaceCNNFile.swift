import Foundation
import VisageCore

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
