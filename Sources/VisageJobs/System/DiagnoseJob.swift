import Foundation
import VisageCore
import VisageFace
import VisageRuntime

/// `visage diagnose`: every installed model (and any extra .onnx files) on every accelerator this ONNX
/// Runtime offers here — load time, first run, steady latency, a batch-size sweep, memory, achieved
/// GFLOP/s against the graph's FLOP count — and the fastest setting, saved as this machine's
/// recommendation for `--accelerator auto`.
public struct DiagnoseJob: Codable, Sendable {
    /// Catalog ids to measure; nil: every installed ONNX model.
    public var models: [String]?
    /// Extra model files (e.g. graphs of models the catalog cannot install).
    public var extraFiles: [String] = []
    /// Accelerators to measure; nil: the context's accelerator and the CPU when one was asked for, else
    /// every one this ONNX Runtime offers (CPU always).
    public var accelerators: [Accelerator]?
    /// Timed runs at batch 1 (the sweep's larger batches run fewer: the same items in total, at least 3).
    public var runs = 20
    public var batches = [1, 2, 4, 8, 16]
    /// Seconds at most per batch size of one model (runs stop early once over it; at least 3 run).
    public var secondsPerBatch = 10.0
    /// Side of the square input of models that leave height and width open (YuNet).
    public var inputSide = 640
    /// Also measure float16 copies on GPU accelerators.
    public var float16 = true
    /// Save the recommendation for `--accelerator auto`.
    public var save = true

    public init() {}

    public func validate() throws {
        try OptionRules.check("runs", runs, in: 3...10_000)
        try OptionRules.check("input-side", inputSide, in: 32...4096)
        guard !batches.isEmpty, batches.allSatisfy({ (1...64).contains($0) }) else {
            throw VisageError.invalidArgument("--batches takes sizes from 1 to 64, e.g. 1,2,4,8,16")
        }
        guard secondsPerBatch > 0 else { throw VisageError.invalidArgument("--seconds-per-batch must be more than 0") }
        for file in extraFiles where !FileManager.default.fileExists(atPath: file) { throw VisageError.fileNotFound(path: file) }
    }

    /// The installed catalog models this job measures (ONNX files only).
    public func catalogModels(store: ModelStore) throws -> [ModelEntry] {
        if let models { return try models.map { try ModelCatalog.entry($0) } }
        return ModelCatalog.all.filter { $0.primaryFile.path.hasSuffix(".onnx") && store.isInstalled($0) }
    }

    public var requiredModels: [String] { models ?? [] }

    public func run(in context: JobContext) throws -> DiagnoseReport {
        try validate()
        let library = try ORTLibrary.shared()
        let offered = Self.offeredAccelerators(library.availableProviders)
        // `--only` first; else an explicit `--accelerator` (or VISAGE_ACCELERATOR) with the CPU to compare
        // against; else everything this build offers.
        let requested = context.session.accelerator
        let chosen = accelerators.map { $0.filter { $0 != .auto } }
            ?? (requested == .auto ? offered : (requested == .cpu ? [.cpu] : [requested, .cpu]))
        var targets: [(id: String, path: String)] = []
        for entry in try catalogModels(store: context.store) {
            targets.append((entry.id, try Self.loadablePath(id: entry.id, path: try context.store.path(for: entry.id), store: context.store)))
        }
        for file in extraFiles { targets.append((URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent, file)) }
        guard !targets.isEmpty else {
            throw VisageError.invalidArgument("no ONNX model is installed in \(context.store.root.path); install some with `visage models install` (or pass --model FILE.onnx)")
        }
        let meter = ProgressMeter(stage: "diagnose", total: targets.count * chosen.count, sink: context.progress)
        var results: [DiagnoseReport.ModelResult] = []
        var notes: [String] = []
        for accelerator in chosen {
            let precisions = accelerator != .cpu && float16 ? [false, true] : [false]
            for useFloat16 in precisions {
                for target in targets {
                    try context.cancellation.check()
                    do {
                        let measured = try measure(target, on: accelerator, float16: useFloat16, base: context.session, store: context.store,
                                                   cancellation: context.cancellation)
                        results.append(measured)
                    } catch let error as VisageError {
                        if context.cancellation.isCancelled { throw error }
                        notes.append("\(target.id) on \(accelerator.rawValue)\(useFloat16 ? " float16" : ""): \(error)")
                    }
                }
                if !useFloat16 { meter.advance(by: targets.count) }
            }
        }
        meter.finish()
        var report = DiagnoseReport(machine: MachineKey.current().description, providers: library.availableProviders,
                                    onnxRuntime: library.version, results: results, notes: notes,
                                    allocationCounter: AllocationCounter.isAvailable)
        if let recommendation = Self.recommend(results) {
            report.recommendation = recommendation
            if save, !results.isEmpty {
                report.recommendationFile = try recommendation.save(in: context.store).path
            }
        }
        return report
    }

