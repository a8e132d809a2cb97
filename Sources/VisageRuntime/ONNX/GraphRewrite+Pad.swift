import Foundation

extension GraphRewrite {
    /// Tensors whose shapes the Pad rewrite needs (ask the probe for these).
    static func padInputs(_ graph: Onnx_GraphProto) -> [String] {
        graph.node.filter { $0.opType == "Pad" && $0.isDefaultDomain }.compactMap(\.input.first)
    }

    /// Replaces reflect and edge `Pad` nodes by `Slice` + `Concat` per padded axis (accelerators such
    /// as CoreML run those but not reflect Pad, so the graph is no longer cut in pieces), and removes
    /// constant Pads whose pads are all zero. Reads pads from the attribute (opset < 11) or from a
    /// constant input (opset ≥ 11, with optional axes from opset 18). `shapes` gives each Pad input's
    /// dims (probed); a Pad whose input shape, pads or axes are unknown is left alone with a reason.
    static func padsToSlices(_ model: inout Onnx_ModelProto, shapes: [String: [Int]]) -> RewriteOutcome {
        var outcome = RewriteOutcome(rewrite: .padToSlices)
        let opset = model.defaultOpset
        let index = GraphIndex(model.graph)
        var names = GraphNames(model.graph)
        var nodes: [Onnx_NodeProto] = []
        var newInitializers: [Onnx_TensorProto] = []
        var renames: [String: String] = [:]
        var byMode: [String: Int] = [:]

        for node in model.graph.node {
            guard node.opType == "Pad", node.isDefaultDomain, let x = node.input.first, let y = node.output.first else {
                nodes.append(node)
                continue
            }
            let label = "Pad \(node.displayName)"
            let mode: String
            let pads: [Int64]
            var axes: [Int64]?
            if opset < 11 {
                mode = node.stringAttribute("mode") ?? "constant"
                guard let p = node.intsAttribute("pads") else {
                    outcome.skipped.append("\(label): no pads attribute")
                    nodes.append(node)
                    continue
                }
                pads = p
            } else {
                mode = node.stringAttribute("mode") ?? "constant"
                guard node.input.count > 1, let p = index.constantIntegers(node.input[1]) else {
                    outcome.skipped.append("\(label): pads '\(node.input.count > 1 ? node.input[1] : "")' are not a constant")
                    nodes.append(node)
                    continue
                }
                pads = p
                if node.input.count > 3, !node.input[3].isEmpty {
                    guard let a = index.constantIntegers(node.input[3]) else {
                        outcome.skipped.append("\(label): axes '\(node.input[3])' are not a constant")
                        nodes.append(node)
                        continue
                    }
                    axes = a
                }
            }
            let dims = shapes[x]
            let rank = dims?.count ?? (axes == nil ? pads.count / 2 : 0)
            guard pads.count % 2 == 0, rank > 0 else {
                outcome.skipped.append("\(label): rank of '\(x)' unknown")
                nodes.append(node)
                continue
            }
            let padAxes = (axes ?? (0..<Int64(pads.count / 2)).map { $0 }).map { Int($0 < 0 ? $0 + Int64(rank) : $0) }
            guard padAxes.count * 2 == pads.count, padAxes.allSatisfy({ (0..<rank).contains($0) }) else {
                outcome.skipped.append("\(label): \(pads.count) pads do not match rank \(rank)")
                nodes.append(node)
                continue
            }
            var before = [Int](repeating: 0, count: rank), after = [Int](repeating: 0, count: rank)
            for (k, axis) in padAxes.enumerated() {
                before[axis] = Int(pads[k])
                after[axis] = Int(pads[k + padAxes.count])
            }
            if before.contains(where: { $0 < 0 }) || after.contains(where: { $0 < 0 }) {
                outcome.skipped.append("\(label): negative pads (a crop) are left to the provider")
                nodes.append(node)
                continue
            }
            if before.allSatisfy({ $0 == 0 }) && after.allSatisfy({ $0 == 0 }) {
                // Pads nothing in every mode: the output is the input.
                if index.graphOutputs.contains(y) {
                    nodes.append(.make("Identity", inputs: [x], outputs: [y], name: names.fresh("\(node.displayName)/identity")))
                    outcome.addedNodes += 1
                } else {
                    renames[y] = x
                }
                outcome.replacedNodes += 1
                byMode["zero", default: 0] += 1
                continue
            }
            guard mode == "reflect" || mode == "edge" else {
                outcome.skipped.append("\(label): \(mode) padding is left as Pad")
                nodes.append(node)
                continue
            }
            guard let dims else {
                outcome.skipped.append("\(label): shape of '\(x)' unknown (input shapes not static)")
                nodes.append(node)
                continue
            }
            if mode == "reflect", let axis = (0..<rank).first(where: { max(before[$0], after[$0]) >= dims[$0] && before[$0] + after[$0] > 0 }) {
                outcome.skipped.append("\(label): reflect pad \(max(before[axis], after[axis])) not smaller than dim \(dims[axis])")
                nodes.append(node)
                continue
            }
            var builder = SliceBuilder(opset: opset, base: node.displayName)
            var current = x
            let padded = (0..<rank).filter { before[$0] + after[$0] > 0 }
            for axis in padded {
                let n = dims[axis]
                var parts: [String] = []
                if mode == "reflect" {
                    // Rows b…1 then n−2…n−1−a: the mirror image without repeating the edge row.
                    if before[axis] > 0 {
                        parts += builder.reversed(current, axis: axis, from: before[axis], downTo: 1, dim: n, names: &names)
                    }
                    parts.append(current)
                    if after[axis] > 0 {
                        parts += builder.reversed(current, axis: axis, from: n - 2, downTo: n - 1 - after[axis], dim: n, names: &names)
                    }
                } else {
                    if before[axis] > 0 {
                        let first = builder.slice(current, axis: axis, start: 0, end: 1, names: &names)
                        parts += Array(repeating: first, count: before[axis])
                    }
                    parts.append(current)
                    if after[axis] > 0 {
                        let last = builder.slice(current, axis: axis, start: n - 1, end: n, names: &names)
                        parts += Array(repeating: last, count: after[axis])
                    }
                }
                let out = axis == padded.last ? y : names.fresh("\(node.displayName)/padded_axis\(axis)")
                builder.nodes.append(.make("Concat", inputs: parts, outputs: [out], name: names.fresh("\(node.displayName)/concat_axis\(axis)"),
                                           attributes: [.int("axis", Int64(axis))]))
                current = out
            }
            nodes += builder.nodes
            newInitializers += builder.initializers
            outcome.addedNodes += builder.nodes.count
            outcome.replacedNodes += 1
            byMode[mode, default: 0] += 1
        }
        guard outcome.replacedNodes > 0 else { return outcome }
        if !renames.isEmpty {
            for i in nodes.indices {
                for j in nodes[i].input.indices { if let to = renames[nodes[i].input[j]] { nodes[i].input[j] = resolve(to, renames) } }
            }
        }
        let usedBefore = Set(model.graph.node.flatMap(\.input))
        model.graph.node = nodes
        model.graph.initializer += newInitializers
        pruneNewlyUnused(&model, usedBefore: usedBefore)
        outcome.detail = byMode.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        return outcome
    }

