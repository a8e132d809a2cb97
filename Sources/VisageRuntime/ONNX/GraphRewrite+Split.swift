import Foundation

extension GraphRewrite {
    /// Split inputs whose dims the rewrite needs because the sizes are implicit (equal parts).
    static func splitInputsNeedingShapes(_ graph: Onnx_GraphProto, opset: Int) -> [String] {
        let index = GraphIndex(graph)
        return graph.node.filter { node in
            guard node.opType == "Split", node.isDefaultDomain else { return false }
            return explicitSplitSizes(node, opset: opset, index: index) == nil
        }.compactMap(\.input.first)
    }

    private static func explicitSplitSizes(_ node: Onnx_NodeProto, opset: Int, index: GraphIndex) -> [Int64]? {
        if opset >= 13 {
            guard node.input.count > 1, !node.input[1].isEmpty else { return nil }
            return index.constantIntegers(node.input[1])
        }
        return node.intsAttribute("split")
    }

    /// Replaces each `Split` by one `Slice` per output, the slices' bounds fixed in the graph. Sizes come
    /// from the `split` attribute (opset < 13) or constant input (opset ≥ 13), else from the probed
    /// dim of the split axis (equal parts; opset 18's `num_outputs` rounds the last part down).
    static func splitsToSlices(_ model: inout Onnx_ModelProto, shapes: [String: [Int]]) -> RewriteOutcome {
        var outcome = RewriteOutcome(rewrite: .splitToSlices)
        let opset = model.defaultOpset
        let index = GraphIndex(model.graph)
        var names = GraphNames(model.graph)
        var nodes: [Onnx_NodeProto] = []
        var newInitializers: [Onnx_TensorProto] = []
        for node in model.graph.node {
            guard node.opType == "Split", node.isDefaultDomain, let x = node.input.first else {
                nodes.append(node)
                continue
            }
            let label = "Split \(node.displayName)"
            let dims = shapes[x]
            var axis = Int(node.intAttribute("axis") ?? 0)
            if axis < 0 {
                guard let rank = dims?.count else {
                    outcome.skipped.append("\(label): negative axis and unknown rank")
                    nodes.append(node)
                    continue
                }
                axis += rank
            }
            if opset >= 13, node.input.count > 1, !node.input[1].isEmpty, index.constantIntegers(node.input[1]) == nil {
                outcome.skipped.append("\(label): split sizes '\(node.input[1])' are not a constant")
                nodes.append(node)
                continue
            }
            var sizes = explicitSplitSizes(node, opset: opset, index: index).map { $0.map { Int($0) } }
            if sizes == nil {
                guard let dims, axis < dims.count else {
                    outcome.skipped.append("\(label): sizes implicit and shape of '\(x)' unknown")
                    nodes.append(node)
                    continue
                }
                let parts = Int(node.intAttribute("num_outputs") ?? Int64(node.output.count))
                let n = dims[axis]
                if node.intAttribute("num_outputs") != nil {
                    let chunk = (n + parts - 1) / parts
                    sizes = (0..<parts).map { i in max(0, min(chunk, n - i * chunk)) }
                } else {
                    guard n % parts == 0 else {
                        outcome.skipped.append("\(label): dim \(n) does not split in \(parts) equal parts")
                        nodes.append(node)
                        continue
                    }
                    sizes = Array(repeating: n / parts, count: parts)
                }
            }
            guard let sizes, sizes.count == node.output.count, sizes.allSatisfy({ $0 >= 0 }) else {
                outcome.skipped.append("\(label): \(sizes?.count ?? 0) sizes for \(node.output.count) outputs")
                nodes.append(node)
                continue
            }
            if let dims, axis < dims.count, sizes.reduce(0, +) != dims[axis] {
                outcome.skipped.append("\(label): sizes add up to \(sizes.reduce(0, +)), dim is \(dims[axis])")
                nodes.append(node)
                continue
            }
            var builder = SliceBuilder(opset: opset, base: node.displayName)
            var offset = 0
            var sliceNodes: [Onnx_NodeProto] = []
            for (output, size) in zip(node.output, sizes) {
                defer { offset += size }
                guard !output.isEmpty else { continue }
                let produced = builder.slice(x, axis: axis, start: offset, end: offset + size, names: &names)
                // Give the slice the Split's own output name so every reader stays wired.
                var last = builder.nodes.removeLast()
                last.output = [output]
                _ = produced
                sliceNodes.append(last)
            }
            nodes += sliceNodes
            newInitializers += builder.initializers
            outcome.replacedNodes += 1
            outcome.addedNodes += sliceNodes.count
        }
        guard outcome.replacedNodes > 0 else { return outcome }
        let usedBefore = Set(model.graph.node.flatMap(\.input))
        model.graph.node = nodes
        model.graph.initializer += newInitializers
        pruneNewlyUnused(&model, usedBefore: usedBefore)
        outcome.detail = "\(outcome.replacedNodes) Split -> \(outcome.addedNodes) Slice"
        return outcome
    }
}
