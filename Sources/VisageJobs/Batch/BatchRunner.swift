import Foundation
import Logging
import VisageCore

/// How one task runs its part of a manifest.
public struct BatchRunOptions: Sendable {
    public var shard: BatchShard
    public var plan: BatchPlan
    /// Run only the items that failed in an earlier attempt (after fixing their cause).
    public var retryFailed: Bool
    /// Where the status files go (shared by every shard of the run).
    public var runDirectory: URL

    public init(shard: BatchShard = .whole, plan: BatchPlan, retryFailed: Bool = false, runDirectory: URL) {
        self.shard = shard
        self.plan = plan
        self.retryFailed = retryFailed
        self.runDirectory = runDirectory
    }
}

/// What a front end asks of one batch task, as `visage batch run` spells it; `runner` turns it into the task's
/// runner the way every front end should: its slice (`--shard`, `--index/--tasks` or the cluster's index), its
/// cores (asked, `SLURM_CPUS_PER_TASK`, or the machine's) and the plan for them.
public struct BatchTaskRequest: Sendable {
    public var manifestPath: String
    public var runDirectory: URL?
    public var shard: String?
    public var index: Int?
    public var tasks: Int?
    /// Cores the task may use (0: the cluster's or the machine's).
    public var cores = 0
    /// Items at once and threads per item (0: chosen).
    public var parallel = 0
    public var threads = 0
    public var retryFailed = false

    public init(manifestPath: String) { self.manifestPath = manifestPath }

    /// The task's runner and what it decided (logged by `note`: where the slice index came from).
    public func runner(context: JobContext, environment: [String: String] = ProcessInfo.processInfo.environment,
                       note: (String) -> Void = { _ in }) throws -> (runner: BatchRunner, items: Int, cores: (count: Int, source: String)) {
        let manifest = try BatchManifest(contentsOf: manifestPath)
        let shard = try BatchShard.resolve(shard: shard, index: index, tasks: tasks, environment: environment, note: note)
        let directory = runDirectory ?? BatchRunFiles.defaultRunDirectory(forManifest: manifestPath)
        let items = manifest.entries.filter { shard.contains($0.index) }.count
        let cores = BatchPlan.cores(requested: cores, environment: environment)
        let plan = BatchPlan.choose(cores: cores.count, items: items, parallel: parallel, threads: threads, gpu: BatchPlan.usesGPU(context))
        let runner = BatchRunner(manifest: manifest, options: BatchRunOptions(shard: shard, plan: plan, retryFailed: retryFailed, runDirectory: directory))
        return (runner, items, cores)
    }
}

/// Where a batch task is, sent while it runs (from its worker threads: a sink that draws throttles itself).
public struct BatchProgress: Sendable {
    public var shard: BatchShard
    /// This task's items, and of them: finished now or earlier, failed (now or earlier), running.
    public var items: Int
    public var done: Int
    public var failed: Int
    public var running: Int
    /// Frames processed by this task so far (finished items and those in flight).
    public var frames: Int
    public var fps: Double
    public var elapsed: Double
    /// Seconds left at the rate items finish, once one has.
    public var eta: Double?
    public var finished: Bool
}

public typealias BatchProgressSink = @Sendable (BatchProgress) -> Void

/// An item that failed, with the reason in the words of its error.
public struct BatchFailure: Codable, Sendable, Equatable {
    public var line: Int
    public var output: String
    public var error: String
}

/// What a task did with its items.
public struct BatchSummary: Codable, Sendable {
    public var shard: String
    public var statusFile: String
    public var plan: BatchPlan
    /// The task's items (its slice of the manifest).
    public var items: Int
    /// Run now and finished.
    public var done: Int
    /// Finished earlier: skipped.
    public var skipped: Int
    /// Failed now.
    public var failed: Int
    /// Failed in an earlier attempt and not run again (`retryFailed` reruns them).
    public var failedEarlier: Int
    /// Not run because the task was stopped (Ctrl-C, SIGTERM, scancel): pending.
    public var notRun: Int
    public var interrupted: Bool
    public var frames: Int
    public var seconds: Double
    /// Frames per second of the items run now, wall clock.
    public var fps: Double
    /// Every failure of the task's items, now or earlier.
    public var failures: [BatchFailure]

    /// Items of the task that are failed after this run.
    public var failedTotal: Int { failed + failedEarlier }

    enum CodingKeys: String, CodingKey {
        case shard, plan, items, done, skipped, failed, interrupted, frames, seconds, fps, failures
        case statusFile = "status_file", failedEarlier = "failed_earlier", notRun = "not_run"
    }
}

