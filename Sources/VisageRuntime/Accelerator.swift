// Accelerator routing: the only platform seam of the runtime. Maps the user's choice to ONNX
// Runtime execution providers, explains the decision, and falls back to CPU when needed.
import Foundation
import VisageCore

/// What the user asks for (`--accelerator`, `VISAGE_ACCELERATOR`).
public enum Accelerator: String, CaseIterable, Sendable, Codable {
    case auto, cpu, cuda, tensorrt, coreml

    /// ONNX Runtime's provider name for this accelerator (nil for auto).
    public var providerName: String? {
        switch self {
        case .auto: return nil
        case .cpu: return "CPUExecutionProvider"
        case .cuda: return "CUDAExecutionProvider"
        case .tensorrt: return "TensorrtExecutionProvider"
        case .coreml: return "CoreMLExecutionProvider"
        }
    }

    /// `VISAGE_ACCELERATOR`, or nil when unset. Throws on an unknown value.
    public static func fromEnvironment() throws -> Accelerator? {
        guard let raw = ProcessInfo.processInfo.environment["VISAGE_ACCELERATOR"], !raw.isEmpty else { return nil }
        guard let value = Accelerator(rawValue: raw.lowercased()) else {
            throw VisageError.invalidArgument("VISAGE_ACCELERATOR=\(raw) is not one of \(allCases.map(\.rawValue).joined(separator: "|"))")
        }
        return value
    }
}

/// Options of the CUDA provider that matter to us (turned into provider options by `ProviderOptions.cuda`).
public struct CUDAOptions: Sendable, Equatable {
    public enum ConvAlgoSearch: String, Sendable, Codable { case exhaustive = "EXHAUSTIVE", heuristic = "HEURISTIC", defaultSearch = "DEFAULT" }
    public var deviceID: Int = 0
    /// EXHAUSTIVE benchmarks every cuDNN algorithm for each conv shape on the first run (seconds, once) and
    /// then runs the fastest: right for videos and servers, our long runs. HEURISTIC starts faster
    /// (`VISAGE_CUDNN_CONV_ALGO_SEARCH=heuristic` for one-image commands).
    public var convAlgoSearch: ConvAlgoSearch = .exhaustive
    /// Capture the model's kernels once as a CUDA graph and replay it (fewer launches). Used only when the
    /// session's inputs have static shapes and it runs with IO binding (the graph replays fixed device
    /// addresses); otherwise the session says why it is off.
    public var cudaGraph: Bool = true
    /// Copies on the compute stream (ONNX Runtime's recommended setting; off races).
    public var copyInDefaultStream: Bool = true
    /// Limit of the provider's device arena in bytes; nil: no limit.
    public var memoryLimitBytes: Int?

    public init(deviceID: Int = 0, convAlgoSearch: ConvAlgoSearch = .exhaustive, cudaGraph: Bool = true,
                copyInDefaultStream: Bool = true, memoryLimitBytes: Int? = nil) {
        self.deviceID = deviceID
        self.convAlgoSearch = convAlgoSearch
        self.cudaGraph = cudaGraph
        self.copyInDefaultStream = copyInDefaultStream
        self.memoryLimitBytes = memoryLimitBytes
    }
}

/// Options of the TensorRT provider (turned into provider options by `ProviderOptions.tensorRT`).
public struct TensorRTOptions: Sendable, Equatable {
    /// Let TensorRT choose float16 kernels where they are faster (its own per-layer choice).
    public var fp16: Bool = true
    /// Where built engines are kept (building one takes minutes; reused across runs). Nil: the model
    /// store's `.derived/tensorrt`.
    public var engineCacheDirectory: String?
    /// Where TensorRT's timing cache is kept (speeds up building engines for new shapes). Nil: as the engines.
    public var timingCacheDirectory: String?
    /// Scratch memory TensorRT may use while building and running engines.
    public var maxWorkspaceBytes: Int = 4 << 30
    /// TensorRT's own CUDA graph (same conditions as `CUDAOptions.cudaGraph`).
    public var cudaGraph: Bool = true

    public init(fp16: Bool = true, engineCacheDirectory: String? = nil, timingCacheDirectory: String? = nil,
                maxWorkspaceBytes: Int = 4 << 30, cudaGraph: Bool = true) {
        self.fp16 = fp16
        self.engineCacheDirectory = engineCacheDirectory
        self.timingCacheDirectory = timingCacheDirectory
        self.maxWorkspaceBytes = maxWorkspaceBytes
        self.cudaGraph = cudaGraph
    }
}

/// The providers a session will be given, in priority order, and why.
public struct AcceleratorPlan: Sendable, Equatable {
    public var requested: Accelerator
    /// Accelerators to append, best first; CPU is always implied last.
    public var chosen: [Accelerator]
    public var reason: String
    /// Set when the request could not be honoured: one line for the log.
    public var fallback: String?
    /// The saved `visage diagnose` recommendation this plan follows (`auto` only).
    public var recommendation: AcceleratorRecommendation?

    public init(requested: Accelerator, chosen: [Accelerator], reason: String, fallback: String? = nil,
                recommendation: AcceleratorRecommendation? = nil) {
        self.requested = requested
        self.chosen = chosen
        self.reason = reason
        self.fallback = fallback
        self.recommendation = recommendation
    }

    public var summary: String {
        (chosen.map(\.rawValue) + (chosen.contains(.cpu) ? [] : ["cpu"])).joined(separator: "+")
    }

