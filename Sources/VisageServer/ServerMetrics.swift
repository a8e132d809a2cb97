import CoreMetrics
import Foundation
import Metrics
import Prometheus
import VisageCore

/// The server's metrics, recorded through swift-metrics into a Prometheus registry of its own (several
/// servers in one process, as in tests, never share counters) and served at `/metrics`:
/// jobs by kind and state, job and stage durations, HTTP request durations, live-session fps, latency
/// and dropped frames, queue depth, resident memory.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let liveDroppedSeen = Locked<[String: Int]>([:])

    static let jobBuckets: [Duration] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600].map { .milliseconds(Int64($0 * 1000)) }

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = ["visage_job_duration_seconds": Self.jobBuckets, "visage_job_stage_seconds": Self.jobBuckets]
        factory.defaultDurationHistogramBuckets = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000].map { .milliseconds($0) }
        self.factory = factory
    }

    /// A job ended: its duration from start to end, by kind and final state.
    public func jobFinished(kind: String, state: JobState, seconds: Double) {
        Metrics.Timer(label: "visage_job_duration_seconds", dimensions: [("kind", kind), ("state", state.rawValue)], factory: factory)
            .recordNanoseconds(Int64(seconds * 1e9))
    }

    /// A job's stage ended ("swap", "au", "analyze", "enhance").
    public func stageFinished(kind: String, stage: String, seconds: Double) {
        Metrics.Timer(label: "visage_job_stage_seconds", dimensions: [("kind", kind), ("stage", stage)], factory: factory)
            .recordNanoseconds(Int64(seconds * 1e9))
    }

    public func request(method: String, status: Int, seconds: Double) {
        Metrics.Timer(label: "visage_http_request_duration_seconds", dimensions: [("method", method), ("status", String(status / 100) + "xx")],
                      factory: factory).recordNanoseconds(Int64(seconds * 1e9))
    }

    /// A live session's stats (about once a second).
    public func live(session: String, fps: Double, latencyMs: Double, dropped: Int) {
        Gauge(label: "visage_live_fps", dimensions: [("session", session)], factory: factory).record(fps)
        Gauge(label: "visage_live_latency_ms", dimensions: [("session", session)], factory: factory).record(latencyMs)
        let delta = liveDroppedSeen.withLock { seen -> Int in
            defer { seen[session] = dropped }
            return max(0, dropped - (seen[session] ?? 0))
        }
        if delta > 0 { Counter(label: "visage_live_dropped_frames_total", factory: factory).increment(by: delta) }
    }

    public func liveEnded(session: String) {
        Gauge(label: "visage_live_fps", dimensions: [("session", session)], factory: factory).record(0)
        liveDroppedSeen.withLock { $0[session] = nil }
    }

    /// The gauges that are read when scraped: jobs per kind and state, queue, sessions, memory, uptime.
    public func refresh(jobs: [(kind: String, state: String, count: Int)], queued: Int, running: Int, liveSessions: Int, uptime: Double) {
        var seen = Set<String>()
        for row in jobs {
            seen.insert(row.kind + "/" + row.state)
            Gauge(label: "visage_jobs", dimensions: [("kind", row.kind), ("state", row.state)], factory: factory).record(Double(row.count))
        }
        for kind in ["swap", "au", "analyze", "enhance"] {
            for state in JobState.allCases where !seen.contains(kind + "/" + state.rawValue) {
                Gauge(label: "visage_jobs", dimensions: [("kind", kind), ("state", state.rawValue)], factory: factory).record(0)
            }
        }
        Gauge(label: "visage_queue_depth", factory: factory).record(Double(queued))
        Gauge(label: "visage_jobs_running", factory: factory).record(Double(running))
        Gauge(label: "visage_live_sessions", factory: factory).record(Double(liveSessions))
        Gauge(label: "visage_resident_memory_bytes", factory: factory).record(Double(Platform.residentBytes))
        Gauge(label: "visage_uptime_seconds", factory: factory).record(uptime)
    }

    /// The Prometheus text exposition.
    public func text() -> [UInt8] { registry.emitToBuffer() }
}
