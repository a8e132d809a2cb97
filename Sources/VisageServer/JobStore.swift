import Foundation
import GRDB
import VisageCore
import VisageJobs

/// Where a job is in its life.
public enum JobState: String, Codable, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled
    public var isFinal: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// A job as the store keeps it: the request as submitted (it is decoded again when the job runs, so a
/// restart needs nothing but this row), where it is, and what it made.
public struct JobRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "job"
    public var id: String
    /// Submission order (fairness and listing).
    public var seq: Int64
    public var kind: String
    /// The client (token name) that submitted it.
    public var client: String
    public var state: JobState
    /// The `JobRequest` as JSON.
    public var request: String
    /// Ids of the uploaded files it reads (JSON array): retention never removes these while it waits.
    public var inputs: String
    public var progress: String?
    public var error: String?
    /// The job's result, as `--json` prints it.
    public var result: String?
    /// Names of the files it wrote (JSON array), downloadable from /v1/jobs/{id}/results/{name}.
    public var outputs: String?
    /// How many times a worker started it (a restart re-queues a running job once).
    public var attempts: Int
    /// Something the server did to the job that its client should know (re-queued after a restart).
    public var note: String?
    public var createdAt: Double
    public var startedAt: Double?
    public var finishedAt: Double?
    /// Retention removed its result files.
    public var resultsRemoved: Bool

    enum CodingKeys: String, CodingKey {
        case id, seq, kind, client, state, request, inputs, progress, error, result, outputs, attempts, note
        case createdAt = "created_at", startedAt = "started_at", finishedAt = "finished_at", resultsRemoved = "results_removed"
    }

    public var inputIDs: [String] { (try? JSONDecoder().decode([String].self, from: Data(inputs.utf8))) ?? [] }
    public var outputNames: [String] { outputs.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? [] }
}

/// An uploaded file as the store keeps it. The bytes are at files/<id>.<ext>; `name` is the client's
/// file name, kept as metadata only (never part of a path).
public struct FileRecord: Codable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "file"
    /// sha256 of the content, hex.
    public var id: String
    public var kind: String
    public var ext: String
    public var size: Int64
    public var name: String
    public var format: String
    public var width: Int
    public var height: Int
    public var createdAt: Double
    public var lastUsed: Double

    enum CodingKeys: String, CodingKey {
        case id, kind, ext, size, name, format, width, height
        case createdAt = "created_at", lastUsed = "last_used"
    }
}

/// The server's database: jobs, uploaded files and settings in SQLite (WAL, through GRDB's pool: readers
/// never wait for the writer). The schema has a version and migrations; opening applies the missing ones.
public final class JobStore: Sendable {
    public let pool: DatabasePool
    public static let schemaVersion = 1

