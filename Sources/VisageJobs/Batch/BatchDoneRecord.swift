import Foundation
import VisageCore
import VisageRuntime

/// What a finished item leaves beside its output (`OUTPUT.done`): the inputs' sha256, the item's options and
/// the Visage version that made it. An item whose outputs exist with a matching record is skipped; anything
/// else about it changed (an input, an option, the version) runs it again.
public struct BatchDoneRecord: Codable, Sendable, Equatable {
    /// A file as it was when the record was written.
    public struct FileStamp: Codable, Sendable, Equatable {
        public var path: String
        public var size: Int64
        /// Modification time (seconds since 1970): lets a resume trust the recorded sha256 of an input that
        /// has not been touched instead of reading it again.
        public var modified: Double
        public var sha256: String?
    }

    public var visage: String
    public var kind: String
    /// The item's canonical options (`BatchItem.canonicalOptions`).
    public var options: String
    public var inputs: [FileStamp]
    public var outputs: [FileStamp]
    public var frames: Int
    public var seconds: Double
    public var finished: String

    /// Where the record of `output` lives.
    public static func path(for output: String) -> String { output + ".done" }

    /// Why `item` must run again, or nil when its record says it is done with these inputs and options.
    /// `hashes` is reused across items (a swap's source photo is hashed once per process).
    static func staleReason(item: BatchItem, resolved: any BatchItemJob, hashes: FileHashCache) -> String? {
        guard let primary = resolved.batchOutputs.first else { return "it has no output" }
        let recordPath = path(for: primary)
        guard FileManager.default.fileExists(atPath: recordPath) else { return "no .done record" }
        guard let data = FileManager.default.contents(atPath: recordPath),
              let record = try? JSONDecoder().decode(BatchDoneRecord.self, from: data) else { return "its .done record is unreadable" }
        if record.visage != VisageVersion.string { return "made by Visage \(record.visage), this is \(VisageVersion.string)" }
        guard record.kind == item.kind, let options = try? item.canonicalOptions(), record.options == options else { return "its options changed" }
        // Paths are compared as the manifest writes them (a moved data set with its manifest stays done).
        guard record.outputs.map(\.path) == item.job.batchOutputs else { return "its outputs changed" }
        for (stamp, path) in zip(record.outputs, resolved.batchOutputs) {
            guard let now = FileHashCache.stat(path) else { return "\(path) is missing" }
            if now.size != stamp.size { return "\(path) changed since it was written" }
        }
        guard record.inputs.map(\.path) == item.job.batchInputs else { return "its inputs changed" }
        for (stamp, path) in zip(record.inputs, resolved.batchInputs) {
            guard let now = FileHashCache.stat(path) else { return "\(path) is missing" }
            // An untouched input (same size and time) keeps its recorded hash; a touched one is hashed again.
            if now.size == stamp.size && now.modified == stamp.modified { continue }
            guard let hash = try? hashes.sha256(path), hash == stamp.sha256 else { return "\(path) changed since the item ran" }
        }
        return nil
    }

    /// The record of an item that just finished.
    static func make(item: BatchItem, resolved: any BatchItemJob, outcome: BatchItemOutcome, seconds: Double,
                     hashes: FileHashCache) throws -> BatchDoneRecord {
        let inputs = try zip(item.job.batchInputs, resolved.batchInputs).map { written, path -> FileStamp in
            guard let s = FileHashCache.stat(path) else { throw VisageError.fileNotFound(path: path) }
            return FileStamp(path: written, size: s.size, modified: s.modified, sha256: try hashes.sha256(path))
        }
        let outputs = try zip(item.job.batchOutputs, resolved.batchOutputs).map { written, path -> FileStamp in
            guard let s = FileHashCache.stat(path) else {
                throw VisageError.writeFailed(path: path, reason: "the item finished but did not write it")
            }
            return FileStamp(path: written, size: s.size, modified: s.modified, sha256: nil)
        }
        return BatchDoneRecord(visage: VisageVersion.string, kind: item.kind, options: try item.canonicalOptions(), inputs: inputs,
                               outputs: outputs, frames: outcome.frames, seconds: seconds, finished: BatchClock.timestamp())
    }

    func write(beside output: String) throws {
        try AtomicFile.write(try JobJSON.data(self, pretty: true), to: URL(fileURLWithPath: Self.path(for: output)))
    }
}

/// sha256 of files, remembered per path, size and modification time for the life of a run.
final class FileHashCache: Sendable {
    private let known = Locked<[String: (size: Int64, modified: Double, hash: String)]>([:])

    func sha256(_ path: String) throws -> String {
        guard let s = Self.stat(path) else { throw VisageError.fileNotFound(path: path) }
        if let k = known.withLock({ $0[path] }), k.size == s.size, k.modified == s.modified { return k.hash }
        let hash = try ModelStore.sha256(of: URL(fileURLWithPath: path))
        known.withLock { $0[path] = (s.size, s.modified, hash) }
        return hash
    }

    /// Size and modification time of a regular file, through links (nil when missing or a folder).
    static func stat(_ path: String) -> (size: Int64, modified: Double)? {
        guard let s = FileStat(path: path), s.isRegularFile else { return nil }
        return (s.size, Double(s.modifiedNanoseconds) / 1e9)
    }
}

/// Times in status files and records: UTC, ISO 8601 with milliseconds.
enum BatchClock {
    static func timestamp(_ date: Date = Date()) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }

    static func date(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: text)
    }
}
