import Foundation

/// One rewrite of an ONNX graph that ModelOptimizer can apply. Raw values are the names used in
/// logs, cache keys and (later) the CLI.
public enum GraphRewriteKind: String, CaseIterable, Codable, Sendable, Comparable {
    /// Pins dynamic input dimensions to the shape that will be fed.
    case staticShape = "static-shape"
    /// Turns a batch dimension fixed at 1 into a symbolic one, kept only when a batch of two gives
    /// the same outputs as two single runs.
    case dynamicBatch = "dynamic-batch"
    /// Replaces Shape → Gather/Slice/Concat/Cast/arithmetic chains by their values once shapes are static.
    case shapeFolding = "fold-shapes"
    /// Replaces reflect/edge `Pad` by `Slice` + `Concat`, and drops all-zero constant Pads.
    case padToSlices = "pad-to-slices"
    /// Replaces `Split` by one `Slice` per output.
    case splitToSlices = "split-to-slices"
    /// float32 weights and activations to float16; inputs and outputs stay float32.
    case float16 = "fp16"

    /// The order rewrites run in: shapes first (folding needs them), structure next, precision last.
    public static func < (a: GraphRewriteKind, b: GraphRewriteKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// What one rewrite did to a model.
public struct RewriteOutcome: Sendable, Codable, Equatable, CustomStringConvertible {
    public var rewrite: GraphRewriteKind
    /// Nodes of the original graph this rewrite replaced (or, for fp16, converted).
    public var replacedNodes: Int
    /// Nodes the rewrite added (Slices, Concats, Casts).
    public var addedNodes: Int
    /// What changed, in words ("2 reflect Pads", "input.1 1x3x640x640").
    public var detail: String
    /// Why nodes (or the whole rewrite) were left alone; empty when nothing was skipped.
    public var skipped: [String]

    public init(rewrite: GraphRewriteKind, replacedNodes: Int = 0, addedNodes: Int = 0, detail: String = "", skipped: [String] = []) {
        self.rewrite = rewrite
        self.replacedNodes = replacedNodes
        self.addedNodes = addedNodes
        self.detail = detail
        self.skipped = skipped
    }

    public var description: String {
        var text = "\(rewrite.rawValue) \(replacedNodes) node\(replacedNodes == 1 ? "" : "s")"
        if !detail.isEmpty { text += " (\(detail))" }
        if !skipped.isEmpty { text += "; skipped: \(skipped.joined(separator: "; "))" }
        return text
    }
}
