import Foundation
import VisageCore
import VisageRuntime

/// Turns an OpenFace CNN layer list into an ONNX graph, and runs it with ONNX Runtime.
///
/// Why ONNX rather than Swift loops: P-Net runs on every pyramid level and the validator on every frame;
/// ONNX Runtime's convolutions (MLAS on CPU, or any accelerator) are several times faster than hand-written
/// ones and batch R-Net/O-Net candidates in one call. Exactness is the same either way: OpenFace itself
/// sums with OpenBLAS in an order nobody reproduces bit for bit, so both paths agree with it to float
/// rounding (the tests check the graph against a naive evaluation of the file's weights to 1e-4).
/// The graph is built in memory from the model file at load time, so nothing derived is installed or cached.
///
/// The graph reproduces OpenFace's layer semantics, including the two non-obvious ones:
/// - `fully_connected` on several maps either treats them as a 1×1 convolution (when the map count equals
///   the layer's input size, P-Net's last layer) or flattens each map column by column (x outer, y inner);
///   the flattening is folded into the weight order so the graph flattens the usual NCHW way.
/// - `max_pooling` sizes its output `round((n - k) / s) + 1`; the graph picks ONNX's ceil or floor mode
///   to match, and refuses a layer where no mode can (never the case in OpenFace 2.2's models).
enum OpenFaceCNNGraph {
    /// Input dimension: fixed, or free (named) when the network is fully convolutional.
    enum Dimension: Equatable {
        case fixed(Int)
        case free(String)
        var value: Int? { if case .fixed(let v) = self { return v } else { return nil } }
    }

    private enum Shape {
        case maps(channels: Int, height: Dimension, width: Dimension)
        case vector(Int)
    }

    struct Unsupported: Error, CustomStringConvertible {
        var description: String
    }

    static let inputName = "input"
    static let outputName = "output"

