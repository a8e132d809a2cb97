import CONNXRuntime
import Foundation
import Logging
import VisageCore

/// How a session is built.
public struct SessionConfig: Sendable {
    public enum Optimization: Sendable { case disabled, basic, extended, all }

    public var accelerator: Accelerator
    /// Threads inside one operator; 0 lets ONNX Runtime choose (one per physical core).
    public var intraOpThreads: Int
    public var interOpThreads: Int
    public var optimization: Optimization
    public var cuda: CUDAOptions
    public var tensorRT: TensorRTOptions
    /// Where TensorRT keeps its engine cache (building engines takes minutes; reuse them). Same as
    /// `tensorRT.engineCacheDirectory`; nil: the model store's `.derived/tensorrt`.
    public var tensorRTCacheDirectory: String? {
        get { tensorRT.engineCacheDirectory }
        set { tensorRT.engineCacheDirectory = newValue }
    }
    /// Let ONNX Runtime's worker threads busy-wait between runs. Off by default: our pipelines run
    /// several small models back to back next to decode/encode threads, and spinning workers steal
    /// those cores (measured on 2 cores: a detector run right after another model's run takes
    /// 59 ms spinning vs 40 ms without, see shared/reference/deep-live-cam.md).
    public var allowSpinning: Bool
    /// Graph rewrites (and float16) applied to the model for the accelerator it runs on, cached on
    /// disk (ModelOptimizer). On the CPU provider nothing is rewritten unless asked.
    public var modelOptimization: ModelOptimizationRequest
    /// Models run on buffers bound once and reused (ONNX Runtime IO binding) where the model code has a
    /// bound path; false: every run hands ONNX Runtime fresh tensors (`run(_:)`), and no CUDA graph.
    public var ioBinding: Bool
    /// Most faces per run for models that take a batch; nil: the saved `visage diagnose` recommendation
    /// under `auto`, else `SessionConfig.defaultMaxBatch`.
    public var maxBatch: Int?
    /// Whether runs of several items are padded to `maxBatch` (the padding's outputs ignored), so a batch
    /// session always sees one shape; nil: on GPU plans. A GPU provider sets a run up again whenever its input
    /// shape changes (cuDNN's algorithm choice and workspace for every convolution): 24 faces as runs of 16
    /// and 8 cost 100× one face at a time on an H100 (docs/BENCHMARKS.md). On a CPU padding is wasted work.
    public var padBatches: Bool?

    /// Batch limit without a recommendation: 16 covers a crowded frame in one run while keeping a
    /// binding's buffers small (inswapper: 16 × 196 KiB in, as much out).
    public static let defaultMaxBatch = 16

    public init(accelerator: Accelerator = .auto, intraOpThreads: Int = 0, interOpThreads: Int = 0,
                optimization: Optimization = .all, cuda: CUDAOptions = CUDAOptions(), tensorRTCacheDirectory: String? = nil,
                allowSpinning: Bool = false, modelOptimization: ModelOptimizationRequest = ModelOptimizationRequest(),
                tensorRT: TensorRTOptions = TensorRTOptions(), ioBinding: Bool = true, maxBatch: Int? = nil) {
        self.allowSpinning = allowSpinning
        self.modelOptimization = modelOptimization
        self.accelerator = accelerator
        self.intraOpThreads = intraOpThreads
        self.interOpThreads = interOpThreads
        self.optimization = optimization
        self.cuda = cuda
        self.tensorRT = tensorRT
        self.ioBinding = ioBinding
        self.maxBatch = maxBatch
        if let tensorRTCacheDirectory { self.tensorRT.engineCacheDirectory = tensorRTCacheDirectory }
    }

    /// Defaults, with the accelerator taken from `VISAGE_ACCELERATOR` and cuDNN's algorithm search from
    /// `VISAGE_CUDNN_CONV_ALGO_SEARCH` (exhaustive, heuristic, default) when set.
    public static func fromEnvironment() throws -> SessionConfig {
        var config = SessionConfig(accelerator: try Accelerator.fromEnvironment() ?? .auto)
        if let raw = ProcessInfo.processInfo.environment["VISAGE_CUDNN_CONV_ALGO_SEARCH"], !raw.isEmpty {
            guard let search = CUDAOptions.ConvAlgoSearch(rawValue: raw.uppercased()) else {
                throw VisageError.invalidArgument("VISAGE_CUDNN_CONV_ALGO_SEARCH=\(raw) is not one of exhaustive|heuristic|default")
            }
            config.cuda.convAlgoSearch = search
        }
        return config
    }
}

