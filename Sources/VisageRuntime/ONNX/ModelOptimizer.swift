import Crypto
import Foundation
import Logging
import SwiftProtobuf
import VisageCore

/// Which rewrites to apply to a model and for which input shape.
public struct OptimizationOptions: Sendable, Hashable, Codable {
    public var rewrites: Set<GraphRewriteKind>
    /// The shape fed to the model's first input (e.g. [1, 3, 640, 640]); `static-shape` pins it and
    /// the probes use it. Nil: the shapes the file declares.
    public var inputShape: [Int]?
    public var float16: Float16Options

    public init(rewrites: Set<GraphRewriteKind>, inputShape: [Int]? = nil, float16: Float16Options = Float16Options()) {
        self.rewrites = rewrites
        self.inputShape = inputShape
        self.float16 = float16
    }

    /// Parses "1x3x640x640" (the CLI's --static-shape).
    public static func parseShape(_ text: String) throws -> [Int] {
        let dims = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard !dims.isEmpty, dims.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw VisageError.invalidArgument("shape '\(text)' is not like 1x3x640x640 (positive dims joined by x)")
        }
        return dims.map { $0! }
    }

    /// Everything that changes the rewritten file, as one line (part of the cache key).
    var cacheKey: String {
        var key = "v\(ModelOptimizer.rewriteVersion);" + rewrites.sorted().map(\.rawValue).joined(separator: "+")
        key += ";shape=\(inputShape?.shapeDescription ?? "declared")"
        if rewrites.contains(.float16) {
            key += ";block=\(float16.opBlockList.sorted().joined(separator: ","));nodes=\(float16.nodeBlockList.sorted().joined(separator: ","))"
            key += ";clamp=\(float16.minPositive),\(float16.maxFinite)"
        }
        return key
    }
}

/// A rewritten copy of a model, ready to load, and what was done to it.
public struct OptimizedModel: Sendable, Codable, Equatable {
    /// The file to load.
    public var path: String
    public var sourcePath: String
    public var sourceSHA256: String
    public var rewriteVersion: Int
    public var options: OptimizationOptions
    public var outcomes: [RewriteOutcome]
    public var nodesBefore: Int
    public var nodesAfter: Int
    /// Size and sha256 of the rewritten file when it was written (ModelOptimizer.verify re-checks).
    public var fileSize: Int64
    public var fileSHA256: String
    var sourceSize: Int64
    var sourceModified: Double
    /// True when this call found the file in the cache instead of writing it.
    public var reusedFromCache: Bool = false

    /// Replaced nodes per rewrite.
    public var replacedNodes: [GraphRewriteKind: Int] {
        Dictionary(outcomes.map { ($0.rewrite, $0.replacedNodes) }, uniquingKeysWith: +)
    }

    /// One line for the log: which rewrites, how many nodes each replaced.
    public var summary: String {
        let name = URL(fileURLWithPath: sourcePath).lastPathComponent
        let parts = outcomes.map(\.description).joined(separator: "; ")
        let copy = path == sourcePath ? "nothing rewritten" : "rewritten copy \(URL(fileURLWithPath: path).lastPathComponent)"
        return "\(name): \(copy)\(reusedFromCache ? " (cached)" : "") — \(parts); \(nodesBefore) -> \(nodesAfter) nodes"
    }
}

/// What a session asks of ModelOptimizer when it loads a model (SessionConfig.modelOptimization).
public struct ModelOptimizationRequest: Sendable, Equatable {
    public enum Float16Use: String, Sendable, Equatable, Codable {
        /// Keep float32.
        case never
        /// float16 on CUDA, TensorRT and CoreML; float32 on CPU, where it only costs casts.
        case onAccelerators
        /// float16 wherever the model runs (CPU included).
        case always
    }

    /// False: load every model as it is.
    public var enabled: Bool
    public var float16: Float16Use
    /// The shape fed to the first input, when the caller knows it (static-shape and shape folding need it
    /// for models that declare dynamic dims).
    public var inputShape: [Int]?
    /// Where rewritten copies are cached; nil: the model store's derived folder.
    public var cacheDirectory: URL?

    public init(enabled: Bool = true, float16: Float16Use = .never, inputShape: [Int]? = nil, cacheDirectory: URL? = nil) {
        self.enabled = enabled
        self.float16 = float16
        self.inputShape = inputShape
        self.cacheDirectory = cacheDirectory
    }

    public static let off = ModelOptimizationRequest(enabled: false)
}