    /// The ONNX model for `layers` fed an NCHW float32 batch of `channels` × `height` × `width`.
    static func build(layers: [OpenFaceCNNLayer], channels: Int, height: Dimension, width: Dimension, name: String) throws -> Onnx_ModelProto {
        var nodes: [Onnx_NodeProto] = []
        var initializers: [Onnx_TensorProto] = []
        var shape = Shape.maps(channels: channels, height: height, width: width)
        var current = inputName

        func tensor(_ tensorName: String, _ dims: [Int], _ values: [Float]) -> String {
            var t = Onnx_TensorProto()
            t.name = tensorName
            t.dims = dims.map { Int64($0) }
            t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
            t.rawData = values.withUnsafeBufferPointer { Data(buffer: $0) }
            initializers.append(t)
            return tensorName
        }
        func node(_ op: String, _ inputs: [String], attributes: [Onnx_AttributeProto] = []) -> String {
            var n = Onnx_NodeProto()
            n.opType = op
            n.name = "layer\(nodes.count)_\(op)"
            n.input = inputs
            n.output = ["t\(nodes.count)"]
            n.attribute = attributes
            nodes.append(n)
            return n.output[0]
        }

        for (index, layer) in layers.enumerated() {
            let prefix = "l\(index)"
            switch (layer, shape) {
            case let (.convolution(inputs, outputs, kh, kw, weights, bias), .maps(c, h, w)):
                guard c == inputs else { throw Unsupported(description: "layer \(index): convolution expects \(inputs) maps, gets \(c)") }
                let outH = try shrink(h, by: kh - 1, layer: index), outW = try shrink(w, by: kw - 1, layer: index)
                current = node("Conv", [current, tensor("\(prefix)_w", [outputs, inputs, kh, kw], weights), tensor("\(prefix)_b", [outputs], bias)],
                               attributes: [ints("kernel_shape", [kh, kw])])
                shape = .maps(channels: outputs, height: outH, width: outW)

            case let (.maxPool(kx, ky, sx, sy), .maps(c, h, w)):
                let (outH, ceilH) = try poolSize(h, kernel: ky, stride: sy, layer: index)
                let (outW, ceilW) = try poolSize(w, kernel: kx, stride: sx, layer: index)
                guard ceilH == nil || ceilW == nil || ceilH == ceilW else {
                    throw Unsupported(description: "layer \(index): max-pool rounding differs between height and width")
                }
                current = node("MaxPool", [current], attributes: [ints("kernel_shape", [ky, kx]), ints("strides", [sy, sx]),
                                                                  int("ceil_mode", (ceilH ?? ceilW ?? true) ? 1 : 0)])
                shape = .maps(channels: c, height: outH, width: outW)

            case let (.fullyConnected(inputs, outputs, weights, bias), .maps(c, h, w)) where c > 1 && c == inputs:
                // Each position's channel vector goes through the layer: a 1×1 convolution.
                current = node("Conv", [current, tensor("\(prefix)_w", [outputs, inputs, 1, 1], weights), tensor("\(prefix)_b", [outputs], bias)],
                               attributes: [ints("kernel_shape", [1, 1])])
                shape = .maps(channels: outputs, height: h, width: w)

            case let (.fullyConnected(inputs, outputs, weights, bias), .maps(c, h, w)) where c > 1:
                guard let hh = h.value, let ww = w.value, c * hh * ww == inputs else {
                    throw Unsupported(description: "layer \(index): fully connected layer of \(inputs) inputs after \(c) maps of \(h)x\(w)")
                }
                // OpenFace flattens map by map, each column-major; ONNX's Flatten is row-major.
                var permuted = [Float](repeating: 0, count: weights.count)
                for o in 0..<outputs {
                    for ch in 0..<c { for y in 0..<hh { for x in 0..<ww {
                        permuted[o * inputs + (ch * hh + y) * ww + x] = weights[o * inputs + (ch * ww + x) * hh + y]
                    } } }
                }
                let flat = node("Flatten", [current], attributes: [int("axis", 1)])
                current = node("Gemm", [flat, tensor("\(prefix)_w", [outputs, inputs], permuted), tensor("\(prefix)_b", [outputs], bias)],
                               attributes: [int("transB", 1)])
                shape = .vector(outputs)

            case let (.fullyConnected(inputs, outputs, weights, bias), .vector(n)):
                guard n == inputs else { throw Unsupported(description: "layer \(index): fully connected layer of \(inputs) inputs after \(n) values") }
                current = node("Gemm", [current, tensor("\(prefix)_w", [outputs, inputs], weights), tensor("\(prefix)_b", [outputs], bias)],
                               attributes: [int("transB", 1)])
                shape = .vector(outputs)

            case let (.prelu(slopes), .maps(c, _, _)) where c > 1:
                guard slopes.count >= c else { throw Unsupported(description: "layer \(index): \(slopes.count) PReLU slopes for \(c) maps") }
                current = node("PRelu", [current, tensor("\(prefix)_slope", [c, 1, 1], Array(slopes.prefix(c)))])

            case let (.prelu(slopes), .vector(n)):
                guard slopes.count == n else { throw Unsupported(description: "layer \(index): \(slopes.count) PReLU slopes for \(n) values") }
                current = node("PRelu", [current, tensor("\(prefix)_slope", [n], slopes)])

            case (.relu, _):
                current = node("Relu", [current])

            case (.sigmoid, _):
                current = node("Sigmoid", [current])

            default:
                throw Unsupported(description: "layer \(index): \(layer) cannot follow \(shape) the way OpenFace 2.2's models use it")
            }
        }
        guard let last = nodes.indices.last else { throw Unsupported(description: "the network has no layers") }
        nodes[last].output = [outputName]

        var model = Onnx_ModelProto()
        model.irVersion = 8
        var opset = Onnx_OperatorSetIdProto()
        opset.version = 13
        model.opsetImport = [opset]
        model.producerName = "visage-openface-cnn"
        model.graph.name = name
        model.graph.node = nodes
        model.graph.initializer = initializers
        model.graph.input = [valueInfo(inputName, [.free("n"), .fixed(channels), height, width])]
        switch shape {
        case let .maps(c, h, w): model.graph.output = [valueInfo(outputName, [.free("n"), .fixed(c), h, w])]
        case let .vector(n): model.graph.output = [valueInfo(outputName, [.free("n"), .fixed(n)])]
        }
        return model
    }

