import Foundation
import SwiftProtobuf
import Testing
import VisageCore
@testable import VisageRuntime

/// The on-disk cache of rewritten models and the per-accelerator choice of rewrites.
@Suite struct ModelOptimizerCacheTests {
    typealias G = RewriteGraphs

    /// A reflect Pad then a Relu; `scale` changes the file's bytes without changing its structure.
    func writeModel(to url: URL, scale: Float = 1) throws {
        let m = G.model(opset: 13, nodes: [G.node("Pad", ["x", "pads"], ["p"], [G.string("mode", "reflect")]),
                                           G.node("Mul", ["p", "k"], ["y"])],
                        inputs: [TinyModels.valueInfo("x", .float, [1, 1, 4, 4])], outputs: [TinyModels.valueInfo("y", .float, [1, 1, 6, 6])],
                        initializers: [G.ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]), G.floats("k", [scale], dims: [1])])
        let data: Data = try m.serializedBytes()
        try data.write(to: url)
    }

    let options = OptimizationOptions(rewrites: [.padToSlices])

    @Test func secondCallReusesTheCachedCopy() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let model = dir.appendingPathComponent("m.onnx")
        try writeModel(to: model)
        let first = try ModelOptimizer.optimize(modelPath: model.path, options: options, cacheDirectory: dir.appendingPathComponent("cache"))
        #expect(!first.reusedFromCache)
        #expect(first.replacedNodes[.padToSlices] == 1)
        #expect(first.sourceSHA256 == (try ModelStore.sha256(of: model)))
        #expect(try ModelOptimizer.verify(first))
        var messages: [String] = []
        let second = try ModelOptimizer.optimize(modelPath: model.path, options: options, cacheDirectory: dir.appendingPathComponent("cache"),
                                                 progress: { messages.append($0) })
        #expect(second.reusedFromCache)
        #expect(second.path == first.path)
        #expect(messages.isEmpty)   // nothing hashed, parsed or written
        #expect(second.summary.contains("pad-to-slices 1 node"))
        // Another shape or precision is another file.
        let half = try ModelOptimizer.optimize(modelPath: model.path, options: OptimizationOptions(rewrites: [.padToSlices, .float16]),
                                               cacheDirectory: dir.appendingPathComponent("cache"))
        #expect(half.path != first.path)
    }

    @Test func aChangedModelIsRebuiltAndItsOldCopyRemoved() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let model = dir.appendingPathComponent("m.onnx")
        try writeModel(to: model)
        let cache = dir.appendingPathComponent("cache")
        let first = try ModelOptimizer.optimize(modelPath: model.path, options: options, cacheDirectory: cache)
        try writeModel(to: model, scale: 2)
        let second = try ModelOptimizer.optimize(modelPath: model.path, options: options, cacheDirectory: cache)
        #expect(!second.reusedFromCache)
        #expect(second.sourceSHA256 != first.sourceSHA256)
        #expect(!FileManager.default.fileExists(atPath: first.path))
        let x = G.pattern([1, 1, 4, 4])
        let y = try #require(try G.session(second.path).run(["x": x])["y"])
        let reference = try #require(try G.session(model.path).run(["x": x])["y"])
        #expect(G.maxAbsDiff(y, reference) == 0)
    }

    @Test func anOlderRewriteVersionOrACorruptCopyIsRebuilt() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let model = dir.appendingPathComponent("m.onnx")
        try writeModel(to: model)
        let cache = dir.appendingPathComponent("cache")
        let first = try ModelOptimizer.optimize(modelPath: model.path, options: options, cacheDirectory: cache)
        let manifest = try #require(try FileManager.default.contentsOfDirectory(at: cache, includingPropertiesForKeys: nil).first { $0.pathExtension == "json" })
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: manifest)) as? [String: Any])
        json["rewriteVersion"] = ModelOptimizer.rewriteVersion - 1
        try JSONSerialization.data(withJSONObject: json).write(to: manifest)
        #expect(!(try ModelOptimizer.optimize(modelPath: model.path, options: options, cacheDirectory: cache).reusedFromCache))

        // Same size, other bytes: verify notices; a truncated copy is rebuilt on the next call.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: first.path))
        bytes[bytes.count - 1] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: first.path))
        #expect(!(try ModelOptimizer.verify(first)))
        try bytes.prefix(10).write(to: URL(fileURLWithPath: first.path))
        let rebuilt = try ModelOptimizer.optimize(modelPath: model.path, options: options, cacheDirectory: cache)
        #expect(!rebuilt.reusedFromCache)
        #expect(try ModelOptimizer.verify(rebuilt))
    }

    @Test func aModelWithNothingToRewriteIsItsOwnResult() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let model = dir.appendingPathComponent("m.onnx")
        try writeModel(to: model)
        let cache = dir.appendingPathComponent("cache")
        let splitOnly = OptimizationOptions(rewrites: [.splitToSlices])   // the model has no Split
        let first = try ModelOptimizer.optimize(modelPath: model.path, options: splitOnly, cacheDirectory: cache)
        #expect(first.path == model.path)
        #expect(first.summary.contains("nothing rewritten"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path).filter { $0.hasSuffix(".onnx") }.isEmpty)
        #expect(try ModelOptimizer.optimize(modelPath: model.path, options: splitOnly, cacheDirectory: cache).reusedFromCache)
        // The model changes: the new result replaces the old one, and the model file itself is never removed.
        try writeModel(to: model, scale: 3)
        let second = try ModelOptimizer.optimize(modelPath: model.path, options: splitOnly, cacheDirectory: cache)
        #expect(!second.reusedFromCache)
        #expect(FileManager.default.fileExists(atPath: model.path))
    }

    @Test func cancellationLeavesNothingBehind() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let model = dir.appendingPathComponent("m.onnx")
        try writeModel(to: model)
        let cache = dir.appendingPathComponent("cache")
        #expect(throws: VisageError.self) {
            try ModelOptimizer.optimize(modelPath: model.path, options: options, cacheDirectory: cache, shouldStop: { true })
        }
        let left = (try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? []
        #expect(left.filter { $0.hasSuffix(".onnx") || $0.hasSuffix(".json") }.isEmpty)
    }

    @Test func eachAcceleratorGetsItsRewrites() {
        func plan(_ a: Accelerator) -> AcceleratorPlan { AcceleratorPlan(requested: a, chosen: a == .cpu ? [.cpu] : [a, .cpu], reason: "test") }
        let shape = [1, 3, 640, 640]
        // CPU: only the static shape (measured not slower), only when the shape is known; never float16 unless forced.
        #expect(ModelOptimizer.automaticOptions(for: plan(.cpu), request: ModelOptimizationRequest(float16: .onAccelerators)) == nil)
        #expect(ModelOptimizer.automaticOptions(for: plan(.cpu), request: ModelOptimizationRequest(float16: .onAccelerators, inputShape: shape))?.rewrites
                == [.staticShape])
        #expect(ModelOptimizer.automaticOptions(for: plan(.cpu), request: ModelOptimizationRequest(float16: .always))?.rewrites == [.float16])
        // CoreML: all structural rewrites.
        #expect(ModelOptimizer.automaticOptions(for: plan(.coreml), request: ModelOptimizationRequest(inputShape: shape))?.rewrites
                == [.staticShape, .shapeFolding, .padToSlices, .splitToSlices])
        // CUDA/TensorRT: the static shape when known, float16 when asked.
        #expect(ModelOptimizer.automaticOptions(for: plan(.cuda), request: ModelOptimizationRequest()) == nil)
        #expect(ModelOptimizer.automaticOptions(for: plan(.cuda), request: ModelOptimizationRequest(inputShape: shape))?.rewrites == [.staticShape])
        #expect(ModelOptimizer.automaticOptions(for: plan(.tensorrt), request: ModelOptimizationRequest(float16: .onAccelerators))?.rewrites == [.float16])
        #expect(ModelOptimizer.automaticOptions(for: plan(.coreml), request: ModelOptimizationRequest())?.rewrites
                == [.shapeFolding, .padToSlices, .splitToSlices])
        #expect(ModelOptimizer.automaticOptions(for: plan(.coreml), request: .off) == nil)
    }

    @Test func aSessionUsesTheRewrittenCopyItsPlanCallsFor() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let model = dir.appendingPathComponent("m.onnx")
        try writeModel(to: model)
        let cache = dir.appendingPathComponent("cache")
        let plain = try InferenceSession(modelPath: model.path, config: SessionConfig(accelerator: .cpu,
                                         modelOptimization: ModelOptimizationRequest(cacheDirectory: cache)))
        #expect(plain.optimizedModel == nil)
        #expect(!FileManager.default.fileExists(atPath: cache.path))   // CPU: the file is loaded as it is
        let half = try InferenceSession(modelPath: model.path, config: SessionConfig(accelerator: .cpu,
                                        modelOptimization: ModelOptimizationRequest(float16: .always, cacheDirectory: cache)))
        let optimized = try #require(half.optimizedModel)
        #expect(optimized.replacedNodes[.float16] ?? 0 > 0)
        #expect(half.modelPath == model.path)
        let x = G.pattern([1, 1, 4, 4])
        let a = try #require(try plain.run(["x": x])["y"]), b = try #require(try half.run(["x": x])["y"])
        #expect(b.elementType == .float32)
        #expect(G.maxAbsDiff(a, b) < 0.01 * a.floats().map(abs).max()!)
    }
}
