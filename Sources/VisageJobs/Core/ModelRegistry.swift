import Foundation
import VisageCore
import VisageRuntime

/// Loaded models shared by every job of a process (the command's one job, the server's many jobs and live
/// sessions): loaded once per key (model + what changes the session: accelerator, threads, detector input
/// size) and handed out to whoever asks. Only objects that are safe to use from several threads at once
/// go in here (detectors, landmark and embedding models, the swap networks, the AU and CLNF models);
/// per-stream state (tracking, AU recorders, CLNF fitters) is made fresh for each job.
public final class ModelRegistry: @unchecked Sendable {
    private let entries = Locked<[String: AnyObject]>([:])
    /// Serialises loading so two jobs asking for one model at once load it once.
    private let loading = NSLock()

    public init() {}

    /// The object stored under `key`, made by `load` the first time.
    public func shared<T: AnyObject>(_ key: String, load: () throws -> T) throws -> T {
        if let found = entries.withLock({ $0[key] }) as? T { return found }
        loading.lock()
        defer { loading.unlock() }
        if let found = entries.withLock({ $0[key] }) as? T { return found }
        let made = try load()
        entries.withLock { $0[key] = made }
        return made
    }

    /// A value (not an object) stored under `key`, made by `load` the first time.
    public func sharedValue<T>(_ key: String, load: () throws -> T) throws -> T {
        try shared(key) { ValueBox(try load()) }.value
    }

    /// How many models are loaded (for /health and tests).
    public var count: Int { entries.withLock { $0.count } }

    /// Drops everything (models are freed when the last job using them ends).
    public func removeAll() { entries.withLock { $0.removeAll() } }

    /// The part of a key that says how a session was built.
    public static func sessionKey(_ config: SessionConfig) -> String {
        "\(config.accelerator.rawValue)/t\(config.intraOpThreads)/i\(config.interOpThreads)"
            + "/io\(config.ioBinding ? 1 : 0)/g\(config.cuda.cudaGraph ? 1 : 0)/f16-\(config.modelOptimization.float16.rawValue)/b\(config.maxBatch ?? 0)"
    }
}

private final class ValueBox<T> {
    let value: T
    init(_ value: T) { self.value = value }
}