    /// The first accelerator the session is given (CPU when nothing else).
    public var primary: Accelerator { chosen.first ?? .cpu }

    /// The plan once the first provider failed to start: the next one in the chain (TensorRT → CUDA → CPU),
    /// with `failure` as the reason.
    public func withoutFirst(because failure: String) -> AcceleratorPlan {
        let rest = Array(chosen.dropFirst())
        let next = rest.isEmpty || rest == [.cpu] ? [Accelerator.cpu] : rest
        return AcceleratorPlan(requested: requested, chosen: next, reason: "fallback after \(primary.rawValue) failed",
                               fallback: failure, recommendation: recommendation)
    }

    /// Decides from the user's request, what this ONNX Runtime build and machine offer and, for `auto`, the
    /// `visage diagnose` recommendation saved for this machine.
    public static func resolve(requested: Accelerator, available: [String], gpus: [String] = Platform.gpus,
                               isApple: Bool = Platform.isAppleSilicon,
                               recommendation: AcceleratorRecommendation? = AcceleratorRecommendation.saved) -> AcceleratorPlan {
        let has = { (a: Accelerator) in a.providerName.map(available.contains) ?? false }
        let shortList = available.map { $0.replacingOccurrences(of: "ExecutionProvider", with: "") }.joined(separator: ", ")
        switch requested {
        case .cpu:
            return AcceleratorPlan(requested: .cpu, chosen: [.cpu], reason: "CPU requested")
        case .auto:
            let plan = automatic(has: has, shortList: shortList, gpus: gpus, isApple: isApple)
            guard let recommendation else { return plan }
            return following(recommendation, instead: plan, has: has, gpus: gpus, isApple: isApple)
        case .cuda, .tensorrt, .coreml:
            guard has(requested) else {
                let hint: String
                switch requested {
                case .coreml: hint = "CoreML exists only on Apple platforms"
                default: hint = "install the GPU build with scripts/setup.sh --gpu on a machine with an NVIDIA GPU"
                }
                return AcceleratorPlan(requested: requested, chosen: [.cpu],
                                       reason: "\(requested.rawValue) unavailable, using CPU",
                                       fallback: "\(requested.rawValue) requested but this ONNX Runtime build has no \(requested.providerName!) (available: \(shortList)); falling back to CPU. \(hint)")
            }
            if requested == .tensorrt {
                let chain: [Accelerator] = has(.cuda) ? [.tensorrt, .cuda, .cpu] : [.tensorrt, .cpu]
                return AcceleratorPlan(requested: .tensorrt, chosen: chain, reason: "TensorRT requested; CUDA and CPU take the nodes it cannot")
            }
            return AcceleratorPlan(requested: requested, chosen: [requested, .cpu], reason: "\(requested.rawValue) requested")
        }
    }

    /// `auto` without a recommendation: CoreML on Apple Silicon, CUDA with an NVIDIA GPU, else CPU.
    private static func automatic(has: (Accelerator) -> Bool, shortList: String, gpus: [String], isApple: Bool) -> AcceleratorPlan {
        if isApple, has(.coreml) {
            return AcceleratorPlan(requested: .auto, chosen: [.coreml, .cpu], reason: "Apple Silicon: CoreML (MLProgram, all compute units) with CPU for unsupported nodes")
        }
        if has(.cuda), !gpus.isEmpty {
            return AcceleratorPlan(requested: .auto, chosen: [.cuda, .cpu], reason: "NVIDIA GPU found (\(gpus[0])) and this ONNX Runtime has CUDA")
        }
        if has(.cuda) {
            return AcceleratorPlan(requested: .auto, chosen: [.cpu], reason: "this ONNX Runtime has CUDA but no NVIDIA GPU is visible")
        }
        let why = gpus.isEmpty ? "no GPU provider in this ONNX Runtime build (available: \(shortList))"
            : "GPU found (\(gpus[0])) but this ONNX Runtime build has no GPU provider (available: \(shortList)); run scripts/setup.sh --gpu"
        return AcceleratorPlan(requested: .auto, chosen: [.cpu], reason: why)
    }

    /// `auto` with this machine's saved recommendation: its accelerator when it is still there (the reason
    /// says so and where the recommendation is saved), else the automatic plan with a note why not.
    private static func following(_ r: AcceleratorRecommendation, instead plan: AcceleratorPlan, has: (Accelerator) -> Bool,
                                  gpus: [String], isApple: Bool) -> AcceleratorPlan {
        let source = "`visage diagnose` measured \(r.summary) fastest here\(r.file.map { " (saved in \($0))" } ?? "")"
        let usable: Bool
        let chain: [Accelerator]
        switch r.accelerator {
        case .cpu, .auto: usable = true; chain = [.cpu]
        case .cuda: usable = has(.cuda) && !gpus.isEmpty; chain = [.cuda, .cpu]
        case .tensorrt: usable = has(.tensorrt) && !gpus.isEmpty; chain = has(.cuda) ? [.tensorrt, .cuda, .cpu] : [.tensorrt, .cpu]
        case .coreml: usable = has(.coreml) && isApple; chain = [.coreml, .cpu]
        }
        guard usable else {
            var kept = plan
            kept.reason += "; not following the saved recommendation (\(r.accelerator.rawValue) is not available now)"
            return kept
        }
        let reason = chain == plan.chosen ? "\(plan.reason); \(source)" : source
        return AcceleratorPlan(requested: .auto, chosen: chain, reason: reason, recommendation: r)
    }
}