    /// The accelerators this build offers, CPU last.
    static func offeredAccelerators(_ providers: [String]) -> [Accelerator] {
        [Accelerator.tensorrt, .cuda, .coreml].filter { $0.providerName.map(providers.contains) ?? false } + [.cpu]
    }

    /// The file a pipeline actually loads for `id`: SFace's cleaned copy (FaceEmbedder), others as installed.
    static func loadablePath(id: String, path: String, store: ModelStore) throws -> String {
        guard id == FaceEmbedder.Profile.sface.modelID else { return path }
        return try FaceEmbedder.loadablePath(profile: .sface, modelPath: path, derivedModels: store.derivedDirectory)
    }

    private func measure(_ target: (id: String, path: String), on accelerator: Accelerator, float16: Bool, base: SessionConfig,
                         store: ModelStore, cancellation: CancellationToken) throws -> DiagnoseReport.ModelResult {
        var config = base
        config.accelerator = accelerator
        config.maxBatch = batches.max() ?? 1
        config.modelOptimization.float16 = float16 ? .always : .never
        let cuda = accelerator == .cuda || accelerator == .tensorrt ? try? CUDARuntime.shared().get() : nil
        let deviceBefore = cuda?.memory(device: config.cuda.deviceID)
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let session = try InferenceSession(modelPath: target.path, config: config)
        let loadMs = Self.ms(since: loadStart)
        guard session.plan.primary == accelerator else {
            throw VisageError.runtimeUnavailable(reason: "\(accelerator.rawValue) did not start (ran on \(session.plan.summary): \(session.plan.fallback ?? session.plan.reason))")
        }
        let batched = BatchedSession(single: session, modelPath: target.path, config: config)
        let first = session.inputs.first
        let open = first.map { $0.shape.count == 4 && ($0.shape[2] < 0 || $0.shape[3] < 0) } ?? false
        let shapeFor = { (b: Int) in BindingShape(batch: b, height: open ? inputSide : nil, width: open ? inputSide : nil) }

        var result = DiagnoseReport.ModelResult(model: target.id, file: target.path, accelerator: accelerator.rawValue,
                                                precision: float16 ? "float16" : "float32", loadMs: Stats.r(loadMs))
        result.cudaGraph = session.cudaGraph
        result.inputs = session.inputs.map(\.description)
        // FLOPs of one item (batch 1), from the graph with ONNX Runtime's shapes.
        do {
            var shapes: [String: [Int]] = [:]
            let dims = try shapeFor(1).dims(forInputsOf: session)
            for (input, d) in zip(session.inputs, dims) { shapes[input.name] = d }
            let scratch = store.derivedDirectory.appendingPathComponent("scratch", isDirectory: true)
            result.gflopPerItem = Stats.r(try GraphFLOPs.count(modelPath: target.path, inputShapes: shapes, scratch: scratch).gflop)
        } catch {
            result.notes.append("no FLOP count: \(error)")
        }

        // First run (binding made, kernels chosen), then steady runs at batch 1.
        let firstStart = DispatchTime.now().uptimeNanoseconds
        try Self.timedRun(session, shape: shapeFor(1))
        result.firstRunMs = Stats.r(Self.ms(since: firstStart))
        try Self.timedRun(session, shape: shapeFor(1))
        let allocationsBefore = AllocationCounter.calls
        var steady: [Double] = []
        let steadyStart = DispatchTime.now().uptimeNanoseconds
        for i in 0..<runs {
            try cancellation.check()
            steady.append(try Self.timedRun(session, shape: shapeFor(1)))
            if i >= 2, Self.ms(since: steadyStart) / 1000 > secondsPerBatch { break }
        }
        if let before = allocationsBefore, let after = AllocationCounter.calls {
            result.allocationsPerRun = Double(after - before) / Double(steady.count)
            // The same runs without binding (fresh tensors each time), for comparison.
            let unbound = try Self.unboundAllocations(session, shape: shapeFor(1))
            result.allocationsPerRunUnbound = unbound
            if session.prefersBinding { result.allocationsPerRunInsideOnnxRuntime = try Self.runtimeAllocations(session, shape: shapeFor(1)) }
        }
        result.steadyMs = Stats.summary(steady)

        // The batch sweep: same total items per size where time allows.
        for b in batches.sorted() {
            try cancellation.check()
            guard let batchSession = b == 1 ? session : batched.session(forBatch: b) else {
                result.notes.append("batches run one face at a time: \(batched.unavailableReason ?? "the model takes no batch")")
                break
            }
            var times: [Double] = []
            do {
                try Self.timedRun(batchSession, shape: shapeFor(b))   // this size's warm-up
                let start = DispatchTime.now().uptimeNanoseconds
                let wanted = max(3, runs / b)
                while times.count < wanted {
                    times.append(try Self.timedRun(batchSession, shape: shapeFor(b)))
                    if times.count >= 3, Self.ms(since: start) / 1000 > secondsPerBatch { break }
                }
            } catch {
                result.notes.append("batch \(b) failed: \(error)")
                break
            }
            let median = Stats.percentile(times, 50)
            var point = DiagnoseReport.BatchPoint(batch: b, medianMs: Stats.r(median), msPerItem: Stats.r(median / Double(b)),
                                                  itemsPerSecond: Stats.r(Double(b) * 1000 / median), runs: times.count)
            if let g = result.gflopPerItem, median > 0 { point.gflopPerSecond = Stats.r(g * Double(b) / (median / 1000)) }
            result.sweep.append(point)
            if median / 1000 > secondsPerBatch { result.notes.append("stopped the sweep after batch \(b): one run took \(Int(median)) ms"); break }
        }
        result.peakRSSMB = Stats.r(Double(Platform.peakResidentBytes) / 1_048_576)
        result.rssMB = Stats.r(Double(Platform.residentBytes) / 1_048_576)
        if let before = deviceBefore, let after = cuda?.memory(device: config.cuda.deviceID) {
            result.deviceMemoryMB = Stats.r(Double(max(0, before.free - after.free)) / 1_048_576)
        }
        return result
    }

