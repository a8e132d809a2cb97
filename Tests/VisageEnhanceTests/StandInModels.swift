import Foundation
import SwiftProtobuf
import VisageRuntime

/// Small ONNX graphs with the real enhancers' interfaces, built by the tests (the trained GPEN and
/// CodeFormer weights cannot be had here, and no twin of them exists):
///
/// - GPEN-BFR-256/512 (harisreedhar/Face-Upscalers-ONNX, the files Deep-Live-Cam downloads): input 'input'
///   float32 [1,3,S,S], output 'output' float32 [1,3,S,S]. The stand-in swaps the R and B planes, so a
///   channel-order mistake on either side of the network shows.
/// - CodeFormer (FaceFusion's codeformer.onnx): inputs 'input' float32 [1,3,512,512] and 'weight' float64 [1]
///   (other conversions: 'x' and 'w'), output float32 [1,3,512,512]. The stand-in returns input · w, so the
///   fidelity value and its float64 type are checked.
enum StandInModels {
    static func valueInfo(_ name: String, _ type: Onnx_TensorProto.DataType, _ dims: [Int]) -> Onnx_ValueInfoProto {
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType.elemType = Int32(type.rawValue)
        info.type.tensorType.shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            dim.dimValue = Int64(d)
            return dim
        }
        return info
    }

    static func node(_ op: String, _ inputs: [String], _ outputs: [String], attributes: [Onnx_AttributeProto] = []) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = inputs
        n.output = outputs
        n.name = outputs[0] + "_node"
        n.attribute = attributes
        return n
    }

    static func intAttribute(_ name: String, _ value: Int64) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = value
        return a
    }

    static func write(_ nodes: [Onnx_NodeProto], inputs: [Onnx_ValueInfoProto], outputs: [Onnx_ValueInfoProto],
                      initializers: [Onnx_TensorProto] = [], name: String) throws -> String {
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var opset = Onnx_OperatorSetIdProto()
        opset.version = 13
        m.opsetImport = [opset]
        m.producerName = "visage-tests (stand-in)"
        m.graph.name = name
        m.graph.node = nodes
        m.graph.input = inputs
        m.graph.output = outputs
        m.graph.initializer = initializers
        let url = try EnhanceFixtures.temporaryDirectory().appendingPathComponent(name)
        let data: Data = try m.serializedBytes()
        try data.write(to: url)
        return url.path
    }

    /// GPEN-BFR-`size` interface; the graph reverses the channel planes.
    static func gpen(size: Int) throws -> String {
        var indices = Onnx_TensorProto()
        indices.name = "bgr_order"
        indices.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        indices.dims = [3]
        indices.int64Data = [2, 1, 0]
        return try write([node("Gather", ["input", "bgr_order"], ["output"], attributes: [intAttribute("axis", 1)])],
                         inputs: [valueInfo("input", .float, [1, 3, size, size])],
                         outputs: [valueInfo("output", .float, [1, 3, size, size])],
                         initializers: [indices], name: "GPEN-BFR-\(size)-standin.onnx")
    }

    /// GFPGAN's interface ('input' → 'output', [1,3,S,S]) returning its input: an ideal "restorer" that
    /// leaves the face as it is, so the temporal cache's error against it is the cache's own error (an old
    /// face moved to the new frame), without the random twin's output flickering between frames.
    static func identity(size: Int) throws -> String {
        try write([node("Identity", ["input"], ["output"])],
                  inputs: [valueInfo("input", .float, [1, 3, size, size])],
                  outputs: [valueInfo("output", .float, [1, 3, size, size])], name: "identity-\(size)-standin.onnx")
    }

    /// CodeFormer interface with the given input names; the graph returns image · w.
    static func codeformer(image: String = "input", weight: String = "weight") throws -> String {
        var cast = Onnx_AttributeProto()
        cast.name = "to"
        cast.type = .int
        cast.i = Int64(Onnx_TensorProto.DataType.float.rawValue)
        return try write([node("Cast", [weight], ["w_float"], attributes: [cast]), node("Mul", [image, "w_float"], ["output"])],
                         inputs: [valueInfo(image, .float, [1, 3, 512, 512]), valueInfo(weight, .double, [1])],
                         outputs: [valueInfo("output", .float, [1, 3, 512, 512])], name: "codeformer-standin-\(image)-\(weight).onnx")
    }
}
