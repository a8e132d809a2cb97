import Foundation

/// How float32 → float16 conversion treats a model (the rules of onnxconverter-common's
/// `convert_float_to_float16(keep_io_types=True)`).
public struct Float16Options: Sendable, Hashable, Codable {
    /// onnxconverter-common's DEFAULT_OP_BLOCK_LIST: ops that stay float32 (Resize/Upsample need
    /// float32 scales; the ML ops and NonMaxSuppression/TopK/Range/CumSum/Min/Max lack float16 kernels).
    public static let defaultOpBlockList: Set<String> = [
        "ArrayFeatureExtractor", "Binarizer", "CastMap", "CategoryMapper", "DictVectorizer", "FeatureVectorizer",
        "Imputer", "LabelEncoder", "LinearClassifier", "LinearRegressor", "Normalizer", "OneHotEncoder",
        "RandomUniformLike", "SVMClassifier", "SVMRegressor", "Scaler", "TreeEnsembleClassifier",
        "TreeEnsembleRegressor", "ZipMap", "NonMaxSuppression", "TopK", "RoiAlign", "Resize", "Range", "CumSum",
        "Min", "Max", "Upsample",
    ]

    public var opBlockList: Set<String>
    /// Node names that stay float32.
    public var nodeBlockList: Set<String>
    /// Weights are clamped away from zero and infinity: |x| < minPositive → minPositive, |x| > maxFinite → maxFinite.
    public var minPositive: Float
    public var maxFinite: Float

    public init(opBlockList: Set<String> = Float16Options.defaultOpBlockList, nodeBlockList: Set<String> = [],
                minPositive: Float = 1e-7, maxFinite: Float = 1e4) {
        self.opBlockList = opBlockList
        self.nodeBlockList = nodeBlockList
        self.minPositive = minPositive
        self.maxFinite = maxFinite
    }
}