/// Rewrites ONNX graphs so an accelerator runs them whole (reflect Pad → Slice + Concat, Shape chains
/// folded, Split → Slices, static shapes) or in float16, and caches each result next to the installed
/// models, keyed by the model's sha256, the rewrite version, the shape and the precision.
public enum ModelOptimizer {
    /// Bump when any rewrite changes what it writes: cached copies of older versions are rebuilt.
    public static let rewriteVersion = 1
    private static let logger = VisageLog.logger("runtime")

    /// Rewrites measured on this project's CPU (2-core EPYC, ONNX Runtime 1.31.1, CPU time per run) to be
    /// at least as fast as the original on the CPU provider; see docs/ACCELERATORS.md. Only static-shape
    /// (applied when the caller gives the shape): retinaface −8 %, SCRFD −2…−4 %, never slower beyond
    /// noise. Folding gains nothing (ONNX Runtime's CPU optimiser folds static Shape chains itself), and
    /// Pad/Split to Slices and float16 gain nothing or cost time.
    public static let measuredCPURewrites: Set<GraphRewriteKind> = [.staticShape]

    /// The rewrites a session on `plan` gets, or nil when it loads the model as it is.
    /// CoreML: static shapes, shape folding, Pad and Split to Slices (CoreML runs none of reflect Pad,
    /// Shape-computed sizes or dynamic shapes, and each unsupported node cuts the graph);
    /// CUDA/TensorRT: static shapes when the caller gives one; CPU: what was measured not to slow it
    /// down (static shapes when the caller gives one). float16 per `request.float16`.
    public static func automaticOptions(for plan: AcceleratorPlan, request: ModelOptimizationRequest) -> OptimizationOptions? {
        guard request.enabled else { return nil }
        var rewrites: Set<GraphRewriteKind>
        let primary = plan.chosen.first ?? .cpu
        switch primary {
        case .coreml:
            rewrites = [.staticShape, .shapeFolding, .padToSlices, .splitToSlices]
        case .cuda, .tensorrt:
            rewrites = [.staticShape]
        case .cpu, .auto:
            rewrites = measuredCPURewrites
        }
        let onAccelerator = primary == .coreml || primary == .cuda || primary == .tensorrt
        if request.float16 == .always || (request.float16 == .onAccelerators && onAccelerator) {
            rewrites.insert(.float16)
        }
        if request.inputShape == nil { rewrites.remove(.staticShape) }   // nothing to pin without the fed shape
        if rewrites.isEmpty { return nil }
        return OptimizationOptions(rewrites: rewrites, inputShape: request.inputShape)
    }

    /// The rewritten copy of `modelPath` for `options`, from the cache when it is there and still
    /// matches the model (sha256) and this rewrite version, else written now (atomically, then loaded
    /// once by ONNX Runtime to prove it is usable). `shouldStop` is polled between steps (throws
    /// `VisageError.interrupted`); `progress` hears what is being done.
    public static func optimize(modelPath: String, options: OptimizationOptions, cacheDirectory: URL? = nil,
                                shouldStop: () -> Bool = { false }, progress: (String) -> Void = { _ in }) throws -> OptimizedModel {
        let source = URL(fileURLWithPath: modelPath)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: modelPath, isDirectory: &isDir) else { throw VisageError.fileNotFound(path: modelPath) }
        guard !isDir.boolValue else { throw VisageError.notAFile(path: modelPath) }
        let attributes = try FileManager.default.attributesOfItem(atPath: modelPath)
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        guard size > 0 else { throw VisageError.emptyFile(path: modelPath) }

        let directory = cacheDirectory ?? ModelStore().derivedDirectory
        let base = source.deletingPathExtension().lastPathComponent
        let pathTag = hexDigest(source.standardizedFileURL.path).prefix(8)
        let keyTag = hexDigest(options.cacheKey).prefix(10)
        let manifestURL = directory.appendingPathComponent("\(base)-\(pathTag).\(keyTag).json")

        var sourceSHA: String?
        if let data = try? Data(contentsOf: manifestURL), var cached = try? JSONDecoder().decode(OptimizedModel.self, from: data),
           cached.rewriteVersion == rewriteVersion, cached.options == options {
            let unchanged = cached.sourceSize == size && cached.sourceModified == modified
            if !unchanged {
                progress("hashing \(modelPath) (changed since the cached copy was made)")
                sourceSHA = try ModelStore.sha256(of: source)
            }
            let fileSize = (try? FileManager.default.attributesOfItem(atPath: cached.path)[.size] as? NSNumber)?.int64Value
            if (unchanged || sourceSHA == cached.sourceSHA256), fileSize == cached.fileSize {
                if !unchanged {
                    cached.sourceSize = size
                    cached.sourceModified = modified
                    try? AtomicFile.write(try JSONEncoder().encode(cached), to: manifestURL)
                }
                cached.reusedFromCache = true
                return cached
            }
        }

