import ArgumentParser
import Foundation
import VisageCore
import VisageRuntime

/// `visage models optimize ID [--fp16] [--static-shape 1x3x640x640]`: a thin wrapper over ModelOptimizer.optimize.
struct ModelsOptimize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimize",
        abstract: "Rewrite a model for accelerators (Pad/Split to Slices, folded Shape chains, static shapes, float16) and cache it.")

    @Argument(help: "A model id (see `visage models list`) or a path to an .onnx file.") var model: String
    @Flag(help: "Convert float32 weights and activations to float16 (inputs and outputs stay float32).") var fp16 = false
    @Option(help: "Pin the first input to this shape, e.g. 1x3x640x640 (needed to fold Shape chains of dynamic models).")
    var staticShape: String?
    @Option(help: "Comma-separated rewrites (default: every structural rewrite): \(GraphRewriteKind.allCases.map(\.rawValue).joined(separator: ",")).")
    var rewrites: String?
    @Flag(help: "Print the result as JSON on stdout.") var json = false

    func run() throws {
        let path = model.hasSuffix(".onnx") || model.contains("/") ? model : try ModelStore().path(for: model)
        var kinds: Set<GraphRewriteKind> = [.shapeFolding, .padToSlices, .splitToSlices]
        if let rewrites {
            kinds = Set(try rewrites.split(separator: ",").map { name in
                guard let kind = GraphRewriteKind(rawValue: String(name)) else {
                    throw ValidationError("unknown rewrite '\(name)'; known: \(GraphRewriteKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return kind
            })
        }
        let shape = try staticShape.map(OptimizationOptions.parseShape)
        if shape != nil { kinds.insert(.staticShape) }
        if fp16 { kinds.insert(.float16) }
        let result = try ModelOptimizer.optimize(modelPath: path, options: OptimizationOptions(rewrites: kinds, inputShape: shape),
                                                 shouldStop: { SignalCancellation.token.isCancelled },
                                                 progress: { FileHandle.standardError.write(Data("visage: \($0)\n".utf8)) })
        if json { try Output.json(result); return }
        print(result.summary)
        print(result.path)
    }
}
