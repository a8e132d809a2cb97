import Foundation
import SwiftProtobuf

// Small vocabulary over the generated ONNX protobuf types, shared by the graph rewrites.

typealias ONNXDataType = Onnx_TensorProto.DataType

extension Onnx_ModelProto {
    /// The opset of the default (ai.onnx) domain; 0 when the model declares none.
    var defaultOpset: Int {
        opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }.map { Int($0.version) } ?? 0
    }
}

extension Onnx_NodeProto {
    var isDefaultDomain: Bool { domain.isEmpty || domain == "ai.onnx" }

    func attribute(named name: String) -> Onnx_AttributeProto? { attribute.first { $0.name == name } }
    func intAttribute(_ name: String) -> Int64? { attribute(named: name).map(\.i) }
    func intsAttribute(_ name: String) -> [Int64]? { attribute(named: name).map(\.ints) }
    func floatAttribute(_ name: String) -> Float? { attribute(named: name).map(\.f) }
    func stringAttribute(_ name: String) -> String? {
        attribute(named: name).map { String(decoding: $0.s, as: UTF8.self) }
    }

    /// Whether an attribute holds a subgraph (If, Loop, Scan): rewrites leave such models alone.
    var hasSubgraph: Bool { attribute.contains { $0.hasG || !$0.graphs.isEmpty } }

    /// The node's name, or its first output when the exporter left it unnamed (for logs and generated names).
    var displayName: String { name.isEmpty ? (output.first ?? opType) : name }
}

extension Onnx_TensorProto {
    var elementCount: Int { dims.reduce(1) { $0 * Int($1) } }
    var type: ONNXDataType? { ONNXDataType(rawValue: Int(dataType)) }
    var isExternal: Bool { dataLocation == .external || !externalData.isEmpty }

    /// Integer contents of an int64/int32 tensor (raw or typed storage); nil for other types.
    var integers: [Int64]? {
        guard !isExternal else { return nil }
        switch type {
        case .int64:
            if !rawData.isEmpty {
                guard rawData.count == elementCount * 8 else { return nil }
                return rawData.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
            }
            return int64Data.count == elementCount ? int64Data : nil
        case .int32:
            if !rawData.isEmpty {
                guard rawData.count == elementCount * 4 else { return nil }
                return rawData.withUnsafeBytes { $0.bindMemory(to: Int32.self).map { Int64($0) } }
            }
            return int32Data.count == elementCount ? int32Data.map { Int64($0) } : nil
        default:
            return nil
        }
    }

    /// Float contents of a float32 tensor (raw or typed storage); nil for other types.
    var floats: [Float]? {
        guard !isExternal, type == .float else { return nil }
        if !rawData.isEmpty {
            guard rawData.count == elementCount * 4 else { return nil }
            return rawData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        return floatData.count == elementCount ? floatData : nil
    }

    static func int64s(_ name: String, _ values: [Int64], dims: [Int64]? = nil) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = Int32(ONNXDataType.int64.rawValue)
        t.dims = dims ?? [Int64(values.count)]
        t.rawData = values.withUnsafeBytes { Data($0) }
        return t
    }
}

extension Onnx_AttributeProto {
    static func int(_ name: String, _ value: Int64) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = value
        return a
    }

    static func ints(_ name: String, _ values: [Int64]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = values
        return a
    }
}

extension Onnx_NodeProto {
    static func make(_ op: String, inputs: [String], outputs: [String], name: String,
                     attributes: [Onnx_AttributeProto] = []) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = inputs
        n.output = outputs
        n.name = name
        n.attribute = attributes
        return n
    }
}

/// Hands out tensor and node names that collide with nothing already in the graph.
struct GraphNames {
    private var used: Set<String>

    init(_ graph: Onnx_GraphProto) {
        var names = Set(graph.input.map(\.name))
        names.formUnion(graph.output.map(\.name))
        names.formUnion(graph.initializer.map(\.name))
        names.formUnion(graph.valueInfo.map(\.name))
        for node in graph.node {
            names.formUnion(node.input)
            names.formUnion(node.output)
            names.insert(node.name)
        }
        used = names
    }

    mutating func fresh(_ base: String) -> String {
        var candidate = base
        var i = 1
        while used.contains(candidate) {
            candidate = "\(base)_\(i)"
            i += 1
        }
        used.insert(candidate)
        return candidate
    }
}

/// Where each tensor of a graph comes from and who reads it.
struct GraphIndex {
    /// Initializers by name.
    var initializers: [String: Onnx_TensorProto] = [:]
    /// Tensors produced by `Constant` nodes (value attribute), by output name.
    var constants: [String: Onnx_TensorProto] = [:]
    /// Node index producing each tensor.
    var producer: [String: Int] = [:]
    /// Node indices reading each tensor.
    var consumers: [String: [Int]] = [:]
    var graphInputs: Set<String> = []
    var graphOutputs: Set<String> = []

    init(_ graph: Onnx_GraphProto) {
        for t in graph.initializer { initializers[t.name] = t }
        graphInputs = Set(graph.input.map(\.name))
        graphOutputs = Set(graph.output.map(\.name))
        for (i, node) in graph.node.enumerated() {
            for o in node.output where !o.isEmpty { producer[o] = i }
            for input in node.input where !input.isEmpty { consumers[input, default: []].append(i) }
            if node.opType == "Constant", node.isDefaultDomain, let value = node.attribute(named: "value"), value.hasT,
               let out = node.output.first {
                constants[out] = value.t
            }
        }
    }

    /// The tensor behind `name` when it is fixed in the file (an initializer not overridable as an
    /// input, or a Constant node's value).
    func constantTensor(_ name: String) -> Onnx_TensorProto? {
        if let t = initializers[name], !graphInputs.contains(name) { return t }
        return constants[name]
    }

    func constantIntegers(_ name: String) -> [Int64]? { constantTensor(name)?.integers }
}

/// Static shape of a graph input or output as declared; nil entries are symbolic/unknown dims.
extension Onnx_ValueInfoProto {
    var declaredDims: [Int?] {
        type.tensorType.shape.dim.map { dim in
            if case .dimValue(let v) = dim.value, v > 0 { return Int(v) }
            return nil
        }
    }
    var hasDeclaredShape: Bool { type.tensorType.hasShape }
}

extension Array where Element == Int {
    /// "1x3x640x640".
    var shapeDescription: String { map(String.init).joined(separator: "x") }
}
