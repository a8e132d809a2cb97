import Foundation
import SwiftProtobuf
import Testing
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

/// The 2d106det plumbing (crop, normalisation rule, output mapping) on a tiny stand-in graph with the
/// same I/O: input `data` [1,3,192,192], output [1,212] — built here, since the real weights are not
/// available on this machine.
@Suite struct Insightface106Tests {
    static func standIn(firstNodeName: String, values: [Float]) throws -> String {
        func info(_ name: String, _ dims: [Int64]) -> Onnx_ValueInfoProto {
            var v = Onnx_ValueInfoProto()
            v.name = name
            v.type.tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
            v.type.tensorType.shape.dim = dims.map { var d = Onnx_TensorShapeProto.Dimension(); d.dimValue = $0; return d }
            return v
        }
        var constant = Onnx_NodeProto()
        constant.opType = "Constant"
        constant.name = firstNodeName
        constant.output = ["fc1"]
        var value = Onnx_AttributeProto()
        value.name = "value"
        value.type = .tensor
        value.t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        value.t.dims = [1, Int64(values.count)]
        value.t.floatData = values
        constant.attribute = [value]
        var model = Onnx_ModelProto()
        model.irVersion = 8
        var opset = Onnx_OperatorSetIdProto()
        opset.version = 13
        model.opsetImport = [opset]
        model.graph.name = "standin"
        model.graph.node = [constant]
        model.graph.input = [info("data", [1, 3, 192, 192])]
        model.graph.output = [info("fc1", [1, Int64(values.count)])]
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("2d106-\(UUID().uuidString).onnx")
        let data: Data = try model.serializedBytes()
        try data.write(to: url)
        return url.path
    }

    @Test func outputsMapBackToFramePixelsLikeInsightface() throws {
        let values = (0..<212).map { Float(($0 * 37) % 200) / 100 - 1 }   // in [-1, 1)
        let landmarker = try Insightface106Landmarker(modelPath: try Self.standIn(firstNodeName: "const0", values: values))
        #expect(landmarker.inputSize == 192 && landmarker.mean == 127.5 && landmarker.std == 128)
        let frame = Image(width: 400, height: 300, channels: 3)
        let box = Box(x1: 100, y1: 80, x2: 180, y2: 190)
        let points = try #require(try landmarker.landmarks(in: frame, boxes: [box]).first)
        #expect(points.count == 106)
        // insightface: scale = 192 / (1.5 · max(w, h)), centre at the box centre, pred = (v + 1) · 96, back through the inverse.
        let s = 192 / (1.5 * Float(110)), cx: Float = 140, cy: Float = 135
        for k in [0, 17, 105] {
            let u = (values[2 * k] + 1) * 96, v = (values[2 * k + 1] + 1) * 96
            let expected = Point((u - (96 - cx * s)) / s, (v - (96 - cy * s)) / s)
            #expect(abs(points[k].x - expected.x) < 1e-3 && abs(points[k].y - expected.y) < 1e-3, "point \(k)")
        }
    }

    @Test func graphsWithTheirOwnNormalisationGetRawPixels() throws {
        let landmarker = try Insightface106Landmarker(modelPath: try Self.standIn(firstNodeName: "Sub_0", values: [Float](repeating: 0, count: 212)))
        // Only Sub: insightface needs both Sub and Mul to switch to raw pixels.
        #expect(landmarker.mean == 127.5)
    }
}
