import Foundation
import SwiftProtobuf
import VisageCore
@testable import VisageRuntime

/// Small graphs for the rewrite tests, built here, and a way to run a graph on ONNX Runtime's CPU provider.
enum RewriteGraphs {
    static func model(opset: Int, nodes: [Onnx_NodeProto], inputs: [Onnx_ValueInfoProto], outputs: [Onnx_ValueInfoProto],
                      initializers: [Onnx_TensorProto] = []) -> Onnx_ModelProto {
        var m = TinyModels.model(nodes: nodes, inputs: inputs, outputs: outputs)
        m.opsetImport[0].version = Int64(opset)
        m.irVersion = opset >= 13 ? 8 : 6
        m.graph.initializer = initializers
        return m
    }

    static func ints(_ name: String, _ values: [Int64]) -> Onnx_TensorProto { .int64s(name, values) }

    static func floats(_ name: String, _ values: [Float], dims: [Int64]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.dims = dims
        t.rawData = values.withUnsafeBytes { Data($0) }
        return t
    }

    static func node(_ op: String, _ inputs: [String], _ outputs: [String], _ attributes: [Onnx_AttributeProto] = []) -> Onnx_NodeProto {
        .make(op, inputs: inputs, outputs: outputs, name: "\(op)_\(outputs[0])", attributes: attributes)
    }

    static func string(_ name: String, _ value: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .string
        a.s = Data(value.utf8)
        return a
    }

    static func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .float
        a.f = value
        return a
    }

    /// A float tensor of `shape` filled with a smooth, deterministic, non-symmetric pattern.
    static func pattern(_ shape: [Int], seed: Int = 1) -> Tensor {
        let t = Tensor(.float32, shape: shape)
        t.withUnsafeMutableBuffer(of: Float.self) { b in
            for i in b.indices { b[i] = sin(Float(i * 7 + seed) * 0.37) * Float(1 + (i + seed) % 5) }
        }
        return t
    }

    /// Runs a graph (in memory) on the CPU provider, the model loaded as it is.
    static func run(_ model: Onnx_ModelProto, _ feeds: [String: Tensor], name: String = "graph.onnx") throws -> [String: Tensor] {
        let path = try write(model, name: name)
        return try session(path).run(feeds)
    }

    static func write(_ model: Onnx_ModelProto, name: String) throws -> String {
        let url = try RuntimeFixtures.temporaryDirectory().appendingPathComponent(name)
        let data: Data = try model.serializedBytes()
        try data.write(to: url)
        return url.path
    }

    static func session(_ path: String) throws -> InferenceSession {
        try InferenceSession(modelPath: path, config: SessionConfig(accelerator: .cpu, modelOptimization: .off))
    }

    static func maxAbsDiff(_ a: Tensor?, _ b: Tensor?) -> Float {
        guard let a, let b, a.shape == b.shape else { return .infinity }
        return zip(a.floats(), b.floats()).map { abs($0 - $1) }.max() ?? 0
    }

    static func opCount(_ model: Onnx_ModelProto, _ op: String) -> Int { model.graph.node.filter { $0.opType == op }.count }
}
