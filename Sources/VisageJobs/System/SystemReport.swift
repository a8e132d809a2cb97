import Foundation
import VisageCLNF
import VisageCore
import VisageMedia
import VisageRuntime

/// The machine, accelerators, libraries, encoders, cameras and models — what `visage doctor` prints and the
/// server's `/health` reports.
public struct SystemReport: Codable, Sendable {
    public var visage = VisageVersion.string
    public var os = Platform.osDescription
    public var arch = Platform.architecture
    public var cpu: CPU
    public var memoryBytes = Platform.physicalMemoryBytes
    public var gpus = Platform.gpus
    public var opencv = OpenCV()
    public var onnxruntime: ONNXRuntime
    public var ffmpeg: FFmpegInfo
    public var cameras: [String]
    public var modelStore: Store
    public var models: [Model]

    public struct CPU: Codable, Sendable {
        public var model = Platform.cpuModel
        public var logicalCores = Platform.logicalCores
        /// Which CLNF patch-response loops run (AVX or portable, and why).
        public var clnfKernels = CLNFKernels.summary
        enum CodingKeys: String, CodingKey { case model, logicalCores = "logical_cores", clnfKernels = "clnf_kernels" }
    }

    public struct OpenCV: Codable, Sendable {
        public var version = OpenCVInfo.version
        public var threads = OpenCVInfo.threads
    }

    public struct ONNXRuntime: Codable, Sendable {
        public var searchOrder: [String]
        public var available: Bool
        public var library: String?
        public var version: String?
        public var apiVersion: Int?
        public var providersAvailable: [String]?
        public var accelerator: Decision?
        public var error: String?

        public struct Decision: Codable, Sendable {
            public var requested: String
            public var chosen: [String]
            public var reason: String
            public var fallback: String?
        }

        enum CodingKeys: String, CodingKey {
            case available, library, version, accelerator, error
            case searchOrder = "search_order", apiVersion = "api_version", providersAvailable = "providers_available"
        }
    }

    public struct Store: Codable, Sendable {
        public var directory: String
        public var mirror: String?

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(directory, forKey: .directory)
            try c.encode(mirror, forKey: .mirror)   // null when unset
        }
    }

    public struct Model: Codable, Sendable {
        public var id: String
        public var task: String
        public var installed: Bool
        /// Re-hashed now (small models, or all with `verify`); nil when not checked.
        public var verified: Bool?
    }

    enum CodingKeys: String, CodingKey {
        case visage, os, arch, cpu, gpus, opencv, onnxruntime, ffmpeg, cameras, models
        case memoryBytes = "memory_bytes", modelStore = "model_store"
    }

    /// Collects the report. `verifyModels`: re-hash every installed model (large ones are skipped otherwise).
    public static func collect(store: ModelStore, session: SessionConfig, verifyModels: Bool = false) -> SystemReport {
        var ort = ONNXRuntime(searchOrder: ORTLibrary.candidatePaths().map { "\($0.path) (\($0.origin))" }, available: false)
        do {
            let library = try ORTLibrary.shared()
            let plan = AcceleratorPlan.resolve(requested: session.accelerator, available: library.availableProviders)
            if let fallback = plan.fallback { DecisionLog.once(VisageLog.logger("runtime"), fallback, level: .warning) }
            ort.available = true
            ort.library = library.path
            ort.version = library.version
            ort.apiVersion = Int(library.apiVersion)
            ort.providersAvailable = library.availableProviders
            ort.accelerator = .init(requested: plan.requested.rawValue, chosen: plan.chosen.map(\.rawValue), reason: plan.reason, fallback: plan.fallback)
        } catch {
            ort.error = "\(error)"
        }
        let models = ModelCatalog.all.map { entry -> Model in
            let installed = store.isInstalled(entry)
            var verified: Bool?
            if installed && (verifyModels || entry.totalSize < 50_000_000) { verified = store.verify(entry).allSatisfy { $0.status == .ok } }
            return Model(id: entry.id, task: entry.task.rawValue, installed: installed, verified: verified)
        }
        let cameras = (Platform.captureDevices() ?? []).map(\.path)
        return SystemReport(cpu: CPU(), onnxruntime: ort, ffmpeg: FFmpegInfo.probe(), cameras: cameras,
                            modelStore: Store(directory: store.root.path, mirror: store.mirror?.path), models: models)
    }
}