        if shouldStop() { throw VisageError.interrupted }
        progress("hashing \(modelPath)")
        let sha = try sourceSHA ?? ModelStore.sha256(of: source)
        progress("reading the ONNX graph")
        var model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: source))
        } catch {
            throw VisageError.invalidModel(path: modelPath, reason: "cannot parse the ONNX graph (\(error)); is it a complete .onnx file?")
        }
        guard model.hasGraph, !model.graph.node.isEmpty else {
            throw VisageError.invalidModel(path: modelPath, reason: "the file parses but holds no graph nodes; is it an ONNX model?")
        }
        let nodesBefore = model.graph.node.count
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let original = model
        let outcomes = try rewrite(&model, options: options, scratch: directory, shouldStop: shouldStop, progress: progress)
        if shouldStop() { throw VisageError.interrupted }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if model == original {
            // Nothing applied (a dynamic model without a shape, no Pad or Split…): no copy, the model is its own result.
            let result = OptimizedModel(path: modelPath, sourcePath: modelPath, sourceSHA256: sha, rewriteVersion: rewriteVersion,
                                        options: options, outcomes: outcomes, nodesBefore: nodesBefore, nodesAfter: nodesBefore,
                                        fileSize: size, fileSHA256: sha, sourceSize: size, sourceModified: modified)
            removeStaleCopy(manifestURL: manifestURL, keeping: modelPath)
            try AtomicFile.write(try encoder.encode(result), to: manifestURL)
            return result
        }
        progress("writing the rewritten model")
        let bytes: Data = try model.serializedBytes()
        let target = directory.appendingPathComponent("\(base).\(sha.prefix(12)).\(keyTag).onnx")
        try AtomicFile.write(bytes, to: target)
        progress("checking that ONNX Runtime loads it")
        do {
            var config = SessionConfig(accelerator: .cpu, optimization: .disabled)
            config.modelOptimization = .off
            _ = try InferenceSession(modelPath: target.path, config: config)
        } catch {
            try? FileManager.default.removeItem(at: target)
            throw VisageError.invalidModel(path: modelPath, reason: "its rewritten copy does not load (\(error)); rewrites: \(outcomes.map(\.description).joined(separator: "; "))")
        }
        let result = OptimizedModel(path: target.path, sourcePath: modelPath, sourceSHA256: sha, rewriteVersion: rewriteVersion,
                                    options: options, outcomes: outcomes, nodesBefore: nodesBefore, nodesAfter: model.graph.node.count,
                                    fileSize: Int64(bytes.count), fileSHA256: hexDigest(bytes), sourceSize: size, sourceModified: modified)
        removeStaleCopy(manifestURL: manifestURL, keeping: target.path)
        try AtomicFile.write(try encoder.encode(result), to: manifestURL)
        return result
    }

    /// The model changed: the copy its previous manifest points to is stale (never the model itself).
    private static func removeStaleCopy(manifestURL: URL, keeping: String) {
        guard let data = try? Data(contentsOf: manifestURL), let previous = try? JSONDecoder().decode(OptimizedModel.self, from: data),
              previous.path != keeping, previous.path != previous.sourcePath else { return }
        try? FileManager.default.removeItem(atPath: previous.path)
    }

    /// Re-hashes a cached copy: true when its bytes are still the ones written.
    public static func verify(_ optimized: OptimizedModel) throws -> Bool {
        try ModelStore.sha256(of: URL(fileURLWithPath: optimized.path)) == optimized.fileSHA256
    }

    /// Applies `options` to a model in memory, in a fixed order: static shape, then one probe run
    /// (shapes and values the structural rewrites need), shape folding, Pad and Split to Slices,
    /// float16 (types from ONNX Runtime), and last the dynamic batch, kept only if a batch of two
    /// matches two single runs. `scratch` holds the probe's temporary files.
    public static func rewrite(_ model: inout Onnx_ModelProto, options: OptimizationOptions, scratch: URL,
                               shouldStop: () -> Bool = { false }, progress: (String) -> Void = { _ in }) throws -> [RewriteOutcome] {
        var outcomes: [RewriteOutcome] = []
        let wants = options.rewrites
        func checkStop() throws { if shouldStop() { throw VisageError.interrupted } }

        if wants.contains(.staticShape) {
            let planned = GraphRewrite.plannedInputShapes(model.graph, firstInput: options.inputShape)
            let fixed = planned.compactMapValues { dims -> [Int]? in dims.contains(where: { $0 == nil }) ? nil : dims.map { $0! } }
            var outcome = GraphRewrite.fixInputShapes(&model, shapes: fixed)
            if let shape = options.inputShape, !outcome.skipped.isEmpty {
                // A shape the caller asked for that the model cannot take is their mistake, not a skip.
                throw VisageError.invalidArgument("static shape \(shape.shapeDescription) does not fit this model: \(outcome.skipped.joined(separator: "; ")); "
                    + "give the shape of its first input (\(GraphRewrite.dataInputs(model.graph).first.map { "\($0.name): " + $0.declaredDims.map { $0.map(String.init) ?? "?" }.joined(separator: "x") } ?? "none"))")
            }
            for (name, dims) in planned where fixed[name] == nil {
                outcome.skipped.append("input '\(name)' keeps dynamic dims (\(dims.map { $0.map(String.init) ?? "?" }.joined(separator: "x"))); pass its shape")
            }
            outcomes.append(outcome)
        }

        let structural: [GraphRewriteKind] = [.shapeFolding, .padToSlices, .splitToSlices].filter(wants.contains)
        if !structural.isEmpty {
            try checkStop()
            let inputs = GraphRewrite.dataInputs(model.graph)
            let staticShapes = Dictionary(uniqueKeysWithValues: inputs.compactMap { input -> (String, [Int])? in
                let dims = input.declaredDims
                return input.hasDeclaredShape && dims.allSatisfy({ $0 != nil }) ? (input.name, dims.map { $0! }) : nil
            })
            let allStatic = staticShapes.count == inputs.count
            let opset = model.defaultOpset
            var probe = GraphProbe.Result()
            var probeFailure: String?
            if allStatic {
                let shapesOf = (wants.contains(.padToSlices) ? GraphRewrite.padInputs(model.graph) : [])
                    + (wants.contains(.splitToSlices) ? GraphRewrite.splitInputsNeedingShapes(model.graph, opset: opset) : [])
                let valuesOf = wants.contains(.shapeFolding)
                    ? GraphRewrite.shapeFoldingCandidates(model.graph, staticInputs: Set(staticShapes.keys)) : []
                if !shapesOf.isEmpty || !valuesOf.isEmpty {
                    progress("probing \(shapesOf.count) shapes and \(valuesOf.count) values with one ONNX Runtime run")
                    do {
                        probe = try GraphProbe.probe(model, inputShapes: staticShapes, shapesOf: shapesOf, valuesOf: valuesOf, scratch: scratch)
                    } catch {
                        probeFailure = "the probe run failed (\(error))"
                    }
                }
            }
            let dynamicReason = "input shapes are not static (\(inputs.filter { staticShapes[$0.name] == nil }.map(\.name).joined(separator: ", "))); give the input shape"
            for kind in structural {
                try checkStop()
                progress("rewriting: \(kind.rawValue)")
                var outcome: RewriteOutcome
                switch kind {
                case .shapeFolding:
                    if !allStatic {
                        outcome = RewriteOutcome(rewrite: .shapeFolding, skipped: [dynamicReason])
                    } else if let probeFailure {
                        outcome = RewriteOutcome(rewrite: .shapeFolding, skipped: [probeFailure])
                    } else {
                        outcome = GraphRewrite.foldShapeComputations(&model, staticInputs: Set(staticShapes.keys), values: probe.values)
                    }
                case .padToSlices:
                    outcome = GraphRewrite.padsToSlices(&model, shapes: probe.shapes)
                case .splitToSlices:
                    outcome = GraphRewrite.splitsToSlices(&model, shapes: probe.shapes)
                default:
                    continue
                }
                if let probeFailure, kind != .shapeFolding, outcome.replacedNodes == 0, !outcome.skipped.isEmpty {
                    outcome.skipped.append(probeFailure)
                }
                outcomes.append(outcome)
            }
        }

        if wants.contains(.float16) {
            try checkStop()
            progress("rewriting: fp16 (asking ONNX Runtime for every tensor's type)")
            do {
                let types = try GraphProbe.probe(model, inputShapes: nil, scratch: scratch).types
                outcomes.append(GraphRewrite.convertToFloat16(&model, types: types, options: options.float16))
            } catch {
                outcomes.append(RewriteOutcome(rewrite: .float16, skipped: ["ONNX Runtime cannot load the graph to type it (\(error))"]))
            }
        }

        if wants.contains(.dynamicBatch) {
            try checkStop()
            progress("rewriting: dynamic-batch (checking batch 2 against two single runs)")
            outcomes.append(try makeBatchDynamicIfEquivalent(&model, scratch: scratch))
        }
        return outcomes
    }

    /// Makes the batch dim dynamic and keeps the change only when the rewritten model run on a batch of
    /// two deterministic inputs gives, for every output, the two single-run outputs concatenated along
    /// axis 0 (within 1e-4 of the largest magnitude). A Reshape to a fixed leading 1 fails this.
    static func makeBatchDynamicIfEquivalent(_ model: inout Onnx_ModelProto, scratch: URL) throws -> RewriteOutcome {
        var outcome = RewriteOutcome(rewrite: .dynamicBatch)
        var candidate = model
        let changed = GraphRewrite.makeBatchDynamic(&candidate)
        guard !changed.isEmpty else {
            let leading = GraphRewrite.dataInputs(model.graph).first?.declaredDims.first ?? nil
            outcome.skipped.append(leading == nil ? "the batch dim is already dynamic" : "no input has a leading dim fixed at 1")
            return outcome
        }
        let file = scratch.appendingPathComponent("batch-\(UUID().uuidString.prefix(8)).onnx")
        defer { try? FileManager.default.removeItem(at: file) }
        let bytes: Data = try candidate.serializedBytes()
        try bytes.write(to: file)
        var config = SessionConfig(accelerator: .cpu)
        config.modelOptimization = .off
        let session: InferenceSession
        do {
            session = try InferenceSession(modelPath: file.path, config: config)
        } catch {
            outcome.skipped.append("the batch-dynamic graph does not load (\(error))")
            return outcome
        }
        var single: [[String: Tensor]] = [[:], [:]]
        var pair: [String: Tensor] = [:]
        for input in session.inputs where !changed.contains(input.name) {
            // Inputs the batch does not touch (quantiser leftovers) keep their own shape in every run.
            let filler = Tensor(input.elementType ?? .float32, shape: input.shape.map { max($0, 1) })
            single[0][input.name] = filler
            single[1][input.name] = filler
            pair[input.name] = filler
        }
        for input in session.inputs where changed.contains(input.name) {
            let rest = Array(input.shape.dropFirst())
            guard rest.allSatisfy({ $0 > 0 }), let type = input.elementType else {
                outcome.skipped.append("input '\(input.name)' has dynamic dims besides the batch (\(input))")
                return outcome
            }
            let perItem = rest.reduce(1, *)
            let both = Tensor(type, shape: [2] + rest)
            for item in 0..<2 {
                let one = Tensor(type, shape: [1] + rest)
                if type == .float32 {
                    var state = UInt64(0x9E37_79B9_7F4A_7C15) &+ UInt64(item) &* 0xBF58_476D_1CE4_E5B9
                    one.withUnsafeMutableBuffer(of: Float.self) { b in
                        for i in b.indices {
                            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                            b[i] = Float(state >> 40) / Float(1 << 24)
                        }
                    }
                }
                both.data.advanced(by: item * perItem * type.byteSize).copyMemory(from: one.data, byteCount: one.byteCount)
                single[item][input.name] = one
            }
            pair[input.name] = both
        }
        let a: [String: Tensor], b: [String: Tensor], ab: [String: Tensor]
        do {
            (a, b, ab) = (try session.run(single[0]), try session.run(single[1]), try session.run(pair))
        } catch {
            outcome.skipped.append("a batch of 2 does not run (\(error))")
            return outcome
        }
        var worst: Float = 0
        for output in session.outputs {
            guard let x = a[output.name], let y = b[output.name], let xy = ab[output.name] else { continue }
            let expected = x.floats() + y.floats()
            let got = xy.floats()
            guard xy.shape.first == (x.shape.first ?? 0) * 2, Array(xy.shape.dropFirst()) == Array(x.shape.dropFirst()), got.count == expected.count else {
                outcome.skipped.append("output '\(output.name)' has shape \(xy.shape) for batch 2 but \(x.shape) for batch 1: the graph does not batch")
                return outcome
            }
            let scale = max(1, expected.map(abs).max() ?? 0)
            let diff = zip(expected, got).map { abs($0 - $1) }.max() ?? 0
            worst = max(worst, diff / scale)
            if diff > 1e-4 * scale {
                outcome.skipped.append("output '\(output.name)' of a batch of 2 differs from two single runs by \(diff): the graph mixes the batch")
                return outcome
            }
        }
        model = candidate
        outcome.detail = "\(changed.joined(separator: ", ")) batch dim dynamic; batch 2 = two single runs within \(String(format: "%.1e", worst)) (relative)"
        return outcome
    }

    /// Lowercase hex sha256 of a string or bytes.
    static func hexDigest(_ text: String) -> String { hexDigest(Data(text.utf8)) }
    static func hexDigest(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
}
