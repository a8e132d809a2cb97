import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import VisageCore
import VisageJobs
import VisageRuntime

/// `visage serve`: the HTTP API over the job layer. Holds the process's shared state — the job store
/// (SQLite), uploads and results on disk, the scheduler and its workers, live sessions, settings, the
/// one model registry that jobs and live sessions share, metrics — and builds the router over it. No
/// face processing happens here: jobs come from `VisageJobs`, the live pipeline from `VisageLive`.
public final class APIServer: Sendable {
    public let configuration: ServerConfiguration
    public let store: JobStore
    public let files: FileStore
    public let scheduler: JobScheduler
    public let settings: ServerSettings
    public let live: LiveSessions
    public let metrics: ServerMetrics
    public let modelStore: ModelStore
    /// Loaded models, shared by every job and live session of the process.
    public let models: ModelRegistry
    public let retention: Retention
    let scrubber: PathScrubber
    let started = Date()
    let system = Locked<SystemReport?>(nil)
    let installedCache = Locked<(at: Date, ids: [String])>((.distantPast, []))
    let healthCache = Locked<(at: UInt64, body: Data)?>(nil)
    private let sweeper = Locked<Task<Void, Never>?>(nil)
    /// Blocking work (database writes, file checks, decoding, installs) runs here, off the event loops, on
    /// a few threads: a burst of requests queues up instead of making a thread (and a malloc arena) each.
    /// One queue per server, so one server's slow work never holds up another's in the same process.
    let blocking: OperationQueue = {
        let queue = OperationQueue()
        queue.name = "visage.server.blocking"
        queue.maxConcurrentOperationCount = max(2, Platform.logicalCores)
        return queue
    }()
    let logger = VisageLog.logger("server")

    /// Opens (or creates) the data directory and its database. Nothing runs until `start`.
    public init(configuration: ServerConfiguration, modelStore: ModelStore = ModelStore(), models: ModelRegistry = ModelRegistry()) throws {
        try configuration.validate()
        self.configuration = configuration
        files = try FileStore(root: configuration.dataDirectory)
        store = try JobStore(path: files.root.appendingPathComponent("visage.sqlite"))
        scrubber = PathScrubber(dataDirectory: files.root)
        metrics = ServerMetrics()
        self.modelStore = modelStore
        self.models = models
        settings = try ServerSettings(store: store, start: configuration.mode, base: try SessionConfig.fromEnvironment(), maxJobs: configuration.maxJobs)
        scheduler = JobScheduler(store: store, files: files, events: JobEvents(), metrics: metrics, settings: settings, modelStore: modelStore,
                                 models: models, scrubber: scrubber, workers: configuration.maxJobs, capacity: configuration.maxQueue)
        live = LiveSessions(limit: configuration.maxLiveSessions)
        retention = Retention(store: store, files: files, keep: configuration.keep, quota: configuration.quota)
    }

    /// Recovers jobs from the last run, starts the workers and the retention sweeps.
    public func start() throws {
        try scheduler.start()
        let interval = configuration.sweepInterval
        sweeper.set(Task.detached { [retention, logger] in
            while !Task.isCancelled {
                do {
                    let sweep = try retention.sweep()
                    if sweep.bytesFreed > 0 || !sweep.filesRemoved.isEmpty || !sweep.resultsRemoved.isEmpty {
                        logger.info("server: retention removed \(sweep.filesRemoved.count) upload(s) and the results of \(sweep.resultsRemoved.count) job(s), \(sweep.bytesFreed / 1_048_576) MB")
                    }
                } catch {
                    logger.warning("server: retention sweep failed: \(error)")
                }
                try? await Task.sleep(for: .seconds(interval))
            }
        })
    }

    /// Stops live sessions and workers (running jobs go back to the queue for the next start).
    public func stop() {
        sweeper.value?.cancel()
        live.cancelAll()
        scheduler.stop()
    }

    /// The router with every route of the API.
    public func router() -> Router<ServerContext> {
        let router = Router(context: ServerContext.self)
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        if let origin = configuration.corsOrigin {
            router.add(middleware: CORSMiddleware(allowOrigin: .custom(origin), allowHeaders: [.accept, .authorization, .contentType, .origin, .range],
                                                  allowMethods: [.get, .post, .put, .delete, .head, .options],
                                                  exposedHeaders: ["Content-Range", "Accept-Ranges", "Location", "Retry-After"]))
        }
        router.add(middleware: ErrorMiddleware(scrubber: scrubber))
        router.add(middleware: TokenAuthMiddleware(clients: configuration.clients))
        addSystemRoutes(router)
        addFileRoutes(router)
        addJobRoutes(router)
        addSettingsAndModelRoutes(router)
        addLiveRoutes(router)
        addWebRoutes(router)
        return router
    }

    /// The Hummingbird application on the configured address (HTTP/1.1 with the WebSocket upgrade).
    public func application(onListening: @escaping @Sendable (Int) -> Void = { _ in }) -> some ApplicationProtocol {
        let router = router()
        var logger = Logger(label: "visage.http")
        logger.logLevel = .warning
        let http1 = HTTP1Channel.Configuration(idleTimeout: .seconds(Int64(configuration.idleTimeout)))
        return Application(router: router,
                           server: .http1WebSocketUpgrade(webSocketRouter: router,
                                                          configuration: .init(http1: http1, ws: .init(maxFrameSize: 16 << 20))),
                           configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "visage"),
                           onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
                           logger: logger)
    }

    /// Runs until `stop` is cancelled: starts the workers, serves, and on the way out stops live sessions
    /// and puts running jobs back in the queue. Throws when the address cannot be bound.
    public func run(until stop: CancellationToken, onListening: @escaping @Sendable (Int) -> Void = { _ in }) throws {
        try start()
        defer { self.stop() }
        let app = application(onListening: onListening)
        let failure = Locked<Error?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = Task.detached {
            do { try await app.run() } catch { failure.keepFirst(error) }
            done.signal()
        }
        stop.onCancel { _ in task.cancel() }
        done.wait()
        if let error = failure.value {
            let text = "\(error)"
            throw VisageError.invalidArgument("cannot listen on \(configuration.host):\(configuration.port): \(text.contains("in use") ? "the address is already in use by another program (choose another --port)" : text)")
        }
    }
}
