import Foundation
import VisageCore

/// The arithmetic of one model run: floating-point operations of its Conv, ConvTranspose, Gemm and
/// MatMul nodes (a multiply-add counts 2), for given input shapes. Those nodes are nearly all of a
/// vision model's work; elementwise ops, pooling and normalisation are left out (the figure is a lower
/// bound, which is what an achieved-GFLOP/s comparison needs). Shapes come from one ONNX Runtime run of
/// the graph on zeros (GraphProbe), so reshapes and dynamic dims are what ONNX Runtime computes.
public struct GraphFLOPs: Sendable, Codable, Equatable {
    /// Total floating-point operations of one run.
    public var flops: Double
    /// Per operator type ("Conv": …).
    public var byOperator: [String: Double]
    /// Nodes counted.
    public var nodes: Int

    public var gflop: Double { flops / 1e9 }

    enum CodingKeys: String, CodingKey { case flops, nodes, byOperator = "by_operator" }

    static let counted: Set<String> = ["Conv", "ConvTranspose", "Gemm", "MatMul"]

    /// Counts the model at `modelPath` for `inputShapes` (every input's full shape; inputs left out keep
    /// their declared shape, which must then be fixed). `scratch` holds the probe's temporary copy.
    public static func count(modelPath: String, inputShapes: [String: [Int]], scratch: URL) throws -> GraphFLOPs {
        let model = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: modelPath)))
        let nodes = model.graph.node.filter { counted.contains($0.opType) && !$0.output.isEmpty && !$0.input.isEmpty }
        guard !nodes.isEmpty else { return GraphFLOPs(flops: 0, byOperator: [:], nodes: 0) }
        var initializerDims: [String: [Int]] = [:]
        for t in model.graph.initializer { initializerDims[t.name] = t.dims.map { Int($0) } }
        var wanted = Set<String>()
        for node in nodes {
            wanted.insert(node.output[0])
            for input in node.input.prefix(2) where !input.isEmpty && initializerDims[input] == nil { wanted.insert(input) }
        }
        // Graph inputs are not node outputs: their shapes are the ones given.
        let graphInputs = Set(model.graph.input.map(\.name))
        let probed = try GraphProbe.probe(model, inputShapes: inputShapes, shapesOf: Array(wanted.subtracting(graphInputs)), scratch: scratch)
        func shape(_ name: String) -> [Int]? {
            initializerDims[name] ?? probed.shapes[name] ?? inputShapes[name]
        }
        var total = 0.0
        var byOperator: [String: Double] = [:]
        for node in nodes {
            guard let flops = flops(of: node, shape: shape) else { continue }
            total += flops
            byOperator[node.opType, default: 0] += flops
        }
        return GraphFLOPs(flops: total, byOperator: byOperator, nodes: nodes.count)
    }

    /// One node's operations, nil when a shape it needs is unknown.
    static func flops(of node: Onnx_NodeProto, shape: (String) -> [Int]?) -> Double? {
        switch node.opType {
        case "Conv":
            // Each output element: (Cin / group) · kernel multiply-adds; weight is [Cout, Cin/g, k…].
            guard node.input.count > 1, let out = shape(node.output[0]), let w = shape(node.input[1]), w.count >= 2 else { return nil }
            return 2 * Double(out.reduce(1, *)) * Double(w.dropFirst().reduce(1, *))
        case "ConvTranspose":
            // Each input element scatters into Cout/g · kernel outputs; weight is [Cin, Cout/g, k…].
            guard node.input.count > 1, let x = shape(node.input[0]), let w = shape(node.input[1]), w.count >= 2 else { return nil }
            return 2 * Double(x.reduce(1, *)) * Double(w.dropFirst().reduce(1, *))
        case "Gemm":
            // Y[M, N] = A[M, K] · B[K, N] (transposes by attribute).
            guard let a = shape(node.input[0]), a.count == 2, let out = shape(node.output[0]) else { return nil }
            let k = node.intAttribute("transA") == 1 ? a[0] : a[1]
            return 2 * Double(out.reduce(1, *)) * Double(k)
        case "MatMul":
            guard let a = shape(node.input[0]), let k = a.last, let out = shape(node.output[0]) else { return nil }
            return 2 * Double(out.reduce(1, *)) * Double(k)
        default:
            return nil
        }
    }
}
