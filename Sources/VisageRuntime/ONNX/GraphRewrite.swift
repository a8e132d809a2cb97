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

    /// Replaces every DequantizeLinear whose inputs are all constant int8/uint8 weights (per-tensor,
    /// per-axis or blocked) by the float weights it would compute on each run. Weight-only
    /// quantised models (SFace int8bq) otherwise dequantise all their weights for every frame;
    /// folded, they run as plain float graphs. Returns the number of nodes folded.
    @discardableResult
    public static func foldWeightDequantization(_ model: inout Onnx_ModelProto) -> Int {
        var initializers: [String: Onnx_TensorProto] = [:]
        for t in model.graph.initializer { initializers[t.name] = t }
        var folded: [Onnx_TensorProto] = []
        var removedNodes = Set<Int>()
        for (index, node) in model.graph.node.enumerated() where node.opType == "DequantizeLinear" && node.domain.isEmpty {
            guard node.input.count >= 2, node.output.count == 1,
                  let x = initializers[node.input[0]], let scale = initializers[node.input[1]],
                  let weights = dequantize(x: x, scale: scale, zeroPoint: node.input.count > 2 ? initializers[node.input[2]] : nil,
                                           axis: node.attribute.first { $0.name == "axis" }.map { Int($0.i) } ?? 1,
                                           blockSize: node.attribute.first { $0.name == "block_size" }.map { Int($0.i) } ?? 0)
            else { continue }
            var tensor = Onnx_TensorProto()
            tensor.name = node.output[0]
            tensor.dims = x.dims
            tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
            tensor.rawData = weights.withUnsafeBufferPointer { Data(buffer: $0) }
            folded.append(tensor)
            removedNodes.insert(index)
        }
        guard !folded.isEmpty else { return 0 }
        model.graph.node = model.graph.node.enumerated().filter { !removedNodes.contains($0.offset) }.map(\.element)
        let stillUsed = Set(model.graph.node.flatMap(\.input)).union(model.graph.output.map(\.name))
        model.graph.initializer.removeAll { !stillUsed.contains($0.name) }
        model.graph.initializer += folded
        model.graph.input.removeAll { !stillUsed.contains($0.name) }
        return folded.count
    }

    /// (x − zero_point) · scale with ONNX's broadcasting rules for DequantizeLinear (opset 21).
    static func dequantize(x: Onnx_TensorProto, scale: Onnx_TensorProto, zeroPoint: Onnx_TensorProto?, axis: Int, blockSize: Int) -> [Float]? {
        let int8 = Int32(Onnx_TensorProto.DataType.int8.rawValue), uint8 = Int32(Onnx_TensorProto.DataType.uint8.rawValue)
        guard x.dataType == int8 || x.dataType == uint8, !x.rawData.isEmpty,
              scale.dataType == Int32(Onnx_TensorProto.DataType.float.rawValue), !scale.rawData.isEmpty else { return nil }
        func values(_ t: Onnx_TensorProto) -> [Float] {
            t.dataType == int8 ? t.rawData.map { Float(Int8(bitPattern: $0)) } : t.rawData.map { Float($0) }
        }
        let q = values(x)
        let scales: [Float] = scale.rawData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let zeros: [Float] = zeroPoint.map(values) ?? [Float](repeating: 0, count: scales.count)
        guard zeros.count == scales.count else { return nil }
        let dims = x.dims.map { Int($0) }
        let rank = dims.count
        let a = axis < 0 ? axis + rank : axis
        guard q.count == dims.reduce(1, *) else { return nil }
        if scales.count == 1 { return q.map { ($0 - zeros[0]) * scales[0] } }
        guard a >= 0, a < rank else { return nil }
        let inner = dims[(a + 1)...].reduce(1, *), axisDim = dims[a]
        let scaleAxis = blockSize > 0 ? (axisDim + blockSize - 1) / blockSize : axisDim
        guard scales.count == (blockSize > 0 ? q.count / axisDim * scaleAxis : axisDim) else { return nil }
        var out = [Float](repeating: 0, count: q.count)
        for i in q.indices {
            let c = (i / inner) % axisDim
            let s: Int
            if blockSize > 0 {
                let outer = i / (axisDim * inner), innerIndex = i % inner
                s = outer * scaleAxis * inner + (c / blockSize) * inner + innerIndex
            } else {
                s = c
            }
            out[i] = (q[i] - zeros[s]) * scales[s]
        }
        return out
    }

    /// The path of `source` rewritten by `transform`, cached in `cacheDirectory` under a name that
    /// changes when the source file changes. Written atomically; later calls reuse the file.
    public static func cached(source: String, variant: String, cacheDirectory: URL,
                              transform: (inout Onnx_ModelProto) throws -> Void) throws -> String {
        guard let stat = FileStat(path: source) else { throw VisageError.fileNotFound(path: source) }
        let size = stat.size
        let modified = stat.modifiedNanoseconds / 1_000_000_000
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
