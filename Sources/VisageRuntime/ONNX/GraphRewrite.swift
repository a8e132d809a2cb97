import Foundation
import SwiftProtobuf
import VisageCore

/// Small, cached rewrites of published ONNX graphs so that ONNX Runtime can run them the way
/// their reference implementation does (the original file is never modified).
public enum GraphRewrite {
    /// Turns the height/width of a fixed-size NCHW image input (and the anchor axis of every
    /// output) into symbolic dimensions. YuNet's file pins 640x640 although all its reshapes use -1;
    /// OpenCV feeds it the frame's own size, and so can we after this.
    public static func makeImageSizeDynamic(_ model: inout Onnx_ModelProto) {
        guard !model.graph.input.isEmpty else { return }
        var input = model.graph.input[0]
        if input.type.tensorType.shape.dim.count == 4 {
            input.type.tensorType.shape.dim[2].dimParam = "height"
            input.type.tensorType.shape.dim[3].dimParam = "width"
        }
        model.graph.input[0] = input
        for i in model.graph.output.indices where model.graph.output[i].type.tensorType.shape.dim.count >= 2 {
            model.graph.output[i].type.tensorType.shape.dim[1].dimParam = "anchors_\(i)"
        }
        // Recorded intermediate shapes would contradict the new sizes; ONNX Runtime re-infers them.
        model.graph.valueInfo.removeAll()
    }

    /// Pins the first input to `dims` (e.g. [1, 3, 640, 640]). With every shape known ONNX Runtime
    /// plans memory and fuses more (insightface does the same: scrfd-2.5g runs ~15% faster).
    public static func fixInputShape(_ model: inout Onnx_ModelProto, dims: [Int]) {
        guard !model.graph.input.isEmpty else { return }
        model.graph.input[0].type.tensorType.shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            dim.dimValue = Int64(d)
            return dim
        }
        model.graph.valueInfo.removeAll()
    }

    /// Removes graph inputs that no node consumes. Quantisers leave such inputs behind (SFace
    /// int8bq declares 29) and ONNX Runtime insists on them being fed.
    @discardableResult
    public static func removeUnusedInputs(_ model: inout Onnx_ModelProto) -> [String] {
        let consumed = Set(model.graph.node.flatMap(\.input))
        let outputs = Set(model.graph.output.map(\.name))
        var removed: [String] = []
        model.graph.input.removeAll { input in
            let unused = !consumed.contains(input.name) && !outputs.contains(input.name)
            if unused { removed.append(input.name) }
            return unused
        }
        return removed
    }

    /// Removes graph inputs that are also initializers (old exporters list weights as inputs).
    /// ONNX Runtime treats those as overridable and skips constant folding around them; as plain
    /// initializers they fold (SFace runs ≈2x faster). Needs IR version 4 or later.
    @discardableResult
    public static func removeInitializerInputs(_ model: inout Onnx_ModelProto) -> [String] {
        guard model.irVersion >= 4 else { return [] }
        let initializers = Set(model.graph.initializer.map(\.name))
        var removed: [String] = []
        model.graph.input.removeAll { input in
            let isWeight = initializers.contains(input.name)
            if isWeight { removed.append(input.name) }
            return isWeight
        }
        return removed
    }

    /// The path of `source` rewritten by `transform`, cached in `cacheDirectory` under a name that
    /// changes when the source file changes. Written atomically; later calls reuse the file.
    public static func cached(source: String, variant: String, cacheDirectory: URL,
                              transform: (inout Onnx_ModelProto) throws -> Void) throws -> String {
        let attributes = try FileManager.default.attributesOfItem(atPath: source)
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let modified = Int64((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
        let base = URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent
        let target = cacheDirectory.appendingPathComponent("\(base).\(variant).\(size)-\(modified).onnx")
        if FileManager.default.fileExists(atPath: target.path) { return target.path }
        var model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: source)))
        } catch {
            throw VisageError.invalidModel(path: source, reason: "cannot parse the ONNX graph (\(error))")
        }
        try transform(&model)
        try FileManager.default.createDirectory(at: cacheDirectory, withIntermediateDirectories: true)
        let data: Data = try model.serializedBytes()
        try AtomicFile.write(data, to: target)
        return target.path
    }
}
