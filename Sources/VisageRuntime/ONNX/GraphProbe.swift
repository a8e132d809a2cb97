import Foundation
import VisageCore

/// Learns from ONNX Runtime what hand-written inference over an ONNX graph gets wrong: the element
/// type of every tensor (ONNX Runtime's own type inference, read when the session loads) and, for
/// fixed input shapes, the shapes and values of chosen tensors (one run on zeros). Shapes are asked
/// for through added `Shape` nodes, so a large activation never has to be copied out.
struct GraphProbe {
    struct Result {
        /// Element type of every node output ONNX Runtime could type (non-tensor outputs are absent).
        var types: [String: ElementType] = [:]
        /// Shapes of the tensors asked for (only after a run).
        var shapes: [String: [Int]] = [:]
        /// Values of the tensors asked for (only after a run).
        var values: [String: Tensor] = [:]
    }

    /// Loads `model` with every node output exposed and, when `inputShapes` is given, runs it once on
    /// zeros of those shapes. A probe that cannot load or run throws; callers skip the rewrites that
    /// needed it and say why.
    static func probe(_ model: Onnx_ModelProto, inputShapes: [String: [Int]]?, shapesOf: [String] = [],
                      valuesOf: [String] = [], scratch: URL) throws -> Result {
        var copy = model
        GraphRewrite.removeUnusedInputs(&copy)
        GraphRewrite.removeInitializerInputs(&copy)
        var exposed = Set(copy.graph.output.map(\.name))
        for node in copy.graph.node {
            for o in node.output where !o.isEmpty && !exposed.contains(o) {
                var info = Onnx_ValueInfoProto()
                info.name = o
                copy.graph.output.append(info)
                exposed.insert(o)
            }
        }
        var shapeOutputs: [String: String] = [:]
        var names = GraphNames(copy.graph)
        for tensor in Set(shapesOf) {
            let out = names.fresh("visage_probe_shape")
            copy.graph.node.append(.make("Shape", inputs: [tensor], outputs: [out], name: out))
            var info = Onnx_ValueInfoProto()
            info.name = out
            copy.graph.output.append(info)
            shapeOutputs[tensor] = out
        }
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let file = scratch.appendingPathComponent("probe-\(UUID().uuidString.prefix(8)).onnx")
        defer { try? FileManager.default.removeItem(at: file) }
        let bytes: Data = try copy.serializedBytes()
        try bytes.write(to: file)

        var config = SessionConfig(accelerator: .cpu, optimization: .disabled)
        config.modelOptimization = .off
        let session = try InferenceSession(modelPath: file.path, config: config)
        var result = Result()
        for output in session.outputs {
            if let type = output.elementType { result.types[output.name] = type }
        }
        guard let inputShapes else { return result }

        var feeds: [String: Tensor] = [:]
        for input in session.inputs {
            let shape = inputShapes[input.name] ?? input.shape
            guard shape.allSatisfy({ $0 >= 0 }), let type = input.elementType else {
                throw VisageError.invalidArgument("probe: input '\(input.name)' has no fixed shape (\(input))")
            }
            feeds[input.name] = Tensor(type, shape: shape)
        }
        let wanted = Array(shapeOutputs.values) + Array(Set(valuesOf))
        guard !wanted.isEmpty else { return result }
        let outputs = try session.run(feeds, outputs: wanted)
        for (tensor, out) in shapeOutputs {
            if let shape = outputs[out] { result.shapes[tensor] = shape.int64s().map { Int($0) } }
        }
        for name in Set(valuesOf) { result.values[name] = outputs[name] }
        return result
    }
}
