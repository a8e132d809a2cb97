import Foundation
import Logging
import VisageCore
import VisageJobs
import VisageRuntime

/// Runs submitted jobs on a fixed number of worker threads (jobs block: they never run on the event
/// loops), taking them from a bounded queue that is fair between clients (`FairQueue`). Every state
/// change goes to the store first, then to the job's followers. Each job has its own cancellation token,
/// a child of the server's: `DELETE` cancels one job, stopping the server cancels them all (and puts
/// them back in the queue for the next start).
public final class JobScheduler: @unchecked Sendable {
    public let store: JobStore
    public let files: FileStore
    public let events: JobEvents
    let metrics: ServerMetrics
    let settings: ServerSettings
    let modelStore: ModelStore
    let models: ModelRegistry
    let scrubber: PathScrubber
    public let workers: Int
    public let capacity: Int
    let shutdown = CancellationToken()
    private let logger = VisageLog.logger("server")
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue = FairQueue()
    private var running: [String: CancellationToken] = [:]
    private var stopping = false
    private var finishedWorkers = 0
    /// Called on the worker once a job is marked running, before it runs (tests hold a job there, so that
    /// "running" does not depend on how fast a shared machine gets through the job).
    let beforeRun = Locked<(@Sendable (String) -> Void)?>(nil)

    init(store: JobStore, files: FileStore, events: JobEvents, metrics: ServerMetrics, settings: ServerSettings, modelStore: ModelStore,
         models: ModelRegistry, scrubber: PathScrubber, workers: Int, capacity: Int) {
        self.store = store; self.files = files; self.events = events; self.metrics = metrics; self.settings = settings
        self.modelStore = modelStore; self.models = models; self.scrubber = scrubber; self.workers = workers; self.capacity = capacity
    }

    /// Recovers from the last run (running jobs re-queued once, or failed) and starts the workers on the
    /// queued jobs, in submission order.
    func start() throws {
        let (requeued, failed) = try store.recoverAfterRestart(now: Date().timeIntervalSince1970)
        if !requeued.isEmpty { logger.notice("server: \(requeued.count) job(s) were running when the server last stopped; queued again: \(requeued.joined(separator: ", "))") }
        if !failed.isEmpty { logger.warning("server: \(failed.count) job(s) were running at two stops in a row; marked failed: \(failed.joined(separator: ", "))") }
        let waiting = try store.queued()
        condition.locked { for job in waiting { queue.push(job.id, client: job.client) } }
        if !waiting.isEmpty { logger.info("server: \(waiting.count) queued job(s) from the last run will run") }
        for i in 0..<workers {
            let thread = Thread { [self] in work() }
            thread.name = "visage.job.\(i)"
            thread.stackSize = 16 << 20
            thread.start()
        }
    }

    /// Stops taking jobs, cancels the running ones (they go back to the queue) and waits for the workers.
    func stop(timeout: Double = 30) {
        condition.locked {
            stopping = true
            condition.broadcast()
        }
        shutdown.cancel(.shutdown)
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        while finishedWorkers < workers && condition.wait(until: deadline) {}
        condition.unlock()
    }

    /// (waiting, running) now.
    public var depth: (queued: Int, running: Int) { condition.locked { (queue.count, running.count) } }

    public func position(of job: String) -> Int? { condition.locked { queue.position(of: job) } }