    /// One run of `session` at `shape` on pseudo-random inputs (bound buffers are filled once per binding
    /// use, as pipelines do); the model's milliseconds.
    @discardableResult
    static func timedRun(_ session: InferenceSession, shape: BindingShape) throws -> Double {
        var start: UInt64 = 0
        return try session.run(shape, fill: { inputs in
            for tensor in inputs { fillNoise(tensor) }
            start = DispatchTime.now().uptimeNanoseconds
        }, read: { _ in ms(since: start) })
    }

    /// Allocations per `run(_:)` with fresh input tensors each time (the unbound path).
    static func unboundAllocations(_ session: InferenceSession, shape: BindingShape) throws -> Double? {
        let dims = try shape.dims(forInputsOf: session)
        var feeds: [String: Tensor] = [:]
        for (input, d) in zip(session.inputs, dims) { feeds[input.name] = Tensor(input.elementType ?? .float32, shape: d) }
        for tensor in feeds.values { fillNoise(tensor) }
        _ = try session.run(feeds)
        guard let before = AllocationCounter.calls else { return nil }
        let n = 3
        for _ in 0..<n { _ = try session.run(feeds) }
        guard let after = AllocationCounter.calls else { return nil }
        return Double(after - before) / Double(n)
    }

    /// Allocations per run inside ONNX Runtime's own RunWithBinding (its executor's per-run bookkeeping),
    /// counted around the bound run alone: the rest of `allocationsPerRun` is ours.
    static func runtimeAllocations(_ session: InferenceSession, shape: BindingShape) throws -> Double? {
        try session.withBinding(shape) { binding in
            for tensor in binding.inputs { fillNoise(tensor) }
            try binding.run()
            guard let before = AllocationCounter.calls else { return nil }
            let n = 3
            for _ in 0..<n { try binding.run() }
            guard let after = AllocationCounter.calls else { return nil }
            return Double(after - before) / Double(n)
        }
    }

    /// Values in [0, 1) for float inputs (a deterministic sequence), zeros for others: realistic enough for
    /// timing; no result is looked at.
    static func fillNoise(_ tensor: Tensor) {
        switch tensor.elementType {
        case .float32:
            tensor.withUnsafeMutableBuffer(of: Float.self) { b in
                var state: UInt32 = 0x9E37_79B9
                for i in b.indices {
                    state = state &* 1_664_525 &+ 1_013_904_223
                    b[i] = Float(state >> 8) / Float(1 << 24)
                }
            }
        default:
            tensor.data.initializeMemory(as: UInt8.self, repeating: 0, count: tensor.byteCount)
        }
    }

    static func ms(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }

