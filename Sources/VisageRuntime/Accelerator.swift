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

/// Options of the CUDA provider that matter to us.
public struct CUDAOptions: Sendable, Equatable {
    public enum ConvAlgoSearch: String, Sendable { case exhaustive = "EXHAUSTIVE", heuristic = "HEURISTIC", defaultSearch = "DEFAULT" }
    public var deviceID: Int = 0
    public var convAlgoSearch: ConvAlgoSearch = .exhaustive
    public init(deviceID: Int = 0, convAlgoSearch: ConvAlgoSearch = .exhaustive) {
        self.deviceID = deviceID
        self.convAlgoSearch = convAlgoSearch
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

    public var summary: String {
        (chosen.map(\.rawValue) + (chosen.contains(.cpu) ? [] : ["cpu"])).joined(separator: "+")
    }

    /// Decides from the user's request and what this ONNX Runtime build and machine offer.
    public static func resolve(requested: Accelerator, available: [String], gpus: [String] = Platform.gpus,
                               isApple: Bool = Platform.isAppleSilicon) -> AcceleratorPlan {
        let has = { (a: Accelerator) in a.providerName.map(available.contains) ?? false }
        let shortList = available.map { $0.replacingOccurrences(of: "ExecutionProvider", with: "") }.joined(separator: ", ")
        switch requested {
        case .cpu:
            return AcceleratorPlan(requested: .cpu, chosen: [.cpu], reason: "CPU requested")
        case .auto:
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
}
