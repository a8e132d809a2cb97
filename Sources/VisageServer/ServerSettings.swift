import Foundation
import VisageCore
import VisageJobs
import VisageLive
import VisageRuntime

/// The performance mode the server runs in, changed at run time (`PUT /v1/settings`) and kept in the
/// database across restarts. New jobs and new live sessions follow it:
/// - live sessions take the mode's row (frame size, target fps, detection interval, detector size,
///   enhancer, accelerator allowed) as `visage live --mode` does;
/// - other jobs keep their results (options decide those) and take the mode's resources: battery runs
///   them on the CPU with one thread per model; the other modes allow the accelerator and give each
///   job the machine's cores shared by the jobs that run at once.
public final class ServerSettings: Sendable {
    private let current: Locked<LiveModeName>
    private let store: JobStore
    private let base: SessionConfig
    private let maxJobs: Int

    init(store: JobStore, start: LiveModeName?, base: SessionConfig, maxJobs: Int) throws {
        self.store = store
        self.base = base
        self.maxJobs = maxJobs
        let stored = try store.setting("mode").flatMap(LiveModeName.init(rawValue:))
        let mode = start ?? stored ?? .balanced
        current = Locked(mode)
        try store.setSetting("mode", mode.rawValue)
    }

    public var mode: LiveModeName { current.value }

    public func setMode(_ mode: LiveModeName) throws {
        try store.setSetting("mode", mode.rawValue)
        current.set(mode)
    }

    /// The session settings a new (non-live) job runs with under the current mode.
    public var jobSession: SessionConfig { Self.jobSession(base: base, mode: mode.mode, maxJobs: maxJobs) }

    /// Live sessions start from this and `LiveJob` applies the mode's own rules.
    public var liveSession: SessionConfig { base }

    static func jobSession(base: SessionConfig, mode: LiveMode, maxJobs: Int) -> SessionConfig {
        var config = base
        if !mode.acceleratorAllowed { config.accelerator = .cpu }
        if config.intraOpThreads == 0 {
            // One job: every core (as the command line runs). Several: the cores shared between them.
            config.intraOpThreads = mode.threads > 0 ? mode.threads : maxJobs == 1 ? 0 : max(1, Platform.logicalCores / maxJobs)
        }
        return config
    }
}
