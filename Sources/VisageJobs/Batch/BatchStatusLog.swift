import Foundation
import VisageCore

/// One line of a run's status file. A task appends `start`, then `begin` and `item` for each item it runs
/// (or skips), then `stop`; a task that was killed simply has no `stop`. Keys are snake_case JSON.
public struct BatchEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case start, begin, item, stop }

    /// How an item ended.
    public enum ItemStatus: String, Codable, Sendable {
        /// Run now and finished.
        case done
        /// Finished earlier: its outputs and `.done` record match.
        case skipped
        case failed
        /// Stopped by Ctrl-C, SIGTERM or `scancel`: pending again.
        case interrupted
    }

    public var event: Kind
    public var time: String
    // start / stop
    public var shard: String?
    public var host: String?
    public var pid: Int32?
    public var visage: String?
    public var manifest: String?
    /// start: the shard's items; stop: items this attempt finished (done + skipped).
    public var items: Int?
    public var parallel: Int?
    public var threads: Int?
    public var plan: String?
    // item
    public var line: Int?
    public var kind: String?
    public var output: String?
    public var status: ItemStatus?
    public var error: String?
    public var warnings: [String]?
    public var frames: Int?
    public var seconds: Double?
    // stop
    public var done: Int?
    public var skipped: Int?
    public var failed: Int?
    public var interrupted: Bool?

    public init(event: Kind, time: String? = nil) { self.event = event; self.time = time ?? BatchClock.timestamp() }

    enum CodingKeys: String, CodingKey {
        case event, time, shard, host, pid, visage, manifest, items, parallel, threads, plan, line, kind, output, status, error, warnings,
             frames, seconds, done, skipped, failed, interrupted
    }
}

/// Appends events to a status file, one JSON line per write (a killed task loses at most the line being
/// written; readers skip a torn last line). Safe to use from the batch's worker threads.
final class BatchStatusWriter: Sendable {
    let path: String
    private let handle: Locked<FileHandle>

    init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        do { try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true) } catch {
            throw VisageError.writeFailed(path: url.deletingLastPathComponent().path, reason: AtomicFile.describe(error))
        }
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw VisageError.writeFailed(path: path, reason: "cannot open the status file for appending")
        }
        // A status file whose last line was torn by a kill gets its newline back, so the next event starts a line.
        let end = h.seekToEndOfFile()
        if end > 0, let reader = FileHandle(forReadingAtPath: path) {
            reader.seek(toFileOffset: end - 1)
            if reader.readData(ofLength: 1) != Data("\n".utf8) { h.write(Data("\n".utf8)) }
            try? reader.close()
        }
        self.path = path
        handle = Locked(h)
    }

    func append(_ event: BatchEvent) throws {
        let line = try JobJSON.data(event, pretty: false) + Data("\n".utf8)
        try handle.withLock { h in
            do { try h.seekToEnd(); try h.write(contentsOf: line) } catch {
                throw VisageError.writeFailed(path: path, reason: AtomicFile.describe(error))
            }
        }
    }

    deinit { try? handle.withLock { try $0.close() } }
}

/// The status files of a run directory: one per shard, `status.jsonl` for a run that is not sharded and
/// `status-I-of-N.jsonl` for shard I of N.
public enum BatchRunFiles {
    public static func statusFile(in runDirectory: URL, shard: BatchShard) -> URL {
        runDirectory.appendingPathComponent(shard == .whole ? "status.jsonl" : "status-\(shard.index)-of-\(shard.count).jsonl")
    }

    /// Every status file in `runDirectory`, sorted by name.
    public static func statusFiles(in runDirectory: URL) throws -> [URL] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: runDirectory.path, isDirectory: &isDir), isDir.boolValue else {
            throw VisageError.fileNotFound(path: runDirectory.path)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: runDirectory.path)
        return names.filter { $0.hasPrefix("status") && $0.hasSuffix(".jsonl") }.sorted().map { runDirectory.appendingPathComponent($0) }
    }

    /// The run directory a manifest gets when none is given: `NAME.run` beside `NAME.jsonl`.
    public static func defaultRunDirectory(forManifest path: String) -> URL {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        return url.deletingPathExtension().appendingPathExtension("run")
    }

    /// The events of a status file in order; a torn or foreign line is skipped.
    public static func events(in file: URL) throws -> [BatchEvent] {
        let data: Data
        do { data = try Data(contentsOf: file) } catch { throw VisageError.unreadable(path: file.path, reason: AtomicFile.describe(error)) }
        let decoder = JSONDecoder()
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? decoder.decode(BatchEvent.self, from: Data($0)) }
    }
}