/// Name, element type and shape of a model input or output; -1 marks a dynamic dimension.
public struct TensorInfo: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var elementType: ElementType?
    public var shape: [Int]
    public var description: String {
        "\(name): \(elementType?.description ?? "?")[\(shape.map { $0 < 0 ? "?" : String($0) }.joined(separator: ","))]"
    }
}

/// One loaded model, ready to run. Thread-safe for concurrent `run` and `withBinding` calls.
public final class InferenceSession: @unchecked Sendable {
    public let modelPath: String
    public let inputs: [TensorInfo]
    public let outputs: [TensorInfo]
    /// The accelerators this session really runs on, best first.
    public let plan: AcceleratorPlan
    /// What ModelOptimizer did for this session's plan (nil when the plan calls for no rewrite); its
    /// `path` is the file loaded, `modelPath` itself when no rewrite changed anything.
    public let optimizedModel: OptimizedModel?
    /// True when the model's kernels are replayed as one CUDA graph (CUDA or TensorRT plan, static input
    /// shapes, IO binding): then every run goes through one binding, one caller at a time.
    public let cudaGraph: Bool
    /// Where the buffers of this session's bindings live.
    public let bufferPlacement: BufferPlacement
    /// Whether model code should take its bound path (`SessionConfig.ioBinding`).
    public let prefersBinding: Bool
    /// Most items per run for models that take a batch (`SessionConfig.maxBatch`, the saved recommendation,
    /// or the default).
    public let maxBatch: Int
    /// The provider options each accelerator of the plan was given (for logs and `visage diagnose`).
    public let providerOptions: [Accelerator: String]
    let library: ORTLibrary
    private let session: OpaquePointer
    /// Bindings not in use, most recently returned last; a few per shape at most.
    let idleBindings = Locked<[SessionBinding]>([])
    /// A CUDA graph replays one set of device addresses: its session runs one binding at a time.
    let graphLock = NSLock()
    private static let logger = VisageLog.logger("runtime")
    /// Idle bindings kept per session (different batch sizes or frame sizes); older ones are freed.
    static let bindingPoolLimit = 8

    var handle: OpaquePointer { session }

    public convenience init(modelPath: String, config: SessionConfig = SessionConfig()) throws {
        try self.init(modelPath: modelPath, config: config, library: ORTLibrary.shared())
    }