    private static func shrink(_ d: Dimension, by amount: Int, layer: Int) throws -> Dimension {
        guard case .fixed(let v) = d else { return d }
        guard v - amount >= 1 else { throw Unsupported(description: "layer \(layer): a \(v)-pixel map is smaller than the kernel") }
        return .fixed(v - amount)
    }

    /// OpenFace's pooled size and whether ONNX needs ceil mode for it (nil: either mode works).
    private static func poolSize(_ d: Dimension, kernel: Int, stride: Int, layer: Int) throws -> (Dimension, Bool?) {
        guard let n = d.value else {
            // Free size: round(x / s) equals ceil(x / s) for every x only when s <= 2.
            guard stride <= 2, kernel >= stride else {
                throw Unsupported(description: "layer \(layer): max-pool stride \(stride) on a free-size map has no ONNX equivalent")
            }
            return (d, true)
        }
        guard n >= kernel else { throw Unsupported(description: "layer \(layer): a \(n)-pixel map is smaller than the pooling window") }
        let openFace = Int((Float(n - kernel) / Float(stride)).rounded(.toNearestOrAwayFromZero)) + 1
        let floorSize = (n - kernel) / stride + 1
        let ceilSize = (n - kernel + stride - 1) / stride + 1
        if openFace == floorSize { return (.fixed(openFace), floorSize == ceilSize ? nil : false) }
        guard openFace == ceilSize, kernel >= stride else {
            throw Unsupported(description: "layer \(layer): max-pool output \(openFace) has no ONNX equivalent")
        }
        return (.fixed(openFace), true)
    }

    private static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = values.map { Int64($0) }
        return a
    }

    private static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = Int64(value)
        return a
    }

    private static func valueInfo(_ name: String, _ dims: [Dimension]) -> Onnx_ValueInfoProto {
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        info.type.tensorType.shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            switch d {
            case .fixed(let v): dim.dimValue = Int64(v)
            case .free(let s): dim.dimParam = s
            }
            return dim
        }
        return info
    }
}

/// One OpenFace CNN loaded into ONNX Runtime: NCHW float32 in, the last layer's output out.
final class OpenFaceCNNNetwork {
    let session: InferenceSession
    let sourcePath: String

    /// Builds the graph, hands it to ONNX Runtime through a temporary file (InferenceSession loads from a
    /// path; the file is removed as soon as the session holds the model).
    init(layers: [OpenFaceCNNLayer], channels: Int, height: OpenFaceCNNGraph.Dimension, width: OpenFaceCNNGraph.Dimension,
         sourcePath: String, name: String, config: SessionConfig) throws {
        self.sourcePath = sourcePath
        let model: Onnx_ModelProto
        do {
            model = try OpenFaceCNNGraph.build(layers: layers, channels: channels, height: height, width: width, name: name)
        } catch let error as OpenFaceCNNGraph.Unsupported {
            throw VisageError.unreadable(path: sourcePath, reason: "\(name): \(error.description)")
        }
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("visage-openface-\(name)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).onnx")
        let data: Data = try model.serializedBytes()
        do {
            try data.write(to: file)
        } catch {
            throw VisageError.writeFailed(path: file.path, reason: "\(error.localizedDescription) (building \(name) from \(sourcePath))")
        }
        defer { try? FileManager.default.removeItem(at: file) }
        session = try InferenceSession(modelPath: file.path, config: config)
    }

    /// Runs a batch; `input` is [n, channels, height, width] float32.
    func run(_ input: Tensor) throws -> Tensor {
        guard let output = try session.run([OpenFaceCNNGraph.inputName: input])[OpenFaceCNNGraph.outputName] else {
            throw VisageError.runtime("\(sourcePath): the network produced no output")
        }
        return output
    }
}
