import Foundation
import VisageJobs

/// A job as the API shows it (`GET /v1/jobs/{id}`, the list, the `state` events).
public struct JobStatus: Encodable, Sendable {
    public struct Output: Encodable, Sendable {
        public var name: String
        public var size: Int64
        public var url: String
    }

    public struct Timings: Encodable, Sendable {
        /// Seconds from submission to start (to now while queued).
        public var queuedSeconds: Double
        /// Seconds running (to now while running).
        public var runSeconds: Double?
        enum CodingKeys: String, CodingKey { case queuedSeconds = "queued_s", runSeconds = "run_s" }
    }

    public var id: String
    public var kind: String
    public var state: JobState
    public var client: String
    public var createdAt: String
    public var startedAt: String?
    public var finishedAt: String?
    public var timings: Timings
    public var attempts: Int
    /// 1-based place in the serving order while queued.
    public var position: Int?
    public var progress: JSONValue?
    public var error: String?
    public var note: String?
    public var inputs: [String: String]
    public var options: [String: JSONValue]
    /// The job's result as `--json` prints it (succeeded jobs).
    public var result: JSONValue?
    public var outputs: [Output]
    public var resultsRemoved: Bool

    enum CodingKeys: String, CodingKey {
        case id, kind, state, client, timings, attempts, position, progress, error, note, inputs, options, result, outputs
        case createdAt = "created_at", startedAt = "started_at", finishedAt = "finished_at", resultsRemoved = "results_removed"
    }

    public init(_ record: JobRecord, files: FileStore, position: Int?) {
        id = record.id
        kind = record.kind
        state = record.state
        client = record.client
        createdAt = Self.time(record.createdAt)
        startedAt = record.startedAt.map(Self.time)
        finishedAt = record.finishedAt.map(Self.time)
        let now = Date().timeIntervalSince1970
        timings = Timings(queuedSeconds: Self.round((record.startedAt ?? (record.state == .queued ? now : record.finishedAt ?? now)) - record.createdAt),
                          runSeconds: record.startedAt.map { Self.round((record.finishedAt ?? now) - $0) })
        attempts = record.attempts
        self.position = position
        progress = record.progress.flatMap { try? JSONValue(json: Data($0.utf8)) }
        error = record.error
        note = record.note
        let request = try? JSONDecoder().decode(JobRequest.self, from: Data(record.request.utf8))
        inputs = request?.inputs ?? [:]
        options = request?.options ?? [:]
        result = record.result.flatMap { try? JSONValue(json: Data($0.utf8)) }
        resultsRemoved = record.resultsRemoved
        let directory = files.resultDirectory(job: record.id)
        outputs = record.resultsRemoved ? [] : record.outputNames.map { name in
            Output(name: name, size: FileStore.diskSize(directory.appendingPathComponent(name)), url: "/v1/jobs/\(record.id)/results/\(name)")
        }
    }

    static func time(_ t: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: t))
    }

    static func round(_ v: Double) -> Double { (max(0, v) * 1000).rounded() / 1000 }
}
