import Foundation
import VisageCore

/// Where a run stands, folded from its status files (one per shard, from one run directory or gathered from
/// several): items done, failed and pending, throughput and time left, and every failure with its error.
/// `visage batch status` prints it; `visage batch merge` writes it as one JSON report.
public struct BatchReport: Codable, Sendable {
    public enum State: String, Codable, Sendable { case done, failed, pending, running }

    /// An item's latest state.
    public struct Item: Codable, Sendable {
        public var output: String
        public var line: Int?
        public var kind: String?
        public var shard: String?
        public var state: State
        public var error: String?
        public var warnings: [String]?
        public var frames: Int?
        public var seconds: Double?
        /// When its latest event was written.
        public var time: String
    }

    /// A shard's latest attempt.
    public struct Shard: Codable, Sendable {
        public var shard: String
        public var items: Int
        public var attempts: Int
        public var host: String?
        public var started: String
        /// nil while running, or when the task was killed (no stop event).
        public var stopped: String?
        public var frames: Int
        public var seconds: Double
        public var plan: String?
    }

    public var shards: [Shard]
    public var items: [Item]
    /// Items of the manifest, as the shards' start events count them (nil before any shard started).
    public var total: Int?
    /// Shards expected (the shard count of the latest attempt) and how many have started at least once.
    public var shardCount: Int
    public var done: Int
    public var failed: Int
    public var running: Int
    public var pending: Int?
    /// Frames per second over the latest attempts, wall clock (shards running side by side add up).
    public var fps: Double
    /// Seconds left at the current item rate, while something runs.
    public var etaSeconds: Double?

    public var failures: [Item] { items.filter { $0.state == .failed } }

    enum CodingKeys: String, CodingKey {
        case shards, items, total, done, failed, running, pending, fps, failures
        case shardCount = "shard_count", etaSeconds = "eta_seconds"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        shards = try c.decode([Shard].self, forKey: .shards)
        items = try c.decode([Item].self, forKey: .items)
        total = try c.decodeIfPresent(Int.self, forKey: .total)
        shardCount = try c.decode(Int.self, forKey: .shardCount)
        done = try c.decode(Int.self, forKey: .done)
        failed = try c.decode(Int.self, forKey: .failed)
        running = try c.decode(Int.self, forKey: .running)
        pending = try c.decodeIfPresent(Int.self, forKey: .pending)
        fps = try c.decode(Double.self, forKey: .fps)
        etaSeconds = try c.decodeIfPresent(Double.self, forKey: .etaSeconds)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(shards, forKey: .shards)
        try c.encode(items, forKey: .items)
        try c.encodeIfPresent(total, forKey: .total)
        try c.encode(shardCount, forKey: .shardCount)
        try c.encode(done, forKey: .done)
        try c.encode(failed, forKey: .failed)
        try c.encode(running, forKey: .running)
        try c.encodeIfPresent(pending, forKey: .pending)
        try c.encode(JobJSON.round(fps, 1), forKey: .fps)
        try c.encodeIfPresent(etaSeconds.map { JobJSON.round($0, 0) }, forKey: .etaSeconds)
        try c.encode(failures, forKey: .failures)
    }