extension GraphRewrite {
    /// Converts float32 weights and activations to float16 with float32 graph inputs and outputs
    /// (keep_io_types), as onnxconverter-common does:
    /// - nodes of the block list stay float32, with Casts to float32 before and to float16 after;
    /// - float32 inputs get a Cast to float16, float32 outputs a Cast back;
    /// - weights and Constant/ConstantOfShape values convert with clamping, except weights read only
    ///   by float32 nodes (Resize/Upsample scales) — and weights read by no node, which stay as they
    ///   are (inswapper's emap `buff2fs` is read by the caller, not the graph);
    /// - Casts to float32 inside the converted part cast to float16; existing value_info follows.
    /// Two deliberate differences, both keeping the graph type-consistent where the original can
    /// produce a model ONNX Runtime rejects: one Cast per tensor (not per consumer), and integer
    /// shape arithmetic that passes through float (Shape → Cast(float) → Div → Cast(int64)) stays
    /// float32, since float16 cannot hold sizes above 2048 exactly.
    /// `types` maps every node output to its element type (GraphProbe).
    static func convertToFloat16(_ model: inout Onnx_ModelProto, types: [String: ElementType],
                                 options: Float16Options = Float16Options()) -> RewriteOutcome {
        var outcome = RewriteOutcome(rewrite: .float16)
        if model.graph.node.contains(where: \.hasSubgraph) {
            outcome.skipped.append("the graph has control flow (If/Loop/Scan); not converted")
            return outcome
        }
        let float16 = Int32(ONNXDataType.float16.rawValue), float32 = Int32(ONNXDataType.float.rawValue)
        let alreadyHalf = model.graph.initializer.contains { $0.dataType == float16 }
            || (model.graph.input + model.graph.output + model.graph.valueInfo).contains { $0.type.tensorType.elemType == float16 }
            || model.graph.node.contains { $0.opType == "Cast" && $0.intAttribute("to") == Int64(float16) }
        if alreadyHalf {
            outcome.skipped.append("the model already has float16 tensors; not converted twice")
            return outcome
        }
        if model.graph.initializer.contains(where: { $0.dataType == float32 && $0.isExternal }) {
            outcome.skipped.append("weights are stored in external files; not converted")
            return outcome
        }
        // Weights that old exporters also list as inputs would stay float32 behind a Cast each; as
        // plain weights they convert (nobody overrides them).
        let weightInputs = GraphRewrite.removeInitializerInputs(&model)
        let graph = model.graph
        let index = GraphIndex(graph)
        func isFloat32(_ name: String) -> Bool {
            if let t = index.initializers[name] { return t.dataType == float32 }
            if let input = graph.input.first(where: { $0.name == name }) { return input.type.tensorType.elemType == float32 }
            return types[name] == .float32
        }

        // Integer shape arithmetic: values derived from Shape/Size (and constants) only.
        var shapeDerived = Set<String>()
        for node in graph.node {
            let inputs = node.input.filter { !$0.isEmpty }
            if node.opType == "Shape" || node.opType == "Size" {
                shapeDerived.formUnion(node.output)
            } else if !inputs.isEmpty, inputs.contains(where: shapeDerived.contains),
                      inputs.allSatisfy({ shapeDerived.contains($0) || index.constantTensor($0) != nil }) {
                shapeDerived.formUnion(node.output)
            }
        }
        func staysFloat32(_ node: Onnx_NodeProto) -> Bool {
            options.opBlockList.contains(node.opType) || options.nodeBlockList.contains(node.name) || !node.isDefaultDomain
                || node.attribute(named: "dtype") != nil || node.output.contains(where: shapeDerived.contains)
        }
        var keep32 = graph.node.map(staysFloat32)
        // A Constant read only by float32 nodes stays float32 too (Resize scales given as a Constant).
        for (i, node) in graph.node.enumerated() where node.opType == "Constant" {
            let readers = node.output.flatMap { index.consumers[$0] ?? [] }
            if !readers.isEmpty, readers.allSatisfy({ keep32[$0] }) { keep32[i] = true }
        }

        // Weights: float16 when every reader runs in float16; a float16 copy when readers are mixed.
        var weightCopies: [String: String] = [:]
        var names = GraphNames(graph)
        var convertedWeights = 0
        var initializers = graph.initializer
        var extraWeights: [Onnx_TensorProto] = []
        for i in initializers.indices where initializers[i].dataType == float32 {
            let readers = index.consumers[initializers[i].name] ?? []
            if readers.isEmpty || index.graphInputs.contains(initializers[i].name) { continue }
            let halfReaders = readers.filter { !keep32[$0] }
            if halfReaders.count == readers.count {
                initializers[i] = halfTensor(initializers[i], options)
                convertedWeights += 1
            } else if !halfReaders.isEmpty {
                var copy = halfTensor(initializers[i], options)
                copy.name = names.fresh("\(initializers[i].name)_fp16")
                weightCopies[initializers[i].name] = copy.name
                extraWeights.append(copy)
                convertedWeights += 1
            }
        }

        // Element type of each float32 tensor after conversion: float16 unless a float32 node made it.
        var isHalf = Set<String>()
        for t in initializers where t.dataType == float16 { isHalf.insert(t.name) }
        for (i, node) in graph.node.enumerated() where !keep32[i] {
            for o in node.output where !o.isEmpty && isFloat32(o) { isHalf.insert(o) }
        }

        // Graph outputs computed in float16 are renamed inside and cast back at the end.
        let outputNames = Set(graph.output.filter { $0.type.tensorType.elemType == float32 }.map(\.name))
        var outputRenames: [String: String] = [:]
        for (i, node) in graph.node.enumerated() where !keep32[i] {
            for o in node.output where outputNames.contains(o) && isHalf.contains(o) {
                outputRenames[o] = names.fresh("\(node.displayName)_cast_to_\(o)")
            }
        }

        var nodes: [Onnx_NodeProto] = []
        var casts: [String: String] = [:]   // "tensor→type" → cast output
        var addedCasts = 0
        func cast(_ tensor: String, toHalf: Bool) -> String {
            let key = "\(tensor)->\(toHalf ? 16 : 32)"
            if let existing = casts[key] { return existing }
            let out = names.fresh(toHalf ? "\(tensor)_cast_to_fp16" : "\(tensor)_cast_to_fp32")
            nodes.append(.make("Cast", inputs: [tensor], outputs: [out], name: out,
                               attributes: [.int("to", Int64(toHalf ? float16 : float32))]))
            casts[key] = out
            addedCasts += 1
            return out
        }
        var convertedNodes = 0
        var blockedOps: [String: Int] = [:]
        for (i, original) in graph.node.enumerated() {
            var node = original
            let half = !keep32[i]
            for j in node.input.indices where !node.input[j].isEmpty {
                let name = node.input[j]
                let current = outputRenames[name] ?? name
                guard isFloat32(name) else { continue }
                if node.opType == "Shape" || node.opType == "Size" || (node.opType == "Cast" && half) {
                    node.input[j] = current   // any element type will do
                    continue
                }
                if half, let copy = weightCopies[name] {
                    node.input[j] = copy
                } else if half != isHalf.contains(name) {
                    node.input[j] = cast(current, toHalf: half)
                } else {
                    node.input[j] = current
                }
            }
            if half {
                convertedNodes += node.output.contains(where: isHalf.contains) ? 1 : 0
                for k in node.attribute.indices {
                    if node.attribute[k].hasT, node.attribute[k].t.dataType == float32 {
                        node.attribute[k].t = halfTensor(node.attribute[k].t, options)
                    }
                    for m in node.attribute[k].tensors.indices where node.attribute[k].tensors[m].dataType == float32 {
                        node.attribute[k].tensors[m] = halfTensor(node.attribute[k].tensors[m], options)
                    }
                }
                if node.opType == "Cast", let to = node.attribute.firstIndex(where: { $0.name == "to" }), node.attribute[to].i == Int64(float32) {
                    node.attribute[to].i = Int64(float16)
                }
                for k in node.output.indices { if let renamed = outputRenames[node.output[k]] { node.output[k] = renamed } }
            } else if original.input.contains(where: { !$0.isEmpty && isFloat32($0) }) {
                blockedOps[node.opType, default: 0] += 1
            }
            nodes.append(node)
            for (o, renamed) in outputRenames where node.output.contains(renamed) {
                nodes.append(.make("Cast", inputs: [renamed], outputs: [o], name: renamed, attributes: [.int("to", Int64(float32))]))
                addedCasts += 1
            }
        }
        model.graph.node = nodes
        model.graph.initializer = initializers + extraWeights
        for i in model.graph.valueInfo.indices where isHalf.contains(model.graph.valueInfo[i].name) && outputRenames[model.graph.valueInfo[i].name] == nil {
            model.graph.valueInfo[i].type.tensorType.elemType = float16
        }
        outcome.replacedNodes = convertedNodes
        outcome.addedNodes = addedCasts
        let blocked = blockedOps.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        outcome.detail = "\(convertedWeights) weights to float16, \(addedCasts) Casts"
            + (weightInputs.isEmpty ? "" : ", \(weightInputs.count) weights no longer listed as inputs")
            + (blocked.isEmpty ? "" : "; float32 kept for \(blocked)")
        return outcome
    }

    /// A float32 tensor as float16 (round to nearest even), clamped as onnxconverter-common does.
    static func halfTensor(_ tensor: Onnx_TensorProto, _ options: Float16Options) -> Onnx_TensorProto {
        guard let values = tensor.floats else { return tensor }
        var t = tensor
        let lo = options.minPositive, hi = options.maxFinite
        let half: [UInt16] = values.map { v in
            var x = v
            if x > 0 && x < lo { x = lo } else if x < 0 && x > -lo { x = -lo }
            if x > hi && x.isFinite { x = hi } else if x < -hi && x.isFinite { x = -hi }
            return Float16Bits.fromFloat(x)
        }
        t.dataType = Int32(ONNXDataType.float16.rawValue)
        t.floatData = []
        t.rawData = half.withUnsafeBytes { Data($0) }
        return t
    }
}
