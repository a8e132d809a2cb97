import Foundation
import VisageCore

/// One line of a manifest, decoded: its kind and the job it runs.
public struct BatchItem: Sendable {
    public let kind: String
    /// The job with its paths as the manifest writes them (what its `.done` record compares).
    public let job: any BatchItemJob

    public init(kind: String, job: any BatchItemJob) {
        self.kind = kind
        self.job = job
    }

    /// The manifest line: `kind` and every option of the job by its command-line name, keys sorted.
    public func jsonLine() throws -> String {
        String(decoding: try JobJSON.data(Line(kind: kind, job: job), pretty: false), as: UTF8.self)
    }

    /// The job's options as canonical JSON (sorted keys, defaults written out): two items with the same
    /// canonical options do the same work.
    public func canonicalOptions() throws -> String {
        String(decoding: try JobJSON.data(AnyEncodableJob(job), pretty: false), as: UTF8.self)
    }

    private struct Line: Encodable {
        let kind: String
        let job: any BatchItemJob
        enum Keys: String, CodingKey { case kind }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(kind, forKey: .kind)
            try job.encode(to: encoder)
        }
    }

    private struct AnyEncodableJob: Encodable {
        let job: any BatchItemJob
        init(_ job: any BatchItemJob) { self.job = job }
        func encode(to encoder: Encoder) throws { try job.encode(to: encoder) }
    }
}

/// Why a manifest line is not an item it can run. Recorded as that item's failure; the others go on.
public struct BatchLineError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A JSONL manifest: one item per line, `{"kind": "au", "input": "a.mp4", "output": "csv/a.csv", ...}`, every
/// other key an option of that kind's job under its command-line name. Blank lines are skipped; a line that
/// is not a valid item stays in the list as a failure (it never stops the run). Relative paths in a line are
/// relative to the manifest's folder.
public struct BatchManifest: Sendable {
    /// The models `entries`' items need, each once, in first-use order (lines that are not items need none).
    public static func requiredModels(of entries: [Entry]) -> [String] {
        var seen = Set<String>()
        return entries.compactMap { try? $0.item.get() }.flatMap(\.job.requiredModels).filter { seen.insert($0).inserted }
    }

    /// The models every item of the manifest needs (what a cluster submission installs once, before the tasks).
    public var requiredModels: [String] { Self.requiredModels(of: entries) }

    public struct Entry: Sendable {
        /// 0-based position among the manifest's items: what shards are cut by.
        public let index: Int
        /// 1-based line number in the file.
        public let line: Int
        /// The item, or why the line is not one.
        public let item: Result<BatchItem, BatchLineError>
        /// The item's first output (resolved against the manifest's folder): its identity in status files. nil
        /// when the line has none, or when an earlier line has the same output (the line then fails).
        public let output: String?
    }

    public let path: String
    public let entries: [Entry]
    /// The folder relative paths are taken from.
    public var folder: URL { URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent() }

    /// Reads and decodes a manifest. Throws only when the file cannot be read; bad lines become failed entries.
    public init(contentsOf path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw VisageError.fileNotFound(path: path) }
        if isDir.boolValue { throw VisageError.notAFile(path: path) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw VisageError.unreadable(path: path, reason: AtomicFile.describe(error))
        }
        self.init(text: String(decoding: data, as: UTF8.self), path: path)
    }

    public init(text: String, path: String) {
        self.path = path
        let folder = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent()
        var entries: [Entry] = []
        var owners: [String: Int] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            var parsed = Self.decode(line)
            var output = (try? parsed.get()).flatMap { $0.job.resolvingPaths(against: folder).batchOutputs.first }
                ?? Self.rawOutput(line).map { $0.hasPrefix("/") ? $0 : folder.appendingPathComponent($0).standardizedFileURL.path }
            if let name = output {
                // A second line with the same output would overwrite the first one's: it fails, under its line number.
                if let first = owners[name] {
                    parsed = .failure(BatchLineError("line \(first) writes the same output (\(name)); give each item its own output"))
                    output = nil
                } else {
                    owners[name] = n + 1
                }
            }
            entries.append(Entry(index: entries.count, line: n + 1, item: parsed, output: output))
        }
        self.entries = entries
    }

    /// The item of one line, or why it is not one.
    public static func decode(_ line: String) -> Result<BatchItem, BatchLineError> {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return .failure(BatchLineError("not a JSON object; each line is one item, e.g. {\"kind\": \"au\", \"input\": \"a.mp4\", \"output\": \"a.csv\"}"))
            }
            object = parsed
        } catch {
            return .failure(BatchLineError("not valid JSON (\(Self.jsonProblem(error))); each line is one item, e.g. {\"kind\": \"au\", \"input\": \"a.mp4\", \"output\": \"a.csv\"}"))
        }
        guard let kind = object["kind"] as? String else {
            return .failure(BatchLineError("no \"kind\" (one of \(BatchKinds.names.joined(separator: ", ")))"))
        }
        switch BatchKinds.all[kind] {
        case nil:
            return .failure(BatchLineError("unknown kind '\(kind)' (known: \(BatchKinds.names.joined(separator: ", ")))"))
        case let type?:
            let unknown = object.keys.filter { $0 != "kind" && !type.accepts(option: $0) }.sorted()
            if !unknown.isEmpty {
                return .failure(BatchLineError("unknown option\(unknown.count == 1 ? "" : "s") \(unknown.map { "'\($0)'" }.joined(separator: ", ")) for \(kind) (options are named as on the command line, e.g. \"detect-every\"; see visage \(kind) --help)"))
            }
            do {
                let job: any BatchItemJob = try Self.decode(type, from: Data(line.utf8))
                try job.validateBatchItem()
                return .success(BatchItem(kind: kind, job: job))
            } catch let error as DecodingError {
                return .failure(BatchLineError(Self.describe(error)))
            } catch {
                return .failure(BatchLineError("\(error)"))
            }
        }
    }

    private static func decode<T: BatchItemJob>(_ type: T.Type, from data: Data) throws -> T {
        try JSONDecoder().decode(T.self, from: data)
    }

    /// Writes items as a manifest, atomically.
    public static func write(_ items: [BatchItem], to path: String) throws {
        let text = try items.map { try $0.jsonLine() }.joined(separator: "\n") + (items.isEmpty ? "" : "\n")
        try AtomicFile.write(Data(text.utf8), to: URL(fileURLWithPath: path).standardizedFileURL)
    }

    /// The `output` of a line that did not decode, so its failure still has a name in the status.
    private static func rawOutput(_ line: String) -> String? {
        ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["output"] as? String
    }

    private static func jsonProblem(_ error: Error) -> String {
        let ns = error as NSError
        return (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? "unreadable"
    }

    /// A decoding error in the words of the line: which option, what was wrong.
    static func describe(_ error: DecodingError) -> String {
        func name(_ path: [CodingKey]) -> String { path.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .keyNotFound(let key, _): return "missing \"\(key.stringValue)\""
        case .typeMismatch(let type, let context): return "\"\(name(context.codingPath))\" must be \(Self.noun(type))"
        case .valueNotFound(let type, let context): return "\"\(name(context.codingPath))\" must be \(Self.noun(type)), not null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? context.debugDescription : "\"\(name(context.codingPath))\": \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    private static func noun(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type: return "a whole number"
        case is Float.Type, is Double.Type: return "a number"
        default: return "\(type)"
        }
    }
}

