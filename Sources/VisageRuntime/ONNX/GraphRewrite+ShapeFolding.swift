import Foundation

/// Which tensors of a graph are fixed once its input shapes are: the analysis behind shape folding.
///
/// A tensor's *value* is fixed when it is a weight, a Constant, the Shape/Size of a tensor whose
/// shape is fixed, or computed by a deterministic node from fixed values. A tensor's *shape* is
/// fixed when the op's output shape follows from its inputs' shapes (Conv, Add, Transpose…) or
/// from inputs whose values are fixed (Reshape's shape, Resize's sizes…). Ops whose output shape
/// depends on data (NonZero, NonMaxSuppression, control flow) or that we do not know stop both.
struct ShapeConstantAnalysis {
    private(set) var fixedValue: Set<String> = []
    private(set) var fixedShape: Set<String> = []
    /// Fixed values that depend on at least one Shape/Size: what folding replaces.
    private(set) var shapeDerived: Set<String> = []

    /// Ops whose output shape follows from the input shapes and attributes alone.
    static let shapeFollowsInputs: Set<String> = [
        "Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh", "AveragePool",
        "BatchNormalization", "BitShift", "Cast", "CastLike", "Ceil", "Celu", "Clip", "Concat", "Conv", "ConvTranspose",
        "Cos", "Cosh", "DepthToSpace", "DequantizeLinear", "Div", "Dropout", "Einsum", "Elu", "Equal", "Erf", "Exp",
        "Flatten", "Floor", "Gather", "GatherElements", "GatherND", "Gelu", "Gemm", "GlobalAveragePool", "GlobalLpPool",
        "GlobalMaxPool", "Greater", "GreaterOrEqual", "GroupNormalization", "HardSigmoid", "HardSwish", "Hardmax",
        "Identity", "InstanceNormalization", "IsInf", "IsNaN", "LRN", "LayerNormalization", "LeakyRelu", "Less",
        "LessOrEqual", "Log", "LogSoftmax", "LpNormalization", "LpPool", "MatMul", "Max", "MaxPool", "Mean",
        "MeanVarianceNormalization", "Min", "Mish", "Mod", "Mul", "Neg", "Not", "Or", "PRelu", "Pow", "QuantizeLinear",
        "Reciprocal", "Relu", "Round", "Selu", "Shape", "Sigmoid", "Sign", "Sin", "Sinh", "Size", "Softmax", "Softplus",
        "Softsign", "SpaceToDepth", "Sqrt", "Sub", "Sum", "Tan", "Tanh", "ThresholdedRelu", "Transpose", "Trilu",
        "Where", "Xor",
    ]

    /// Ops whose output shape also depends on the *values* of these inputs.
    static let shapeFollowsValues: [String: [Int]] = [
        "Reshape": [1], "Expand": [1], "Tile": [1], "Slice": [1, 2, 3, 4], "Pad": [1, 3], "ConstantOfShape": [0],
        "Range": [0, 1, 2], "Resize": [1, 2, 3], "Upsample": [1], "Split": [1], "Squeeze": [1], "Unsqueeze": [1],
        "TopK": [1], "OneHot": [1], "ReduceMean": [1], "ReduceSum": [1], "ReduceMax": [1], "ReduceMin": [1],
        "ReduceProd": [1], "ReduceL1": [1], "ReduceL2": [1], "ReduceLogSum": [1], "ReduceLogSumExp": [1],
        "ReduceSumSquare": [1], "CenterCropPad": [1],
    ]

    static let nondeterministic: Set<String> = ["RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike",
                                                "Multinomial", "Bernoulli"]

    init(_ graph: Onnx_GraphProto, staticInputs: Set<String>) {
        let weights = Set(graph.initializer.map(\.name))
        fixedShape.formUnion(staticInputs)
        fixedShape.formUnion(weights)
        // A weight listed as an input can be overridden at run time: its value is not fixed.
        fixedValue.formUnion(weights.subtracting(graph.input.map(\.name)))
        for node in graph.node {
            let inputs = node.input.filter { !$0.isEmpty }
            let outputs = node.output.filter { !$0.isEmpty }
            guard node.isDefaultDomain, !node.hasSubgraph else { continue }
            if node.opType == "Constant" {
                fixedValue.formUnion(outputs)
                fixedShape.formUnion(outputs)
                continue
            }
            if node.opType == "Shape" || node.opType == "Size" {
                if let x = inputs.first, fixedShape.contains(x) {
                    fixedValue.formUnion(outputs)
                    shapeDerived.formUnion(outputs)
                }
                fixedShape.formUnion(outputs)
                continue
            }
            if !Self.nondeterministic.contains(node.opType), inputs.allSatisfy(fixedValue.contains) {
                fixedValue.formUnion(outputs)
                fixedShape.formUnion(outputs)
                if inputs.contains(where: shapeDerived.contains) { shapeDerived.formUnion(outputs) }
                continue
            }
            if Self.shapeFollowsInputs.contains(node.opType), inputs.allSatisfy(fixedShape.contains) {
                fixedShape.formUnion(outputs)
            } else if let valueInputs = Self.shapeFollowsValues[node.opType], inputs.allSatisfy(fixedShape.contains) {
                let valuesFixed = node.input.enumerated().allSatisfy { i, name in
                    name.isEmpty || !valueInputs.contains(i) || fixedValue.contains(name)
                }
                if valuesFixed { fixedShape.formUnion(outputs) }
            }
        }
    }

