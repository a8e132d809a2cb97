import Foundation
import VisageCore

/// Removes uploads and results once they are older than the retention period, and the oldest first
/// while the data directory is over its quota. Files that a queued or running job reads are never
/// removed, whatever their age; job rows stay (their results are marked removed).
public struct Retention: Sendable {
    public let store: JobStore
    public let files: FileStore
    /// Seconds an upload (since last used) or a result (since its job ended) is kept.
    public let keep: Double
    public let quota: Int64?

    public struct Sweep: Sendable, Equatable {
        public var filesRemoved: [String] = []
        public var resultsRemoved: [String] = []
        public var bytesFreed: Int64 = 0
    }

    public init(store: JobStore, files: FileStore, keep: Double, quota: Int64?) {
        self.store = store; self.files = files; self.keep = keep; self.quota = quota
    }

    /// One pass at time `now` (seconds since 1970).
    @discardableResult
    public func sweep(now: Double = Date().timeIntervalSince1970) throws -> Sweep {
        var sweep = Sweep()
        let inUse = try store.filesInUse()
        // Candidates, oldest first: uploads by last use, results by when their job ended.
        enum Item { case file(FileRecord), result(JobRecord) }
        var items: [(time: Double, size: Int64, item: Item)] = []
        for file in try store.files() where !inUse.contains(file.id) {
            items.append((file.lastUsed, file.size, .file(file)))
        }
        for job in try store.finishedWithResults() {
            items.append((job.finishedAt ?? job.createdAt, FileStore.diskSize(files.resultDirectory(job: job.id)), .result(job)))
        }
        items.sort { $0.time < $1.time }
        var total = items.reduce(Int64(0)) { $0 + $1.size }
        for entry in items {
            let expired = now - entry.time > keep
            let overQuota = quota.map { total > $0 } ?? false
            guard expired || overQuota else { continue }
            switch entry.item {
            case .file(let file):
                try? FileManager.default.removeItem(at: files.path(of: file))
                try store.deleteFile(file.id)
                sweep.filesRemoved.append(file.id)
            case .result(let job):
                try? FileManager.default.removeItem(at: files.resultDirectory(job: job.id))
                try store.update(job.id) { $0.resultsRemoved = true }
                sweep.resultsRemoved.append(job.id)
            }
            total -= entry.size
            sweep.bytesFreed += entry.size
        }
        return sweep
    }
}
