import Foundation
import Logging
import VisageCore

/// A model that can take several items per run. One item always runs on the session of the model as it
/// is (so single-face results never change); a batch runs on the same session when the model's batch dim
/// is dynamic, else on its dynamic-batch copy (ModelOptimizer's `dynamic-batch` rewrite, kept only when a
/// batch of two matched two single runs), made the first time a batch is asked for. Models whose graph
/// mixes or cannot take a batch (SCRFD, YuNet, retinaface) say why once and run one item at a time.
/// Every model kind (embeddings, landmarks, swap, and later enhancement) batches through this.
public final class BatchedSession: @unchecked Sendable {
    /// The session of the model as it is: every single item runs here.
    public let single: InferenceSession
    /// Most items per run (the session's `maxBatch`).
    public let maxBatch: Int
    private let modelPath: String
    private let config: SessionConfig
    private let state = Locked<State>(.unknown)
    private static let logger = VisageLog.logger("runtime")

    private enum State {
        case unknown
        case ready(InferenceSession)
        case unavailable(String)
    }

    /// Loads `modelPath` (the file the single session runs).
    public convenience init(modelPath: String, config: SessionConfig = SessionConfig()) throws {
        try self.init(single: InferenceSession(modelPath: modelPath, config: config), modelPath: modelPath, config: config)
    }

    /// Wraps a loaded session; `modelPath` is the file it was loaded from, the source of a batch copy.
    public init(single: InferenceSession, modelPath: String, config: SessionConfig) {
        self.single = single
        self.modelPath = modelPath
        self.config = config
        self.maxBatch = single.maxBatch
        if single.inputs.first?.shape.first ?? 1 < 0 { state.set(.ready(single)) }
    }

    /// True when the loaded model declares a dynamic batch (no copy needed).
    public var declaresDynamicBatch: Bool { single.inputs.first?.shape.first ?? 1 < 0 }

    /// The session for a run of `count` items (1 ≤ count ≤ maxBatch), or nil when the model cannot take a
    /// batch (then `unavailableReason` says why, and callers run items one at a time).
    public func session(forBatch count: Int) -> InferenceSession? {
        if count <= 1 { return single }
        return state.withLock { state in
            if case .unknown = state { state = makeBatchSession() }
            if case .ready(let session) = state { return session }
            return nil
        }
    }

    /// Why batches run one item at a time, once a batch was asked for and could not be had.
    public var unavailableReason: String? {
        state.withLock { if case .unavailable(let reason) = $0 { return reason } else { return nil } }
    }

    /// One model run of `forEachRun`: items `start..<start + count` on `session`, bound as a batch of `batch`
    /// (≥ count: the slots past `count` are padding whose outputs the caller ignores).
    public struct Run {
        public let start: Int
        public let count: Int
        public let batch: Int
        public let session: InferenceSession
    }

    /// Whether runs of several items are padded to `maxBatch` (`SessionConfig.padBatches`; nil: on GPU plans).
    public var padsBatches: Bool {
        config.padBatches ?? (single.plan.primary == .cuda || single.plan.primary == .tensorrt)
    }

    /// Splits `count` items into runs of at most `maxBatch` (or of one, when the model cannot batch).
    public func forEachRun(_ count: Int, _ body: (Run) throws -> Void) throws {
        var start = 0
        while start < count {
            let wanted = min(maxBatch, count - start)
            if let session = session(forBatch: wanted) {
                try body(Run(start: start, count: wanted, batch: wanted > 1 && padsBatches ? maxBatch : wanted, session: session))
                start += wanted
            } else {
                try body(Run(start: start, count: 1, batch: 1, session: single))
                start += 1
            }
        }
    }

    private func makeBatchSession() -> State {
        let name = URL(fileURLWithPath: modelPath).lastPathComponent
        do {
            let rewritten = try ModelOptimizer.optimize(modelPath: modelPath, options: OptimizationOptions(rewrites: [.dynamicBatch]),
                                                        cacheDirectory: config.modelOptimization.cacheDirectory)
            let outcome = rewritten.outcomes.first { $0.rewrite == .dynamicBatch }
            guard rewritten.path != modelPath, outcome?.skipped.isEmpty ?? false else {
                let why = outcome?.skipped.joined(separator: "; ") ?? "the rewrite changed nothing"
                DecisionLog.once(Self.logger, "\(name): faces run one at a time (\(why))", level: .info)
                return .unavailable(why)
            }
            var batchConfig = config
            batchConfig.modelOptimization.inputShape = nil   // the copy's batch stays open
            let session = try InferenceSession(modelPath: rewritten.path, config: batchConfig)
            DecisionLog.once(Self.logger, "\(name): batches of up to \(maxBatch) run on its dynamic-batch copy (\(outcome?.detail ?? ""))", level: .info)
            return .ready(session)
        } catch {
            DecisionLog.once(Self.logger, "\(name): faces run one at a time (making a dynamic-batch copy failed: \(error))", level: .warning)
            return .unavailable("\(error)")
        }
    }
}

extension InferenceSession {
    /// Runs the model once for `shape`: `fill` writes the inputs (in `inputs` order), `read` takes the
    /// outputs (in `outputs` order, valid only inside `read`). Bound, reused buffers when the session
    /// prefers binding; fresh tensors and `run(_:)` otherwise (`SessionConfig.ioBinding = false`).
    public func run<R>(_ shape: BindingShape, fill: ([Tensor]) throws -> Void, read: ([Tensor]) throws -> R) throws -> R {
        if prefersBinding {
            return try withBinding(shape) { binding in
                try fill(binding.inputs)
                try binding.run()
                return try read(binding.outputs)
            }
        }
        let dims = try shape.dims(for: inputs, model: URL(fileURLWithPath: modelPath).lastPathComponent)
        let tensors = zip(inputs, dims).map { Tensor($0.elementType ?? .float32, shape: $1) }
        try fill(tensors)
        var feeds: [String: Tensor] = [:]
        for (input, tensor) in zip(inputs, tensors) { feeds[input.name] = tensor }
        let results = try run(feeds)
        return try read(try outputs.map { output in
            guard let tensor = results[output.name] else { throw VisageError.runtime("\(modelPath): output '\(output.name)' missing") }
            return tensor
        })
    }
}
