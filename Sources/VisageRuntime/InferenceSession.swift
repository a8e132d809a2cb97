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
    /// Where TensorRT keeps its engine cache (building engines takes minutes; reuse them).
    public var tensorRTCacheDirectory: String?
    /// Let ONNX Runtime's worker threads busy-wait between runs. Off by default: our pipelines run
    /// several small models back to back next to decode/encode threads, and spinning workers steal
    /// those cores (measured on 2 cores: a detector run right after another model's run takes
    /// 59 ms spinning vs 40 ms without, see shared/reference/deep-live-cam.md).
    public var allowSpinning: Bool
    /// Graph rewrites (and float16) applied to the model for the accelerator it runs on, cached on
    /// disk (ModelOptimizer). On the CPU provider nothing is rewritten unless asked.
    public var modelOptimization: ModelOptimizationRequest

    public init(accelerator: Accelerator = .auto, intraOpThreads: Int = 0, interOpThreads: Int = 0,
                optimization: Optimization = .all, cuda: CUDAOptions = CUDAOptions(), tensorRTCacheDirectory: String? = nil,
                allowSpinning: Bool = false, modelOptimization: ModelOptimizationRequest = ModelOptimizationRequest()) {
        self.allowSpinning = allowSpinning
        self.modelOptimization = modelOptimization
        self.accelerator = accelerator
        self.intraOpThreads = intraOpThreads
        self.interOpThreads = interOpThreads
        self.optimization = optimization
        self.cuda = cuda
        self.tensorRTCacheDirectory = tensorRTCacheDirectory
    }

    /// Defaults, with the accelerator taken from `VISAGE_ACCELERATOR` when set.
    public static func fromEnvironment() throws -> SessionConfig {
        SessionConfig(accelerator: try Accelerator.fromEnvironment() ?? .auto)
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

/// One loaded model, ready to run. Thread-safe for concurrent `run` calls (ONNX Runtime's guarantee).
public final class InferenceSession: @unchecked Sendable {
    public let modelPath: String
    public let inputs: [TensorInfo]
    public let outputs: [TensorInfo]
    /// The accelerators this session really runs on, best first.
    public let plan: AcceleratorPlan
    /// What ModelOptimizer did for this session's plan (nil when the plan calls for no rewrite); its
    /// `path` is the file loaded, `modelPath` itself when no rewrite changed anything.
    public let optimizedModel: OptimizedModel?
    private let library: ORTLibrary
    private let session: OpaquePointer
    private static let logger = VisageLog.logger("runtime")

    public convenience init(modelPath: String, config: SessionConfig = SessionConfig()) throws {
        try self.init(modelPath: modelPath, config: config, library: ORTLibrary.shared())
    }

    public init(modelPath: String, config: SessionConfig, library: ORTLibrary) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: modelPath, isDirectory: &isDir) else { throw VisageError.fileNotFound(path: modelPath) }
        guard !isDir.boolValue else { throw VisageError.notAFile(path: modelPath) }
        let size = (try? FileManager.default.attributesOfItem(atPath: modelPath)[.size] as? NSNumber)?.intValue ?? 0
        guard size > 0 else { throw VisageError.emptyFile(path: modelPath) }

        self.library = library
        self.modelPath = modelPath
        var plan = AcceleratorPlan.resolve(requested: config.accelerator, available: library.availableProviders)
        if let fallback = plan.fallback { DecisionLog.once(Self.logger, fallback, level: .warning) }

        var optimized = Self.optimizedCopy(of: modelPath, plan: plan, request: config.modelOptimization)
        var created: OpaquePointer?
        do {
            created = try Self.createSession(library: library, path: optimized?.path ?? modelPath, config: config, accelerators: plan.chosen)
        } catch let error as VisageError where plan.chosen != [.cpu] {
            if case .invalidModel = error { throw error }
            // The provider exists in the build but cannot start here (driver, CUDA libraries, device): run on CPU,
            // with the model's own file (its rewrites were chosen for the provider that failed).
            DecisionLog.once(Self.logger, "\(plan.chosen[0].rawValue) failed to initialise (\(error)); falling back to CPU", level: .warning)
            plan = AcceleratorPlan(requested: plan.requested, chosen: [.cpu], reason: "fallback after \(plan.chosen[0].rawValue) failed", fallback: "\(error)")
            optimized = Self.optimizedCopy(of: modelPath, plan: plan, request: config.modelOptimization)
            created = try Self.createSession(library: library, path: optimized?.path ?? modelPath, config: config, accelerators: [.cpu])
        }
        self.optimizedModel = optimized
        self.session = created!
        self.plan = plan
        self.inputs = try Self.describe(library: library, session: created!, inputs: true)
        self.outputs = try Self.describe(library: library, session: created!, inputs: false)
        DecisionLog.once(Self.logger, "model \(URL(fileURLWithPath: modelPath).lastPathComponent) on \(plan.summary) (\(plan.reason))", level: .debug)
    }

    deinit { library.api.ReleaseSession(session) }

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

    private static func createSession(library: ORTLibrary, path: String, config: SessionConfig, accelerators: [Accelerator]) throws -> OpaquePointer {
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
        for accelerator in accelerators {
            try ProviderSetup.append(accelerator, to: options!, library: library, config: config)
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
        return session!
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
private func typeAndShape(_ api: OrtApi, _ info: OpaquePointer) -> (ONNXTensorElementDataType, [Int]) {
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