    /// Nodes (by index) whose every output is a shape-derived fixed value.
    func foldableNodes(_ graph: Onnx_GraphProto) -> Set<Int> {
        var result = Set<Int>()
        for (i, node) in graph.node.enumerated() where node.opType != "Constant" {
            let outputs = node.output.filter { !$0.isEmpty }
            if !outputs.isEmpty, outputs.allSatisfy(shapeDerived.contains) { result.insert(i) }
        }
        return result
    }
}

extension GraphRewrite {
    /// Largest folded tensor kept as a weight; bigger shape-derived values (a ConstantOfShape of an
    /// activation's size) are cheaper to compute than to store.
    static let foldedElementLimit = 65_536

    /// Shape-derived tensors whose values folding needs (ask the probe for these).
    static func shapeFoldingCandidates(_ graph: Onnx_GraphProto, staticInputs: Set<String>) -> [String] {
        let analysis = ShapeConstantAnalysis(graph, staticInputs: staticInputs)
        return analysis.foldableNodes(graph).flatMap { graph.node[$0].output.filter { !$0.isEmpty } }
    }

    /// Replaces every Shape/Size-rooted chain whose value is fixed by the (static) input shapes with
    /// its value, taken from `values` (what ONNX Runtime computed for these tensors on the fixed
    /// shapes). Constants and weights left unused are removed; weights unused before stay.
    static func foldShapeComputations(_ model: inout Onnx_ModelProto, staticInputs: Set<String>,
                                      values: [String: Tensor]) -> RewriteOutcome {
        var outcome = RewriteOutcome(rewrite: .shapeFolding)
        let graph = model.graph
        let analysis = ShapeConstantAnalysis(graph, staticInputs: staticInputs)
        var fold = analysis.foldableNodes(graph)
        guard !fold.isEmpty else {
            let shapeNodes = graph.node.filter { $0.opType == "Shape" || $0.opType == "Size" }.count
            if shapeNodes > 0 { outcome.skipped.append("\(shapeNodes) Shape/Size nodes read tensors whose shape is not fixed") }
            return outcome
        }
        let index = GraphIndex(graph)
        var frontier: [String] = []
        // Shrink the folded set until every tensor it hands to the rest of the graph has a usable value.
        while true {
            frontier = []
            var unfold: Int?
            for i in fold.sorted() {
                for out in graph.node[i].output where !out.isEmpty {
                    let readers = index.consumers[out] ?? []
                    guard readers.contains(where: { !fold.contains($0) }) || index.graphOutputs.contains(out) else { continue }
                    if index.graphOutputs.contains(out) || !(values[out].map(isFoldable) ?? false) {
                        unfold = i
                        break
                    }
                    frontier.append(out)
                }
                if unfold != nil { break }
            }
            guard let unfold else { break }
            fold.remove(unfold)
            if values[graph.node[unfold].output.first ?? ""] == nil {
                outcome.skipped.append("no probed value for \(graph.node[unfold].displayName)")
            }
        }
        guard !fold.isEmpty else { return outcome }

        let usedBefore = Set(graph.node.flatMap(\.input))
        model.graph.node = graph.node.enumerated().filter { !fold.contains($0.offset) }.map(\.element)
        let removedConstants = pruneNewlyUnused(&model, usedBefore: usedBefore)
        for name in frontier { model.graph.initializer.append(tensorProto(name: name, values[name]!)) }
        model.graph.valueInfo.removeAll { fold.contains(index.producer[$0.name] ?? -1) }

        let ops = Dictionary(grouping: fold.map { graph.node[$0].opType }, by: { $0 }).mapValues(\.count)
        outcome.replacedNodes = fold.count
        outcome.detail = ops.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            + " -> \(frontier.count) constant\(frontier.count == 1 ? "" : "s")"
            + (removedConstants > 0 ? "; \(removedConstants) Constant nodes left unused" : "")
        return outcome
    }

    /// Removes Constant nodes and weights that were read before a rewrite and are read by nothing
    /// now. Weights that nothing read before (inswapper's emap) stay. Returns the Constants removed.
    @discardableResult
    static func pruneNewlyUnused(_ model: inout Onnx_ModelProto, usedBefore: Set<String>) -> Int {
        let outputs = Set(model.graph.output.map(\.name))
        var removed = 0
        while true {
            let read = Set(model.graph.node.flatMap(\.input)).union(outputs)
            let count = model.graph.node.count
            model.graph.node.removeAll { node in
                node.opType == "Constant" && node.output.allSatisfy { usedBefore.contains($0) && !read.contains($0) }
            }
            removed += count - model.graph.node.count
            if model.graph.node.count == count { break }
        }
        let read = Set(model.graph.node.flatMap(\.input)).union(outputs)
        let inputs = Set(model.graph.input.map(\.name))
        model.graph.initializer.removeAll { usedBefore.contains($0.name) && !read.contains($0.name) && !inputs.contains($0.name) }
        return removed
    }

    private static func isFoldable(_ t: Tensor) -> Bool { t.elementCount <= foldedElementLimit }

    /// A weight holding `tensor`'s bytes.
    static func tensorProto(name: String, _ tensor: Tensor) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = tensor.elementType.rawValue
        t.dims = tensor.shape.map { Int64($0) }
        t.rawData = Data(bytes: tensor.data, count: tensor.byteCount)
        return t
    }
}
