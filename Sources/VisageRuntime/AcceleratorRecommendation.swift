import Crypto
import Foundation
import VisageCore

/// What `visage diagnose` measured fastest on this machine — accelerator, precision, batch size — which
/// `--accelerator auto` then uses. Saved per machine in the model store
/// (`<store>/.derived/recommendations/<machine>.json`), keyed by what decides speed: CPU, cores, GPUs,
/// ONNX Runtime version and its providers. A recommendation of another machine (or of another ONNX
/// Runtime build) is never used.
public struct AcceleratorRecommendation: Codable, Sendable, Equatable {
    public var accelerator: Accelerator
    /// float16 models on that accelerator (only ever recommended for GPUs: on CPUs it costs casts).
    public var float16: Bool
    /// Most faces per model run for models that take a batch.
    public var batch: Int
    /// One line: what was measured that led here.
    public var reason: String
    public var machine: String
    /// What the key was made of, for people reading the file.
    public var machineDescription: String
    public var measuredAt: String
    /// Where it was read from (not stored).
    public var file: String?

    public init(accelerator: Accelerator, float16: Bool, batch: Int, reason: String, machine: MachineKey = .current(),
                measuredAt: Date = Date()) {
        self.accelerator = accelerator
        self.float16 = float16
        self.batch = batch
        self.reason = reason
        self.machine = machine.key
        self.machineDescription = machine.description
        self.measuredAt = ISO8601DateFormatter().string(from: measuredAt)
    }

    enum CodingKeys: String, CodingKey {
        case accelerator, float16, batch, reason, machine
        case machineDescription = "machine_description", measuredAt = "measured_at"
    }

    /// "cuda, float16, batch 8"
    public var summary: String { "\(accelerator.rawValue), \(float16 ? "float16" : "float32"), batch \(batch)" }

    /// The file of `machine` in `store`.
    public static func url(in store: ModelStore, machine: MachineKey = .current()) -> URL {
        store.derivedDirectory.appendingPathComponent("recommendations/\(machine.key).json")
    }

    /// Writes it atomically to `url(in:)`; returns the path.
    @discardableResult
    public func save(in store: ModelStore) throws -> URL {
        let url = Self.url(in: store, machine: MachineKey(key: machine, description: machineDescription))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: url)
        return url
    }

    /// The saved recommendation of this machine in `store`, nil when there is none (or it does not parse).
    public static func load(from store: ModelStore, machine: MachineKey = .current()) -> AcceleratorRecommendation? {
        let url = url(in: store, machine: machine)
        guard let data = try? Data(contentsOf: url), var value = try? JSONDecoder().decode(Self.self, from: data),
              value.machine == machine.key else { return nil }
        value.file = url.path
        return value
    }

    /// This machine's recommendation in the default model store, read once per process; nil when none was
    /// saved or `VISAGE_IGNORE_RECOMMENDATION=1`.
    public static var saved: AcceleratorRecommendation? { savedOnce }
    private static let savedOnce: AcceleratorRecommendation? = {
        if ["1", "true", "yes"].contains((ProcessInfo.processInfo.environment["VISAGE_IGNORE_RECOMMENDATION"] ?? "").lowercased()) { return nil }
        return load(from: ModelStore())
    }()
}

/// Identifies a machine for saved measurements: a hash of the CPU, its cores, the GPUs, and the ONNX
/// Runtime version with its providers.
public struct MachineKey: Sendable, Equatable {
    public var key: String
    public var description: String

    public init(key: String, description: String) {
        self.key = key
        self.description = description
    }

    public init(cpu: String, cores: Int, gpus: [String], onnxRuntime: String, providers: [String]) {
        description = "\(cpu) (\(cores) cores); GPUs: \(gpus.isEmpty ? "none" : gpus.joined(separator: ", ")); ONNX Runtime \(onnxRuntime) (\(providers.sorted().joined(separator: ", ")))"
        key = SHA256.hash(data: Data(description.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// This machine with the ONNX Runtime that is loaded (or "unavailable").
    public static func current() -> MachineKey {
        let library = try? ORTLibrary.shared()
        return MachineKey(cpu: Platform.cpuModel, cores: Platform.logicalCores, gpus: Platform.gpus,
                          onnxRuntime: library?.version ?? "unavailable", providers: library?.availableProviders ?? [])
    }
}