    /// Checks the request as far as possible without running it (options, input files, models), then
    /// queues it; throws 429 when the queue is full.
    func submit(_ request: JobRequest, client: String) throws -> JobRecord {
        let job = try request.makeJob(input: { try self.inputPath($1, field: $0.hasPrefix("options.") ? $0 : "inputs.\($0)").path },
                                      output: { name, ext in self.files.temporary.appendingPathComponent("check-\(name).\(ext)").path })
        try job.validateOptions()
        let missing = try RequiredModels.missing(job.requiredModels, store: modelStore)
        if !missing.isEmpty {
            throw APIError(.conflict, "models_missing",
                           "this job needs models that are not installed: \(missing.joined(separator: ", ")); install them with POST /v1/models/{id}/install",
                           models: missing)
        }
        let now = Date().timeIntervalSince1970
        // Every file the job reads (its pairs too) is kept while it waits: retention skips these.
        for id in Set(request.fileIDs) { try store.touch(id, at: now) }
        let body = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
        let inputs = String(decoding: try JSONEncoder().encode(Array(Set(request.fileIDs)).sorted()), as: UTF8.self)
        let record = JobRecord(id: UUID().uuidString.lowercased(), seq: 0, kind: request.kind.rawValue, client: client, state: .queued,
                               request: body, inputs: inputs, attempts: 0, createdAt: now, resultsRemoved: false)
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw APIError(.serviceUnavailable, "stopping", "the server is stopping; submit the job again once it is back") }
        guard queue.count < capacity else {
            var error = APIError(.tooManyRequests, "queue_full", "the queue is full (\(capacity) jobs waiting); try again later")
            error.headers[.retryAfter] = String(retryAfter)
            throw error
        }
        let saved = try store.insert(record)
        queue.push(saved.id, client: client)
        condition.signal()
        logger.info("server: job \(saved.id) (\(saved.kind)) queued for \(client), \(queue.count) waiting")
        return saved
    }

    /// Seconds a client should wait before submitting again: about one job's time per worker.
    private var retryAfter: Int { 5 }

    /// The upload a job reads; 422 naming the field when the id is unknown.
    func inputPath(_ id: String, field: String) throws -> URL {
        guard FileStore.isFileID(Substring(id)), let file = try store.file(id) else {
            throw APIError(.unprocessableContent, "unknown_file", "\(field): no uploaded file has the id '\(id.prefix(80))'; upload it with POST /v1/files first", field: field)
        }
        return files.path(of: file)
    }

    /// Cancels a job: a waiting one at once, a running one at its next frame. Nil when unknown.
    func cancel(_ id: String) throws -> JobRecord? {
        let (wasQueued, token): (Bool, CancellationToken?) = condition.locked { (queue.remove(id), running[id]) }
        if wasQueued {
            let record = try store.update(id) { job in
                job.state = .cancelled
                job.finishedAt = Date().timeIntervalSince1970
                job.error = "cancelled before it started"
            }
            if let record { publishState(record) }
            return record
        }
        token?.cancel(.cancelled)
        return try store.job(id)
    }

    // MARK: workers

    private func work() {
        defer { condition.locked { finishedWorkers += 1; condition.broadcast() } }
        while true {
            condition.lock()
            while !stopping && queue.count == 0 { condition.wait() }
            if stopping { condition.unlock(); return }
            let (id, _) = queue.pop()!
            let token = CancellationToken(parent: shutdown)
            running[id] = token
            condition.unlock()
            execute(id, token: token)
            condition.locked { _ = running.removeValue(forKey: id) }
        }
    }

    private func execute(_ id: String, token: CancellationToken) {
        let started = Date().timeIntervalSince1970
        guard let record = (try? store.start(id, at: started)) ?? nil else { return }
        publishState(record)
        logger.info("server: job \(id) (\(record.kind)) started (attempt \(record.attempts))")
        beforeRun.value?(id)
        let directory = files.resultDirectory(job: id)
        let context = JobContext(store: modelStore, session: settings.jobSession, models: models, cancellation: token,
                                 progress: progressSink(id, kind: record.kind), logger: logger)
        var final: JobRecord?
        do {
            try? FileManager.default.removeItem(at: directory)   // a re-run after a restart starts clean
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let request = try JSONDecoder().decode(JobRequest.self, from: Data(record.request.utf8))
            let job = try request.makeJob(input: { try self.inputPath($1, field: $0.hasPrefix("options.") ? $0 : "inputs.\($0)").path },
                                          output: { name, ext in directory.appendingPathComponent("\(name).\(ext)").path })
            let missing = try RequiredModels.missing(job.requiredModels, store: modelStore)
            if !missing.isEmpty { throw APIError(.conflict, "models_missing", "models not installed: \(missing.joined(separator: ", "))", models: missing) }
            let result = try job.run(in: context)
            let outputs = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
            let outputList = String(decoding: try JSONEncoder().encode(outputs), as: UTF8.self)
            final = try store.update(id) { job in
                job.state = .succeeded
                job.result = self.scrubber.relative(String(decoding: result, as: UTF8.self))
                job.outputs = outputList
                job.finishedAt = Date().timeIntervalSince1970
            }
        } catch {
            try? FileManager.default.removeItem(at: directory)
            if token.reason == .shutdown {
                // Stopped with the server: back in the queue for the next start, this attempt not counted.
                _ = try? store.update(id) { job in
                    job.state = .queued
                    job.attempts = max(0, job.attempts - 1)
                    job.startedAt = nil
                    job.progress = nil
                    job.note = "re-queued: the server was stopped while this job was running"
                }
                logger.notice("server: job \(id) stopped with the server; it runs again at the next start")
                return
            }
            let cancelled = token.reason == .cancelled
            let message = cancelled ? "cancelled while running; no partial output was kept" : APIError.from(error, scrubber: scrubber).message
            final = try? store.update(id) { job in
                job.state = cancelled ? .cancelled : .failed
                job.error = message
                job.finishedAt = Date().timeIntervalSince1970
            }
            if !cancelled { logger.warning("server: job \(id) failed: \(message)") }
        }
        guard let final else { return }
        metrics.jobFinished(kind: final.kind, state: final.state, seconds: (final.finishedAt ?? started) - started)
        logger.info("server: job \(id) \(final.state.rawValue) in \(String(format: "%.1f", (final.finishedAt ?? started) - started)) s")
        publishState(final)
    }

    /// Progress to followers a few times a second, to the store once a second, stage times to metrics.
    private func progressSink(_ id: String, kind: String) -> ProgressSink {
        let last = Locked<(sent: UInt64, saved: UInt64)>((0, 0))
        return { [weak self] progress in
            guard let self else { return }
            // The clock is read under the lock: a sink called from several threads never sees time go back.
            let (send, save) = last.withLock { t -> (Bool, Bool) in
                let now = DispatchTime.now().uptimeNanoseconds
                let send = progress.finished || now > t.sent + 200_000_000
                let save = progress.finished || now > t.saved + 1_000_000_000
                if send { t.sent = now }
                if save { t.saved = now }
                return (send, save)
            }
            guard send, let json = try? JobJSON.data(progress, pretty: false) else { return }
            if progress.finished { metrics.stageFinished(kind: kind, stage: progress.stage, seconds: progress.elapsed) }
            if save { _ = try? store.update(id) { $0.progress = String(decoding: json, as: UTF8.self) } }
            events.publish(id, JobEvent(name: "progress", json: json, isFinal: false))
        }
    }

    func publishState(_ record: JobRecord) {
        guard let json = try? JobJSON.data(JobStatus(record, files: files, position: nil), pretty: false) else { return }
        events.publish(record.id, JobEvent(name: "state", json: json, isFinal: record.state.isFinal))
    }
}

extension NSCondition {
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