    /// The report of run directories and/or status files.
    public static func load(_ paths: [String], now: Date = Date()) throws -> BatchReport {
        var files: [URL] = []
        for path in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw VisageError.fileNotFound(path: path) }
            files += isDir.boolValue ? try BatchRunFiles.statusFiles(in: URL(fileURLWithPath: path)) : [URL(fileURLWithPath: path)]
        }
        guard !files.isEmpty else {
            throw VisageError.invalidArgument("no status files (status*.jsonl) in \(paths.joined(separator: ", ")); is it a run directory?")
        }
        return fold(try files.map { try BatchRunFiles.events(in: $0) }, now: now)
    }

    /// Folds the event lists of status files (each in the order it was written).
    public static func fold(_ logs: [[BatchEvent]], now: Date = Date()) -> BatchReport {
        var items: [String: Item] = [:]
        var attempts: [String: (count: Int, latest: Shard, running: Set<String>, finished: Int, start: Date?, end: Date?, open: Bool)] = [:]
        for events in logs {
            var shard: String?
            for e in events {
                switch e.event {
                case .start:
                    let name = e.shard ?? "0/1"
                    shard = name
                    let previous = attempts[name]?.count ?? 0
                    attempts[name] = (previous + 1, Shard(shard: name, items: e.items ?? 0, attempts: previous + 1, host: e.host, started: e.time,
                                                          stopped: nil, frames: 0, seconds: 0, plan: e.plan),
                                      [], 0, BatchClock.date(e.time), BatchClock.date(e.time), true)
                case .begin:
                    guard let name = shard, let output = e.output else { continue }
                    attempts[name]?.running.insert(output)
                    attempts[name]?.end = BatchClock.date(e.time)
                    if let known = items[output], known.time > e.time { continue }
                    items[output] = Item(output: output, line: e.line, kind: e.kind, shard: name, state: .running, time: e.time)
                case .item:
                    guard let output = e.output else { continue }
                    if let name = shard {
                        attempts[name]?.running.remove(output)
                        attempts[name]?.end = BatchClock.date(e.time)
                        if e.status == .done { attempts[name]?.latest.frames += e.frames ?? 0 }
                        if e.status == .done || e.status == .failed { attempts[name]?.finished += 1 }
                    }
                    if let known = items[output], known.time > e.time { continue }
                    let state: State = switch e.status {
                    case .done?, .skipped?: .done
                    case .failed?: .failed
                    default: .pending
                    }
                    // A skip keeps what the run that made the output said about it.
                    let earlier = e.status == .skipped ? items[output] : nil
                    items[output] = Item(output: output, line: e.line, kind: e.kind, shard: shard, state: state, error: e.error,
                                         warnings: e.warnings ?? earlier?.warnings, frames: e.frames ?? earlier?.frames,
                                         seconds: e.seconds ?? earlier?.seconds, time: e.time)
                case .stop:
                    guard let name = shard else { continue }
                    attempts[name]?.latest.stopped = e.time
                    attempts[name]?.end = BatchClock.date(e.time)
                    attempts[name]?.open = false
                }
            }
        }
        // Items begun in an attempt that never stopped and was followed by another: lost with a killed task.
        for (output, item) in items where item.state == .running {
            guard let name = item.shard, let a = attempts[name] else { continue }
            if !a.open || !a.running.contains(output) { items[output]?.state = .pending }
        }
        let counts = Set(attempts.keys.compactMap { Int($0.split(separator: "/").last ?? "") })
        // The shard count of the most recent start decides which shards make up the run now.
        let latestCount = attempts.values.max { $0.latest.started < $1.latest.started }.flatMap { Int($0.latest.shard.split(separator: "/").last ?? "") } ?? 1
        var shards: [Shard] = []
        var spanStart: Date?, spanEnd: Date?
        var framesNow = 0, finishedNow = 0, anyRunning = false
        for (name, a) in attempts.sorted(by: { Self.order($0.key) < Self.order($1.key) }) {
            var s = a.latest
            let end = a.open ? now : (a.end ?? now)
            if let start = a.start { s.seconds = JobJSON.round(end.timeIntervalSince(start), 1) }
            shards.append(s)
            guard Int(name.split(separator: "/").last ?? "") == latestCount || counts.count == 1 else { continue }
            framesNow += s.frames
            finishedNow += a.finished
            anyRunning = anyRunning || a.open
            if let start = a.start { spanStart = min(spanStart ?? start, start) }
            spanEnd = max(spanEnd ?? end, end)
        }
        let current = shards.filter { Int($0.shard.split(separator: "/").last ?? "") == latestCount }
        let total: Int? = current.isEmpty ? nil : current.map(\.items).reduce(0, +)
        let list = items.values.sorted { ($0.line ?? .max, $0.output) < ($1.line ?? .max, $1.output) }
        let done = list.filter { $0.state == .done }.count
        let failed = list.filter { $0.state == .failed }.count
        let running = list.filter { $0.state == .running }.count
        let pending = total.map { max(0, $0 - done - failed - running) }
        let span = max((spanEnd ?? now).timeIntervalSince(spanStart ?? now), 1e-3)
        let itemRate = Double(finishedNow) / span
        let eta: Double? = anyRunning && itemRate > 0 ? Double((pending ?? 0) + running) / itemRate : nil
        return BatchReport(shards: shards, items: list, total: total, shardCount: latestCount, done: done, failed: failed, running: running,
                           pending: pending, fps: Double(framesNow) / span, etaSeconds: eta)
    }

    private init(shards: [Shard], items: [Item], total: Int?, shardCount: Int, done: Int, failed: Int, running: Int, pending: Int?,
                 fps: Double, etaSeconds: Double?) {
        self.shards = shards; self.items = items; self.total = total; self.shardCount = shardCount; self.done = done
        self.failed = failed; self.running = running; self.pending = pending; self.fps = fps; self.etaSeconds = etaSeconds
    }

    private static func order(_ shard: String) -> (Int, Int) {
        let p = shard.split(separator: "/").compactMap { Int($0) }
        return p.count == 2 ? (p[1], p[0]) : (0, 0)
    }
}