    public init(modelPath: String, config requested: SessionConfig, library: ORTLibrary) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: modelPath, isDirectory: &isDir) else { throw VisageError.fileNotFound(path: modelPath) }
        guard !isDir.boolValue else { throw VisageError.notAFile(path: modelPath) }
        let size = FileStat(path: modelPath)?.size ?? 0
        guard size > 0 else { throw VisageError.emptyFile(path: modelPath) }

        self.library = library
        self.modelPath = modelPath
        let name = URL(fileURLWithPath: modelPath).lastPathComponent
        var plan = AcceleratorPlan.resolve(requested: requested.accelerator, available: library.availableProviders)
        if let fallback = plan.fallback { DecisionLog.once(Self.logger, fallback, level: .warning) }
        let config = Self.applying(plan.recommendation, to: requested)

        // Provider by provider down the plan (TensorRT → CUDA → CPU), and without a CUDA graph when one
        // cannot be had; each step down is logged once with its reason.
        var useGraph = Self.graphWanted(plan: plan, config: config, model: name)
        var created: (session: OpaquePointer, optimized: OptimizedModel?, options: [Accelerator: String])
        while true {
            let optimized = Self.optimizedCopy(of: modelPath, plan: plan, request: config.modelOptimization)
            do {
                let (made, options) = try Self.createSession(library: library, path: optimized?.path ?? modelPath, config: config,
                                                             accelerators: plan.chosen, cudaGraph: useGraph)
                created = (made, optimized, options)
            } catch let error as VisageError {
                if case .invalidModel = error { throw error }
                if useGraph {
                    DecisionLog.once(Self.logger, "\(name): no CUDA graph on \(plan.primary.rawValue) (\(error)); running it without", level: .warning)
                    useGraph = false
                    continue
                }
                guard plan.chosen != [.cpu] else { throw error }
                // The provider exists in the build but cannot start here (driver, CUDA/TensorRT libraries, device):
                // the next one of the plan, with the model's file as that plan wants it.
                let next = plan.withoutFirst(because: "\(error)")
                DecisionLog.once(Self.logger, "\(plan.primary.rawValue) failed to initialise (\(error)); falling back to \(next.summary)", level: .warning)
                plan = next
                useGraph = Self.graphWanted(plan: plan, config: config, model: name)
                continue
            }
            let inputs = try Self.describe(library: library, session: created.session, inputs: true)
            if useGraph, let open = inputs.first(where: { $0.shape.contains { $0 < 0 } }) {
                // A graph replays the shapes it captured: a model with open dims gets none.
                library.api.ReleaseSession(created.session)
                DecisionLog.once(Self.logger, "\(name): no CUDA graph (input \(open) has dynamic dims; a graph replays fixed shapes)", level: .info)
                useGraph = false
                continue
            }
            break
        }
        self.session = created.session
        self.optimizedModel = created.optimized
        self.providerOptions = created.options
        self.plan = plan
        self.cudaGraph = useGraph
        self.prefersBinding = config.ioBinding || useGraph
        self.bufferPlacement = Self.placement(plan: plan, config: config, model: name)
        self.maxBatch = max(1, config.maxBatch ?? plan.recommendation?.batch ?? SessionConfig.defaultMaxBatch)
        self.inputs = try Self.describe(library: library, session: created.session, inputs: true)
        self.outputs = try Self.describe(library: library, session: created.session, inputs: false)
        DecisionLog.once(Self.logger, "model \(name) on \(plan.summary) (\(plan.reason))\(useGraph ? ", CUDA graph" : "")", level: .debug)
    }

    deinit {
        idleBindings.withLock { $0.removeAll() }
        library.api.ReleaseSession(session)
    }

    /// `auto` following a recommendation that chose float16: the models are converted on that accelerator
    /// unless the caller asked for a precision itself.
    private static func applying(_ recommendation: AcceleratorRecommendation?, to config: SessionConfig) -> SessionConfig {
        guard let recommendation, recommendation.float16, config.modelOptimization.float16 == .never else { return config }
        var adjusted = config
        adjusted.modelOptimization.float16 = .onAccelerators
        return adjusted
    }

    /// A CUDA graph for this plan? It needs a CUDA or TensorRT plan, the user's consent, IO binding and
    /// the CUDA runtime for the explicit copies into its fixed device buffers; each missing piece is said once.
    private static func graphWanted(plan: AcceleratorPlan, config: SessionConfig, model: String) -> Bool {
        let primary = plan.primary
        guard primary == .cuda || primary == .tensorrt else { return false }
        let wanted = primary == .cuda ? config.cuda.cudaGraph : config.tensorRT.cudaGraph
        guard wanted else { return false }
        guard config.ioBinding else {
            DecisionLog.once(logger, "no CUDA graph: IO binding is off (a graph replays fixed device buffers)", level: .info)
            return false
        }
        if case .failure(let error) = CUDARuntime.shared() {
            DecisionLog.once(logger, "no CUDA graph and no device-side IO binding: \(error)", level: .warning)
            return false
        }
        return true
    }

    /// Device buffers for CUDA plans when the CUDA runtime is there to copy into them, else host buffers.
    private static func placement(plan: AcceleratorPlan, config: SessionConfig, model: String) -> BufferPlacement {
        guard plan.primary == .cuda || plan.primary == .tensorrt, case .success = CUDARuntime.shared() else { return .host }
        return .cuda(device: config.cuda.deviceID)
    }

    /// The cached rewritten copy the plan calls for (ModelOptimizer.automaticOptions), or nil to load
    /// the file as it is. A rewrite that fails is logged and the original file is used.
    private static func optimizedCopy(of modelPath: String, plan: AcceleratorPlan, request: ModelOptimizationRequest) -> OptimizedModel? {
        guard let options = ModelOptimizer.automaticOptions(for: plan, request: request) else { return nil }
        do {
            let optimized = try ModelOptimizer.optimize(modelPath: modelPath, options: options, cacheDirectory: request.cacheDirectory)
            DecisionLog.once(logger, "\(optimized.summary) for \(plan.summary)", level: optimized.path == modelPath ? .debug : .info)
            return optimized
        } catch {
            DecisionLog.once(logger, "loading \(modelPath) as it is: rewriting it for \(plan.summary) failed (\(error))", level: .warning)
            return nil
        }
    }

    private static func createSession(library: ORTLibrary, path: String, config: SessionConfig, accelerators: [Accelerator],
                                      cudaGraph: Bool) throws -> (OpaquePointer, [Accelerator: String]) {
        let api = library.api
        var options: OpaquePointer?
        try library.check(api.CreateSessionOptions(&options), "CreateSessionOptions")
        defer { api.ReleaseSessionOptions(options) }
        let level: GraphOptimizationLevel
        switch config.optimization {
        case .disabled: level = ORT_DISABLE_ALL
        case .basic: level = ORT_ENABLE_BASIC
        case .extended: level = ORT_ENABLE_EXTENDED
        case .all: level = ORT_ENABLE_ALL
        }
        try library.check(api.SetSessionGraphOptimizationLevel(options, level), "SetSessionGraphOptimizationLevel")
        if config.intraOpThreads > 0 { try library.check(api.SetIntraOpNumThreads(options, Int32(config.intraOpThreads)), "SetIntraOpNumThreads") }
        if config.interOpThreads > 0 { try library.check(api.SetInterOpNumThreads(options, Int32(config.interOpThreads)), "SetInterOpNumThreads") }
        let spinning = config.allowSpinning ? "1" : "0"
        try library.check(api.AddSessionConfigEntry(options, "session.intra_op.allow_spinning", spinning), "AddSessionConfigEntry")
        try library.check(api.AddSessionConfigEntry(options, "session.inter_op.allow_spinning", spinning), "AddSessionConfigEntry")
        var given: [Accelerator: String] = [:]
        for accelerator in accelerators {
            if let pairs = try ProviderSetup.append(accelerator, to: options!, library: library, config: config, cudaGraph: cudaGraph) {
                given[accelerator] = ProviderOptions.describe(pairs)
            }
        }
        var session: OpaquePointer?
        let status = api.CreateSession(library.env, path, options, &session)
        if let status {
            let message = String(cString: api.GetErrorMessage(status)!)
            let code = api.GetErrorCode(status)
            api.ReleaseStatus(status)
            if code == ORT_INVALID_PROTOBUF || code == ORT_INVALID_GRAPH || code == ORT_NO_MODEL || message.contains("Protobuf parsing failed") {
                throw VisageError.invalidModel(path: path, reason: message)
            }
            throw VisageError.runtime("loading \(path): \(message)")
        }
        return (session!, given)
    }

    private static func describe(library: ORTLibrary, session: OpaquePointer, inputs: Bool) throws -> [TensorInfo] {
        let api = library.api
        var allocator: UnsafeMutablePointer<OrtAllocator>?
        try library.check(api.GetAllocatorWithDefaultOptions(&allocator), "GetAllocatorWithDefaultOptions")
        var count = 0
        try library.check(inputs ? api.SessionGetInputCount(session, &count) : api.SessionGetOutputCount(session, &count), "count")
        var result: [TensorInfo] = []
        for i in 0..<count {
            var namePointer: UnsafeMutablePointer<CChar>?
            try library.check(inputs ? api.SessionGetInputName(session, i, allocator, &namePointer)
                                     : api.SessionGetOutputName(session, i, allocator, &namePointer), "name")
            let name = String(cString: namePointer!)
            _ = api.AllocatorFree(allocator, namePointer)
            var typeInfo: OpaquePointer?
            try library.check(inputs ? api.SessionGetInputTypeInfo(session, i, &typeInfo)
                                     : api.SessionGetOutputTypeInfo(session, i, &typeInfo), "type info")
            defer { api.ReleaseTypeInfo(typeInfo) }
            var tensorInfo: OpaquePointer?
            _ = api.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo)
            guard let tensorInfo else { result.append(TensorInfo(name: name, elementType: nil, shape: [])); continue }
            let (type, shape) = typeAndShape(api, tensorInfo)
            result.append(TensorInfo(name: name, elementType: ElementType(rawValue: Int32(type.rawValue)), shape: shape))
        }
        return result
    }

    /// Runs the model. `feeds` maps input names to tensors (their memory is used in place);
    /// returns the requested outputs (all by default), whose memory ONNX Runtime allocated.
    public func run(_ feeds: [String: Tensor], outputs requested: [String]? = nil) throws -> [String: Tensor] {
        let api = library.api
        for input in inputs where feeds[input.name] == nil {
            throw VisageError.invalidArgument("model \(modelPath) needs input '\(input.name)' (\(input))")
        }
        if cudaGraph { return try runThroughBinding(feeds, outputs: requested) }
        let outputNames = requested ?? outputs.map(\.name)
        let inputNames = Array(feeds.keys)
        var values: [OpaquePointer?] = []
        defer { for v in values { api.ReleaseValue(v) } }
        for name in inputNames {
            let tensor = feeds[name]!
            if let info = inputs.first(where: { $0.name == name }), let expected = info.elementType, expected != tensor.elementType {
                throw VisageError.invalidArgument("input '\(name)' must be \(expected), got \(tensor.elementType)")
            }
            let shape = tensor.shape.map { Int64($0) }
            var value: OpaquePointer?
            try library.check(api.CreateTensorWithDataAsOrtValue(
                library.cpuMemoryInfo, tensor.data, tensor.byteCount, shape, shape.count,
                ONNXTensorElementDataType(rawValue: UInt32(tensor.elementType.rawValue)), &value), "creating input '\(name)'")
            values.append(value)
        }
        var outputValues = [OpaquePointer?](repeating: nil, count: outputNames.count)
        try withCStrings(inputNames) { inNames in
            try withCStrings(outputNames) { outNames in
                try values.withUnsafeBufferPointer { inputValues in
                    let status = inputValues.baseAddress!.withMemoryRebound(to: Optional<OpaquePointer>.self, capacity: values.count) { _ in
                        api.Run(session, nil, inNames, inputValues.baseAddress, values.count, outNames, outputNames.count, &outputValues)
                    }
                    try library.check(status, "running \(URL(fileURLWithPath: modelPath).lastPathComponent)")
                }
            }
        }
        var result: [String: Tensor] = [:]
        for (name, value) in zip(outputNames, outputValues) {
            guard let value else { continue }
            result[name] = try wrapOutput(value)
        }
        return result
    }

    private func wrapOutput(_ value: OpaquePointer) throws -> Tensor {
        let api = library.api
        var shapeInfo: OpaquePointer?
        try library.check(api.GetTensorTypeAndShape(value, &shapeInfo), "GetTensorTypeAndShape")
        defer { api.ReleaseTensorTypeAndShapeInfo(shapeInfo) }
        let (type, shape) = typeAndShape(api, shapeInfo!)
        var data: UnsafeMutableRawPointer?
        try library.check(api.GetTensorMutableData(value, &data), "GetTensorMutableData")
        guard let elementType = ElementType(rawValue: Int32(type.rawValue)) else {
            api.ReleaseValue(value)
            throw VisageError.runtime("output has unsupported element type \(type.rawValue)")
        }
        let lib = library
        return Tensor(elementType, shape: shape, data: data ?? UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1),
                      byteCount: shape.reduce(1, *) * elementType.byteSize) { lib.api.ReleaseValue(value) }
    }
}

/// Element type and dimensions (-1 for symbolic ones) of an OrtTensorTypeAndShapeInfo.
func typeAndShape(_ api: OrtApi, _ info: OpaquePointer) -> (ONNXTensorElementDataType, [Int]) {
    var type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED
    _ = api.GetTensorElementType(info, &type)
    var rank = 0
    _ = api.GetDimensionsCount(info, &rank)
    var dims = [Int64](repeating: 0, count: rank)
    _ = api.GetDimensions(info, &dims, rank)
    return (type, dims.map { Int($0) })
}

/// Passes an array of Swift strings as `const char* const*` for the duration of `body`.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) throws -> R) rethrows -> R {
    let duplicated = strings.map { strdup($0) }
    defer { duplicated.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = duplicated.map { $0.map { UnsafePointer($0) } }
    return try pointers.withUnsafeBufferPointer { try body($0.baseAddress!) }
}

/// Logs each decision once per process, however many sessions make it.
public enum DecisionLog {
    private static let seen = Locked(Set<String>())

    public static func once(_ logger: Logger, _ message: String, level: Logger.Level = .info) {
        let isNew = seen.withLock { $0.insert(message).inserted }
        if isNew { logger.log(level: level, "\(message)") }
    }
}