    private static func resolve(_ name: String, _ renames: [String: String]) -> String {
        var current = name
        while let next = renames[current], next != current { current = next }
        return current
    }
}

/// Emits Slice nodes in the form the model's opset understands (inputs from opset 10, attributes before).
struct SliceBuilder {
    let opset: Int
    let base: String
    var nodes: [Onnx_NodeProto] = []
    var initializers: [Onnx_TensorProto] = []

    init(opset: Int, base: String) {
        self.opset = opset
        self.base = base
    }

    /// x[start:end] along `axis`, step 1.
    mutating func slice(_ x: String, axis: Int, start: Int, end: Int, names: inout GraphNames) -> String {
        emit(x, axis: axis, start: Int64(start), end: Int64(end), step: 1, names: &names)
    }

    /// Rows `from`, from−1, …, `downTo` along `axis` (from ≥ downTo), as one negative-step Slice
    /// (opset ≥ 10) or one Slice per row (older opsets have no steps).
    mutating func reversed(_ x: String, axis: Int, from: Int, downTo: Int, dim: Int, names: inout GraphNames) -> [String] {
        if opset >= 10 {
            // An end of −1 would count from the back; −(dim+1) clamps to "through row 0".
            let end = downTo - 1 < 0 ? Int64(-(dim + 1)) : Int64(downTo - 1)
            return [emit(x, axis: axis, start: Int64(from), end: end, step: -1, names: &names)]
        }
        return stride(from: from, through: downTo, by: -1).map { row in
            emit(x, axis: axis, start: Int64(row), end: Int64(row + 1), step: 1, names: &names)
        }
    }

    private mutating func emit(_ x: String, axis: Int, start: Int64, end: Int64, step: Int64, names: inout GraphNames) -> String {
        let name = names.fresh("\(base)/slice_axis\(axis)_\(start)_\(end)")
        let out = names.fresh("\(name)_output")
        if opset >= 10 {
            var inputs = [x]
            for (suffix, value) in [("starts", start), ("ends", end), ("axes", Int64(axis))] {
                let t = names.fresh("\(name)_\(suffix)")
                initializers.append(.int64s(t, [value]))
                inputs.append(t)
            }
            if step != 1 {
                let t = names.fresh("\(name)_steps")
                initializers.append(.int64s(t, [step]))
                inputs.append(t)
            }
            nodes.append(.make("Slice", inputs: inputs, outputs: [out], name: name))
        } else {
            precondition(step == 1, "Slice before opset 10 has no steps")
            nodes.append(.make("Slice", inputs: [x], outputs: [out], name: name,
                               attributes: [.ints("starts", [start]), .ints("ends", [end]), .ints("axes", [Int64(axis)])]))
        }
        return out
    }
}
