import Foundation

extension GraphRewrite {
    /// Inputs a caller feeds (not weights listed as inputs by old exporters).
    static func dataInputs(_ graph: Onnx_GraphProto) -> [Onnx_ValueInfoProto] {
        let weights = Set(graph.initializer.map(\.name))
        return graph.input.filter { !weights.contains($0.name) }
    }

    /// The shape of every data input once `firstInput` (when given) is pinned: other inputs keep
    /// their declared dims, and a dynamic leading dim follows the first input's batch.
    /// Nil entries are dims that stay dynamic.
    static func plannedInputShapes(_ graph: Onnx_GraphProto, firstInput: [Int]?) -> [String: [Int?]] {
        var result: [String: [Int?]] = [:]
        let inputs = dataInputs(graph)
        let batch = firstInput?.first
        for (i, input) in inputs.enumerated() {
            if i == 0, let firstInput {
                result[input.name] = firstInput.map { Optional($0) }
                continue
            }
            var dims = input.declaredDims
            if let batch, !dims.isEmpty, dims[0] == nil { dims[0] = batch }
            result[input.name] = dims
        }
        return result
    }

    /// Pins the data inputs' dims to `shapes` (name → dims). A dim the file already fixes must
    /// match; a rank mismatch or a contradicting dim leaves the model unchanged and says why.
    /// Recorded intermediate shapes are dropped: ONNX Runtime re-infers them from the new inputs.
    static func fixInputShapes(_ model: inout Onnx_ModelProto, shapes: [String: [Int]]) -> RewriteOutcome {
        var outcome = RewriteOutcome(rewrite: .staticShape)
        var updated = model.graph.input
        var fixed: [String] = []
        for (i, input) in updated.enumerated() {
            guard let dims = shapes[input.name] else { continue }
            let declared = input.declaredDims
            if input.hasDeclaredShape, declared.count != dims.count {
                outcome.skipped.append("input '\(input.name)' has rank \(declared.count), asked for \(dims.shapeDescription)")
                return outcome
            }
            for (axis, (have, want)) in zip(declared, dims).enumerated() where have != nil && have != want {
                outcome.skipped.append("input '\(input.name)' fixes dim \(axis) to \(have!), asked for \(want)")
                return outcome
            }
            guard dims.allSatisfy({ $0 > 0 }) else {
                outcome.skipped.append("shape \(dims.shapeDescription) for '\(input.name)' has a dim that is not positive")
                return outcome
            }
            if declared.contains(where: { $0 == nil }) || !input.hasDeclaredShape {
                fixed.append("\(input.name) \(dims.shapeDescription)")
            }
            updated[i].type.tensorType.shape.dim = dims.map { d in
                var dim = Onnx_TensorShapeProto.Dimension()
                dim.dimValue = Int64(d)
                return dim
            }
        }
        model.graph.input = updated
        if !fixed.isEmpty { model.graph.valueInfo.removeAll() }
        outcome.detail = fixed.isEmpty ? "inputs already static" : fixed.joined(separator: ", ")
        return outcome
    }

    /// Makes a leading input dim that the file fixes at 1 symbolic ("batch"), with the outputs'
    /// leading dim 1 likewise. Whether the graph really batches must be checked by running it
    /// (ModelOptimizer does: batch 2 against two single runs). Returns the inputs changed.
    static func makeBatchDynamic(_ model: inout Onnx_ModelProto) -> [String] {
        var changed: [String] = []
        let weights = Set(model.graph.initializer.map(\.name))
        let read = Set(model.graph.node.flatMap(\.input))
        for i in model.graph.input.indices where !weights.contains(model.graph.input[i].name) && read.contains(model.graph.input[i].name) {
            let dims = model.graph.input[i].declaredDims
            guard dims.count >= 2, dims[0] == 1 else { continue }
            model.graph.input[i].type.tensorType.shape.dim[0].dimParam = "batch"
            changed.append(model.graph.input[i].name)
        }
        guard !changed.isEmpty else { return [] }
        for i in model.graph.output.indices {
            let dims = model.graph.output[i].declaredDims
            if !dims.isEmpty, dims[0] != nil {
                // A fixed leading dim (1, or N anchors) would contradict batch 2; let ONNX Runtime infer it.
                model.graph.output[i].type.tensorType.shape.dim[0].dimParam = "batch_\(i)"
            }
        }
        model.graph.valueInfo.removeAll()
        return changed
    }
}