    /// The fastest accelerator and precision (lowest summed best per-item time over the models measured
    /// in every setting) and the batch that serves it: per batchable model, the smallest batch within 5%
    /// of its best per-item time; the median of those (16 when no model batched).
    public static func recommend(_ results: [DiagnoseReport.ModelResult]) -> AcceleratorRecommendation? {
        let settings = Dictionary(grouping: results) { "\($0.accelerator)|\($0.precision)" }
        guard !settings.isEmpty else { return nil }
        var common: Set<String>?
        for rs in settings.values {
            let models = Set(rs.map(\.model))
            common = common.map { $0.intersection(models) } ?? models
        }
        let shared = common ?? []
        func best(_ r: DiagnoseReport.ModelResult) -> Double { r.sweep.map(\.msPerItem).min() ?? r.steadyMs?.median ?? .infinity }
        let scored: [(String, [DiagnoseReport.ModelResult], Double)] = settings.map { key, rs in
            (key, rs, rs.filter { shared.contains($0.model) }.map(best).reduce(0, +))
        }
        guard let winner = scored.min(by: { $0.2 < $1.2 }) else { return nil }
        var choices: [Int] = []
        for r in winner.1 where r.sweep.count > 1 {
            let top = r.sweep.map(\.msPerItem).min()!
            if let pick = r.sweep.first(where: { $0.msPerItem <= top * 1.05 }) { choices.append(pick.batch) }
        }
        let batch = choices.isEmpty ? SessionConfig.defaultMaxBatch : choices.sorted()[choices.count / 2]
        let parts = winner.0.split(separator: "|").map(String.init)
        let accelerator = Accelerator(rawValue: parts[0]) ?? .cpu
        let others = scored.filter { $0.0 != winner.0 }.map { "\($0.0.replacingOccurrences(of: "|", with: " ")) \(String(format: "%.1f", $0.2)) ms" }
        let reason = "summed best ms per face over \(shared.count) model(s): \(String(format: "%.1f", winner.2)) ms"
            + (others.isEmpty ? "" : " (vs \(others.joined(separator: ", ")))")
            + "; batch \(batch) from \(choices.count) batchable model(s)"
        return AcceleratorRecommendation(accelerator: accelerator, float16: parts.count > 1 && parts[1] == "float16", batch: batch, reason: reason)
    }
}

/// What `visage diagnose` measured.
public struct DiagnoseReport: Codable, Sendable {
    public var machine: String
    public var providers: [String]
    public var onnxRuntime: String
    public var results: [ModelResult]
    /// Settings that could not be measured, with why.
    public var notes: [String]
    /// Whether allocation counts were measured (the counting interposer was preloaded).
    public var allocationCounter: Bool
    public var recommendation: AcceleratorRecommendation?
    public var recommendationFile: String?

    public struct BatchPoint: Codable, Sendable, Equatable {
        public var batch: Int
        public var medianMs: Double
        public var msPerItem: Double
        public var itemsPerSecond: Double
        public var runs: Int
        public var gflopPerSecond: Double?

        enum CodingKeys: String, CodingKey {
            case batch, runs
            case medianMs = "median_ms", msPerItem = "ms_per_item", itemsPerSecond = "items_per_second", gflopPerSecond = "gflop_per_second"
        }
    }

    public struct ModelResult: Codable, Sendable {
        public var model: String
        public var file: String
        public var accelerator: String
        public var precision: String
        public var inputs: [String] = []
        public var cudaGraph = false
        public var loadMs: Double
        public var firstRunMs: Double?
        public var steadyMs: StageSummary?
        public var sweep: [BatchPoint] = []
        public var gflopPerItem: Double?
        /// Heap allocations per steady run on the bound path, and on `run(_:)` with fresh tensors.
        public var allocationsPerRun: Double?
        public var allocationsPerRunUnbound: Double?
        /// Of `allocationsPerRun`, those inside ONNX Runtime's RunWithBinding (not ours to remove).
        public var allocationsPerRunInsideOnnxRuntime: Double?
        /// The process's high-water mark so far, and its resident memory after this model.
        public var peakRSSMB: Double?
        public var rssMB: Double?
        /// Device memory taken while this model loaded and ran (CUDA: driver's free memory before − after).
        public var deviceMemoryMB: Double?
        public var notes: [String] = []

        init(model: String, file: String, accelerator: String, precision: String, loadMs: Double) {
            self.model = model
            self.file = file
            self.accelerator = accelerator
            self.precision = precision
            self.loadMs = loadMs
        }

        enum CodingKeys: String, CodingKey {
            case model, file, accelerator, precision, inputs, sweep, notes
            case cudaGraph = "cuda_graph", loadMs = "load_ms", firstRunMs = "first_run_ms", steadyMs = "steady_ms"
            case gflopPerItem = "gflop_per_item", allocationsPerRun = "allocations_per_run"
            case allocationsPerRunUnbound = "allocations_per_run_unbound"
            case allocationsPerRunInsideOnnxRuntime = "allocations_per_run_inside_onnxruntime", peakRSSMB = "peak_rss_mb", rssMB = "rss_mb"
            case deviceMemoryMB = "device_memory_mb"
        }

        /// GFLOP/s at batch 1's median.
        public var gflopPerSecond: Double? {
            guard let g = gflopPerItem, let m = steadyMs?.median, m > 0 else { return nil }
            return Stats.r(g / (m / 1000))
        }
    }

    enum CodingKeys: String, CodingKey {
        case machine, providers, results, notes, recommendation
        case onnxRuntime = "onnx_runtime", allocationCounter = "allocation_counter", recommendationFile = "recommendation_file"
    }
}