/// Runs one task's items of a manifest: several at once (`BatchPlan`), each the same job its command runs, with
/// a `JobContext` of its own (its own cancellation token under the task's, the plan's threads, the process's
/// shared model registry). Items whose outputs are done are skipped, a failing item is recorded and the others
/// go on, and every step is appended to the run's status file.
public final class BatchRunner: Sendable {
    public let manifest: BatchManifest
    public let options: BatchRunOptions

    public init(manifest: BatchManifest, options: BatchRunOptions) {
        self.manifest = manifest
        self.options = options
    }

    /// The task's entries: its slice of the manifest.
    public var entries: [BatchManifest.Entry] { manifest.entries.filter { options.shard.contains($0.index) } }

    /// The models the task's items need (a front end installs them, or reports them missing, first).
    public var requiredModels: [String] { BatchManifest.requiredModels(of: entries) }

    /// What will happen to one entry, decided before any item runs.
    private enum Fate {
        case run(BatchItem, any BatchItemJob)
        case skip(reason: String)
        case fail(String)
        case failedEarlier(String)
        case notSelected
    }

    /// The items in the order they start: largest inputs first (ties in manifest order). With several items at
    /// once, a long clip started last would leave the other slots idle at the end while it finishes; starting
    /// the long ones first lets the short ones fill the gaps (longest-processing-time-first scheduling). The
    /// input's size in bytes stands in for its work: it needs no decoding, and within one data set it follows
    /// the duration. Measured on the 9 reference clips, 2 at once: docs/BATCH.md, "Throughput".
    static func largestFirst(_ items: [(BatchManifest.Entry, BatchItem, any BatchItemJob)]) -> [(BatchManifest.Entry, BatchItem, any BatchItemJob)] {
        let sizes = items.map { _, _, job in job.batchInputs.reduce(Int64(0)) { $0 + (FileHashCache.stat($1)?.size ?? 0) } }
        return items.indices.sorted { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }.map { items[$0] }
    }

