import Foundation
import SwiftProtobuf
@testable import VisageRuntime

/// Small ONNX models that the tests build themselves, so runtime behaviour (types, shapes,
/// names, dynamic axes) is checked against ONNX Runtime without any downloaded weights.
enum TinyModels {
    static func valueInfo(_ name: String, _ type: Onnx_TensorProto.DataType, _ dims: [Any]) -> Onnx_ValueInfoProto {
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType.elemType = Int32(type.rawValue)
        info.type.tensorType.shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let value = d as? Int { dim.dimValue = Int64(value) } else { dim.dimParam = "\(d)" }
            return dim
        }
        return info
    }

    static func node(_ op: String, _ inputs: [String], _ outputs: [String], castTo: Onnx_TensorProto.DataType? = nil) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = inputs
        n.output = outputs
        n.name = outputs[0] + "_node"
        if let castTo {
            var attribute = Onnx_AttributeProto()
            attribute.name = "to"
            attribute.type = .int
            attribute.i = Int64(castTo.rawValue)
            n.attribute = [attribute]
        }
        return n
    }

    static func model(nodes: [Onnx_NodeProto], inputs: [Onnx_ValueInfoProto], outputs: [Onnx_ValueInfoProto]) -> Onnx_ModelProto {
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var opset = Onnx_OperatorSetIdProto()
        opset.version = 13
        m.opsetImport = [opset]
        m.producerName = "visage-tests"
        m.graph.name = "tiny"
        m.graph.node = nodes
        m.graph.input = inputs
        m.graph.output = outputs
        return m
    }

    static func write(_ model: Onnx_ModelProto, name: String) throws -> String {
        let url = try RuntimeFixtures.temporaryDirectory().appendingPathComponent(name)
        let data: Data = try model.serializedBytes()
        try data.write(to: url)
        return url.path
    }

    /// z = x + y, float32 [n, 3] with a dynamic batch axis.
    static func add() throws -> String {
        try write(model(nodes: [node("Add", ["x", "y"], ["z"])],
                        inputs: [valueInfo("x", .float, ["n", 3]), valueInfo("y", .float, ["n", 3])],
                        outputs: [valueInfo("z", .float, ["n", 3])]), name: "add.onnx")
    }

    /// Type conversions across every element type we exchange: uint8/int64/float16 in, float32/float16/int64 out.
    static func casts() throws -> String {
        try write(model(
            nodes: [node("Cast", ["u8"], ["u8_as_f32"], castTo: .float),
                    node("Cast", ["i64"], ["i64_as_f32"], castTo: .float),
                    node("Cast", ["f16"], ["f16_as_f32"], castTo: .float),
                    node("Cast", ["u8"], ["u8_as_f16"], castTo: .float16),
                    node("Cast", ["u8"], ["u8_as_i64"], castTo: .int64)],
            inputs: [valueInfo("u8", .uint8, [4]), valueInfo("i64", .int64, [4]), valueInfo("f16", .float16, [4])],
            outputs: [valueInfo("u8_as_f32", .float, [4]), valueInfo("i64_as_f32", .float, [4]), valueInfo("f16_as_f32", .float, [4]),
                      valueInfo("u8_as_f16", .float16, [4]), valueInfo("u8_as_i64", .int64, [4])]), name: "casts.onnx")
    }
}
