import Foundation
import Logging
import VisageCore
import VisageRuntime

/// Where a job is with its work: stage, frames (or items) done of how many, and the rate.
public struct JobProgress: Sendable, Codable, Equatable {
    /// What is being done ("swap", "au", "analyze", a video's name in a folder run).
    public var stage: String
    public var done: Int
    /// nil when unknown (a camera, a stream).
    public var total: Int?
    /// Frames (or items) per second so far.
    public var fps: Double
    /// Seconds since the stage started.
    public var elapsed: Double
    /// True on the stage's last event (then `done` is the real count and `total == done`).
    public var finished: Bool

    public init(stage: String, done: Int, total: Int?, fps: Double, elapsed: Double, finished: Bool) {
        self.stage = stage; self.done = done; self.total = total; self.fps = fps; self.elapsed = elapsed; self.finished = finished
    }

    /// Seconds left at the current rate, when the total is known.
    public var eta: Double? {
        guard let total, fps > 0, !finished else { return nil }
        return Double(max(0, total - done)) / fps
    }
}

/// Receives progress events. Called on the job's thread, once per frame: a sink that draws or sends
/// throttles itself.
public typealias ProgressSink = @Sendable (JobProgress) -> Void

/// What a job runs with: the models (store and the loaded-model registry), the session settings
/// (accelerator, threads), its own cancellation token, where progress goes, and a logger. The command
/// line makes one per command; the server one per job.
public struct JobContext: Sendable {
    public var store: ModelStore
    public var session: SessionConfig
    public var models: ModelRegistry
    public var cancellation: CancellationToken
    public var progress: ProgressSink
    public var logger: Logger

    public init(store: ModelStore = ModelStore(), session: SessionConfig = SessionConfig(), models: ModelRegistry = ModelRegistry(),
                cancellation: CancellationToken = CancellationToken(), progress: @escaping ProgressSink = { _ in },
                logger: Logger = VisageLog.logger("jobs")) {
        self.store = store
        self.session = session
        self.models = models
        self.cancellation = cancellation
        self.progress = progress
        self.logger = logger
    }
}

/// Counts a stage's frames and turns them into progress events.
public final class ProgressMeter {
    private let stage: String
    private let total: Int?
    private let sink: ProgressSink
    private let start = DispatchTime.now().uptimeNanoseconds
    public private(set) var done = 0

    public init(stage: String, total: Int?, sink: @escaping ProgressSink) {
        self.stage = stage
        self.total = total.flatMap { $0 > 0 ? $0 : nil }
        self.sink = sink
    }

    public var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// One more frame (or item) done.
    public func advance(by count: Int = 1) {
        done += count
        let seconds = elapsed
        // A container's frame count is an estimate: never report more done than the total.
        let shownTotal = total.map { max($0, done) }
        sink(JobProgress(stage: stage, done: done, total: shownTotal, fps: Double(done) / max(seconds, 1e-6), elapsed: seconds, finished: false))
    }

    /// The last event: the real count, which is then also the total.
    public func finish() {
        let seconds = elapsed
        sink(JobProgress(stage: stage, done: done, total: done, fps: Double(done) / max(seconds, 1e-6), elapsed: seconds, finished: true))
    }
}