    /// Runs the task's items and returns what happened. Throws only for what stops the whole task (the run
    /// directory cannot be written); an item's failure is in the summary.
    /// - Parameter context: its store, session (accelerator), model registry, cancellation and logger are the
    ///   task's; each item gets a copy with its own token, the plan's threads and its own progress.
    public func run(in context: JobContext, progress: @escaping BatchProgressSink = { _ in }) throws -> BatchSummary {
        let log = context.logger
        let statusURL = BatchRunFiles.statusFile(in: options.runDirectory, shard: options.shard)
        let status = try BatchStatusWriter(path: statusURL.path)
        let earlier = (try? BatchReport.load([options.runDirectory.path])) ?? nil
        let failedBefore = Dictionary((earlier?.items ?? []).filter { $0.state == .failed }.map { ($0.output, $0.error ?? "failed") }) { a, _ in a }
        let hashes = FileHashCache()
        let mine = entries

        // Decide every entry's fate first, so the start event says how many will run.
        var fates: [Fate] = []
        for entry in mine {
            fates.append(fate(of: entry, failedBefore: failedBefore, hashes: hashes, log: log))
        }
        let toRun = Self.largestFirst(fates.enumerated().compactMap { k, f -> (BatchManifest.Entry, BatchItem, any BatchItemJob)? in
            if case .run(let item, let resolved) = f { return (mine[k], item, resolved) }
            return nil
        })
        let plan = options.plan.fitted(toRun: toRun.count)
        var start = BatchEvent(event: .start)
        start.shard = options.shard.description
        start.host = ProcessInfo.processInfo.hostName
        start.pid = ProcessInfo.processInfo.processIdentifier
        start.visage = VisageVersion.string
        start.manifest = manifest.path
        start.items = mine.count
        start.parallel = plan.parallel
        start.threads = plan.threadsPerItem
        start.plan = plan.reason
        try status.append(start)

        var summary = BatchSummary(shard: options.shard.description, statusFile: statusURL.path, plan: plan, items: mine.count, done: 0, skipped: 0,
                                   failed: 0, failedEarlier: 0, notRun: 0, interrupted: false, frames: 0, seconds: 0, fps: 0, failures: [])
        for (entry, fate) in zip(mine, fates) {
            let output = Self.identity(entry)
            switch fate {
            case .skip:
                summary.skipped += 1
                var e = BatchEvent(event: .item)
                e.line = entry.line; e.kind = try? entry.item.get().kind; e.output = output; e.status = .skipped
                try status.append(e)
            case .fail(let error):
                summary.failed += 1
                summary.failures.append(BatchFailure(line: entry.line, output: output, error: error))
                var e = BatchEvent(event: .item)
                e.line = entry.line; e.kind = try? entry.item.get().kind; e.output = output; e.status = .failed; e.error = error
                try status.append(e)
            case .failedEarlier(let error):
                summary.failedEarlier += 1
                summary.failures.append(BatchFailure(line: entry.line, output: output, error: error))
            case .run, .notSelected:
                break
            }
        }
        if summary.skipped > 0 { log.info("\(summary.skipped) of \(mine.count) items finished earlier (outputs and .done records match): skipped") }
        if summary.failedEarlier > 0 { log.info("\(summary.failedEarlier) item\(summary.failedEarlier == 1 ? "" : "s") failed in an earlier attempt and \(summary.failedEarlier == 1 ? "is" : "are") not run again (retry-failed reruns them)") }
        log.info("batch \(options.shard == .whole ? "" : "shard \(options.shard) ")of \(manifest.path): \(toRun.count) of \(mine.count) items to run, \(plan)")

        let clock = ContinuousClock.now
        let live = Locked(LiveCounts(doneBefore: summary.skipped, failedBefore: summary.failed + summary.failedEarlier))
        let report: @Sendable (Bool) -> Void = { finished in
            let elapsed = (ContinuousClock.now - clock).seconds
            let c = live.value
            let frames = c.frames + c.inFlight.values.reduce(0, +)
            let finishedNow = c.done + c.failed
            let left = toRun.count - finishedNow
            progress(BatchProgress(shard: self.options.shard, items: mine.count, done: c.doneBefore + c.done, failed: c.failedBefore + c.failed,
                                   running: c.inFlight.count, frames: frames, fps: Double(frames) / max(elapsed, 1e-6), elapsed: elapsed,
                                   eta: finishedNow > 0 && !finished ? Double(left) * elapsed / Double(finishedNow) : nil, finished: finished))
        }
        let next = Locked(0)
        let statusError = Locked<Error?>(nil)
        DispatchQueue.concurrentPerform(iterations: plan.parallel) { _ in
            while !context.cancellation.isCancelled && statusError.value == nil {
                let k: Int = next.withLock { n in defer { n += 1 }; return n }
                guard k < toRun.count else { return }
                let (entry, item, resolved) = toRun[k]
                do {
                    try self.runItem(entry: entry, item: item, resolved: resolved, slot: k, plan: plan, context: context, status: status,
                                     hashes: hashes, live: live, report: report)
                } catch {
                    statusError.keepFirst(error)
                }
            }
        }
        if let error = statusError.value { throw error }
        let c = live.value
        summary.done = c.done
        summary.failed += c.failed
        summary.failures += c.failures
        summary.failures.sort { $0.line < $1.line }
        summary.frames = c.frames
        summary.seconds = (ContinuousClock.now - clock).seconds
        summary.fps = Double(c.frames) / max(summary.seconds, 1e-6)
        summary.interrupted = context.cancellation.isCancelled
        summary.notRun = toRun.count - c.done - c.failed
        report(true)
        var stop = BatchEvent(event: .stop)
        stop.shard = options.shard.description
        stop.done = summary.done
        stop.skipped = summary.skipped
        stop.failed = summary.failedTotal
        stop.frames = summary.frames
        stop.seconds = JobJSON.round(summary.seconds, 3)
        stop.interrupted = summary.interrupted
        try status.append(stop)
        return summary
    }

    /// Counters shared by the workers.
    private struct LiveCounts {
        var doneBefore: Int
        var failedBefore: Int
        var done = 0
        var failed = 0
        var frames = 0
        var inFlight: [Int: Int] = [:]
        var failures: [BatchFailure] = []
    }