    public init(path: URL) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        do {
            pool = try DatabasePool(path: path.path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch let error as DatabaseError {
            throw VisageError.unreadable(path: path.path, reason: "the job database cannot be opened: \(error.message ?? "\(error)")")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "job") { t in
                t.primaryKey("id", .text)
                t.column("seq", .integer).notNull().unique()
                t.column("kind", .text).notNull()
                t.column("client", .text).notNull()
                t.column("state", .text).notNull()
                t.column("request", .text).notNull()
                t.column("inputs", .text).notNull()
                t.column("progress", .text)
                t.column("error", .text)
                t.column("result", .text)
                t.column("outputs", .text)
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("note", .text)
                t.column("created_at", .double).notNull()
                t.column("started_at", .double)
                t.column("finished_at", .double)
                t.column("results_removed", .boolean).notNull().defaults(to: false)
            }
            try db.create(index: "job_state_seq", on: "job", columns: ["state", "seq"])
            try db.create(table: "file") { t in
                t.primaryKey("id", .text)
                t.column("kind", .text).notNull()
                t.column("ext", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("format", .text).notNull()
                t.column("width", .integer).notNull()
                t.column("height", .integer).notNull()
                t.column("created_at", .double).notNull()
                t.column("last_used", .double).notNull()
            }
            try db.create(table: "setting") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
            try db.execute(sql: "PRAGMA user_version = 1")
        }
        return migrator
    }

    // MARK: jobs

    /// Adds a queued job; its `seq` is the next number.
    public func insert(_ job: JobRecord) throws -> JobRecord {
        try pool.write { db in
            var job = job
            job.seq = (try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) + 1 FROM job")) ?? 1
            try job.insert(db)
            return job
        }
    }

    public func job(_ id: String) throws -> JobRecord? { try pool.read { try JobRecord.fetchOne($0, key: id) } }

    /// Newest first; `state` filters.
    public func jobs(state: JobState?, limit: Int, offset: Int) throws -> (jobs: [JobRecord], total: Int) {
        try pool.read { db in
            var request = JobRecord.all()
            if let state { request = request.filter(Column("state") == state.rawValue) }
            let total = try request.fetchCount(db)
            return (try request.order(Column("seq").desc).limit(limit, offset: offset).fetchAll(db), total)
        }
    }

    /// Queued jobs in submission order (the scheduler's queue after a restart).
    public func queued() throws -> [JobRecord] {
        try pool.read { try JobRecord.filter(Column("state") == JobState.queued.rawValue).order(Column("seq")).fetchAll($0) }
    }

    /// queued → running (attempts + 1); nil when the job is no longer queued (cancelled meanwhile).
    public func start(_ id: String, at time: Double) throws -> JobRecord? {
        try pool.write { db in
            guard var job = try JobRecord.fetchOne(db, key: id), job.state == .queued else { return nil }
            job.state = .running
            job.attempts += 1
            job.startedAt = time
            job.progress = nil
            try job.update(db)
            return job
        }
    }

    /// Applies `change` to the job (nil when it does not exist).
    @discardableResult
    public func update(_ id: String, _ change: (inout JobRecord) -> Void) throws -> JobRecord? {
        try pool.write { db in
            guard var job = try JobRecord.fetchOne(db, key: id) else { return nil }
            change(&job)
            try job.update(db)
            return job
        }
    }

    /// After a process ended while jobs ran: a running job goes back to the queue once; one that was
    /// already re-queued fails with the reason. Nothing is left "running". Returns (re-queued, failed).
    public func recoverAfterRestart(now: Double) throws -> (requeued: [String], failed: [String]) {
        try pool.write { db in
            var requeued: [String] = [], failed: [String] = []
            for var job in try JobRecord.filter(Column("state") == JobState.running.rawValue).fetchAll(db) {
                if job.attempts < 2 {
                    job.state = .queued
                    job.note = "re-queued: the server stopped while this job was running"
                    job.startedAt = nil
                    requeued.append(job.id)
                } else {
                    job.state = .failed
                    job.error = "the server stopped while this job was running, for the second time; it was not started again (it may be too large for this machine, or crash the server: check the server's log)"
                    job.finishedAt = now
                    failed.append(job.id)
                }
                job.progress = nil
                try job.update(db)
            }
            return (requeued, failed)
        }
    }

    /// Jobs per (kind, state), for /metrics.
    public func counts() throws -> [(kind: String, state: String, count: Int)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT kind, state, COUNT(*) AS n FROM job GROUP BY kind, state").map { ($0["kind"], $0["state"], $0["n"]) }
        }
    }

    public func count(state: JobState) throws -> Int {
        try pool.read { try JobRecord.filter(Column("state") == state.rawValue).fetchCount($0) }
    }

    // MARK: files

    public func file(_ id: String) throws -> FileRecord? { try pool.read { try FileRecord.fetchOne($0, key: id) } }

    public func save(_ file: FileRecord) throws { try pool.write { try file.save($0) } }

    public func touch(_ id: String, at time: Double) throws {
        try pool.write { try $0.execute(sql: "UPDATE file SET last_used = ? WHERE id = ?", arguments: [time, id]) }
    }

    public func files() throws -> [FileRecord] { try pool.read { try FileRecord.order(Column("last_used")).fetchAll($0) } }

    public func deleteFile(_ id: String) throws { _ = try pool.write { try FileRecord.deleteOne($0, key: id) } }

    /// Ids of files that queued or running jobs read: retention keeps these whatever their age.
    public func filesInUse() throws -> Set<String> {
        try pool.read { db in
            let rows = try String.fetchAll(db, sql: "SELECT inputs FROM job WHERE state IN ('queued', 'running')")
            return Set(rows.flatMap { (try? JSONDecoder().decode([String].self, from: Data($0.utf8))) ?? [] })
        }
    }

    /// Removes a finished job's record (its results are the caller's to remove); false when the job is
    /// not finished (a queued or running job is cancelled, never removed).
    public func deleteFinished(_ id: String) throws -> Bool {
        try pool.write { db in
            guard let job = try JobRecord.fetchOne(db, key: id), job.state.isFinal else { return false }
            return try JobRecord.deleteOne(db, key: id)
        }
    }

    /// Finished jobs whose results are still on disk, oldest first.
    public func finishedWithResults() throws -> [JobRecord] {
        try pool.read { db in
            try JobRecord.filter(Column("results_removed") == false && Column("finished_at") != nil)
                .filter([JobState.succeeded.rawValue, JobState.failed.rawValue, JobState.cancelled.rawValue].contains(Column("state")))
                .order(Column("finished_at")).fetchAll(db)
        }
    }

    // MARK: settings

    public func setting(_ key: String) throws -> String? {
        try pool.read { try String.fetchOne($0, sql: "SELECT value FROM setting WHERE key = ?", arguments: [key]) }
    }

    public func setSetting(_ key: String, _ value: String) throws {
        try pool.write { try $0.execute(sql: "INSERT INTO setting(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", arguments: [key, value]) }
    }
}