    private func runItem(entry: BatchManifest.Entry, item: BatchItem, resolved: any BatchItemJob, slot: Int, plan: BatchPlan, context: JobContext,
                         status: BatchStatusWriter, hashes: FileHashCache, live: Locked<LiveCounts>, report: @escaping @Sendable (Bool) -> Void) throws {
        let output = Self.identity(entry)
        var begin = BatchEvent(event: .begin)
        begin.line = entry.line; begin.kind = item.kind; begin.output = output
        try status.append(begin)
        live.withLock { $0.inFlight[slot] = 0 }
        var itemContext = context
        itemContext.cancellation = CancellationToken(parent: context.cancellation)
        itemContext.session.intraOpThreads = plan.threadsPerItem
        itemContext.progress = { p in
            live.withLock { $0.inFlight[slot] = p.done }
            report(false)
        }
        let started = ContinuousClock.now
        var event = BatchEvent(event: .item)
        event.line = entry.line; event.kind = item.kind; event.output = output
        do {
            try Self.prepareOutputs(of: resolved)
            let outcome = try resolved.runBatchItem(in: itemContext)
            let seconds = (ContinuousClock.now - started).seconds
            let record = try BatchDoneRecord.make(item: item, resolved: resolved, outcome: outcome, seconds: seconds, hashes: hashes)
            try record.write(beside: resolved.batchOutputs[0])
            event.status = .done
            event.frames = outcome.frames
            event.seconds = JobJSON.round(seconds, 3)
            event.warnings = outcome.warnings.isEmpty ? nil : outcome.warnings
            live.withLock { c in c.done += 1; c.frames += outcome.frames; c.inFlight[slot] = nil }
            context.logger.info("\(output): done, \(outcome.frames) frames in \(String(format: "%.1f", seconds)) s")
            for warning in outcome.warnings { context.logger.warning("\(output): \(warning)") }
        } catch {
            let stopped = Self.isStop(error, task: context.cancellation)
            event.status = stopped ? .interrupted : .failed
            event.seconds = JobJSON.round((ContinuousClock.now - started).seconds, 3)
            if !stopped {
                let message = Self.describe(error)
                event.error = message
                live.withLock { c in c.failed += 1; c.failures.append(BatchFailure(line: entry.line, output: output, error: message)) }
                context.logger.error("\(output) (line \(entry.line)): failed: \(message)")
            }
            live.withLock { $0.inFlight[slot] = nil }
        }
        event.time = BatchClock.timestamp()
        try status.append(event)
        report(false)
    }

    private func fate(of entry: BatchManifest.Entry, failedBefore: [String: String], hashes: FileHashCache,
                      log: Logger) -> Fate {
        let output = Self.identity(entry)
        switch entry.item {
        case .failure(let error):
            return .fail(error.description)
        case .success(let item):
            let resolved = item.job.resolvingPaths(against: manifest.folder)
            let stale = BatchDoneRecord.staleReason(item: item, resolved: resolved, hashes: hashes)
            if stale == nil { return .skip(reason: "done") }
            if options.retryFailed {
                guard failedBefore[output] != nil else { return .notSelected }
                log.info("\(output): failed earlier (\(failedBefore[output]!)); running it again")
                return .run(item, resolved)
            }
            if let error = failedBefore[output] { return .failedEarlier(error) }
            if let stale, stale != "no .done record" { log.info("\(output): runs again: \(stale)") }
            return .run(item, resolved)
        }
    }

    /// Whether an item ended because its task was stopped rather than because of the item: the task's token is
    /// cancelled, whatever the error. A signal that stops a task (Ctrl-C, `scancel`, a pod's SIGTERM) reaches
    /// its helper processes (ffmpeg) too, and the item may then end with the helper's death ("not a readable
    /// video") a moment before the signal handler has cancelled the token; so an error is given `grace`
    /// seconds to turn out to be a stop. Such an item stays pending (it runs again on resume) instead of
    /// being recorded as failed.
    static func isStop(_ error: Error, task: CancellationToken, grace: Double = 0.3) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(grace * 1000))
        while !task.isCancelled && ContinuousClock.now < deadline { usleep(10_000) }
        return task.isCancelled
    }

    /// An item's name in status files: its output, or its line when it has none.
    static func identity(_ entry: BatchManifest.Entry) -> String { entry.output ?? "line \(entry.line)" }

    /// Makes the outputs' folders and removes temporary files a killed earlier attempt left beside them.
    static func prepareOutputs(of job: any BatchItemJob) throws {
        for output in job.batchOutputs {
            let url = URL(fileURLWithPath: output)
            let folder = url.deletingLastPathComponent()
            do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
                throw VisageError.writeFailed(path: output, reason: "cannot make its folder \(folder.path): \(AtomicFile.describe(error))")
            }
            for leftover in temporaries(of: url) { try? FileManager.default.removeItem(at: leftover) }
        }
    }

    /// `AtomicFile`'s temporary siblings of `output` (".NAME.partial-XXXXXXXX.EXT").
    static func temporaries(of output: URL) -> [URL] {
        let folder = output.deletingLastPathComponent()
        let stem = output.deletingPathExtension().lastPathComponent
        let ext = output.pathExtension
        let prefix = ".\(stem).partial-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        return names.filter { name in
            guard name.hasPrefix(prefix) else { return false }
            let rest = name.dropFirst(prefix.count)
            return ext.isEmpty ? rest.count == 8 : rest.count == 8 + 1 + ext.count && rest.hasSuffix("." + ext)
        }.map { folder.appendingPathComponent($0) }
    }

    /// An error in one line, the way the command line words its errors.
    static func describe(_ error: Error) -> String {
        switch error {
        case let e as VisageError: return e.description
        case let e as BatchLineError: return e.description
        case let e as DecodingError: return BatchManifest.describe(e)
        default: return AtomicFile.describe(error)
        }
    }
}
