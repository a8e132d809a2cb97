import Foundation
import Hummingbird
import NIOCore
import VisageCore
import VisageJobs
import VisageRuntime

/// `GET /health`: the machine and what the server is doing.
struct HealthReport: Encodable, Sendable {
    struct Queue: Encodable, Sendable {
        var queued: Int
        var running: Int
        var workers: Int
        var capacity: Int
    }
    var status = "ok"
    var version = VisageVersion.string
    var uptimeSeconds: Double
    var mode: String
    var queue: Queue
    var liveSessions: Int
    var modelsInstalled: [String]
    var modelsLoaded: Int
    var residentMB: Double
    /// What `visage doctor --json` reports: OS, CPU, GPUs, ONNX Runtime version, providers available,
    /// the one chosen and why, OpenCV, FFmpeg, cameras, models.
    var system: SystemReport

    enum CodingKeys: String, CodingKey {
        case status, version, mode, queue, system
        case uptimeSeconds = "uptime_s", liveSessions = "live_sessions", modelsInstalled = "models_installed", modelsLoaded = "models_loaded"
        case residentMB = "rss_mb"
    }
}

extension APIServer {
    static func jsonResponse(_ body: Data) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        var data = try JobJSON.data(value, pretty: false)
        data.append(0x0A)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The system part of /health, collected once (it runs ffmpeg and hashes small models).
    func systemReport() -> SystemReport {
        if let cached = system.value { return cached }
        let report = SystemReport.collect(store: modelStore, session: settings.jobSession)
        system.set(report)
        return report
    }

    /// Installed model ids, looked up at most every 2 s (file checks).
    func installedModels() -> [String] {
        let cached = installedCache.value
        if cached.at.timeIntervalSinceNow > -2 { return cached.ids }
        let ids = ModelCatalog.all.filter(modelStore.isInstalled).map(\.id)
        installedCache.set((Date(), ids))
        return ids
    }

    func health() -> HealthReport {
        let depth = scheduler.depth
        return HealthReport(uptimeSeconds: (Date().timeIntervalSince(started) * 10).rounded() / 10, mode: settings.mode.rawValue,
                            queue: .init(queued: depth.queued, running: depth.running, workers: scheduler.workers, capacity: scheduler.capacity),
                            liveSessions: live.count, modelsInstalled: installedModels(),
                            modelsLoaded: models.count, residentMB: (Double(Platform.residentBytes) / 1_048_576 * 10).rounded() / 10,
                            system: systemReport())
    }

    func addSystemRoutes(_ router: Router<ServerContext>) {
        router.get("/health") { _, _ in
            // Under a burst of probes the answer is made at most every 100 ms (it is live enough for a
            // load balancer and keeps /health cheap); the first one collects the system part off the loop.
            let now = DispatchTime.now().uptimeNanoseconds
            // (Another request may have stored a newer answer than `now`: compare, never subtract.)
            if let cached = self.healthCache.value, now < cached.at + 100_000_000 { return Self.jsonResponse(cached.body) }
            let report = self.system.value != nil && self.installedCache.value.at.timeIntervalSinceNow > -2
                ? self.health() : try await self.offLoop { self.health() }
            var body = try JobJSON.data(report, pretty: false)
            body.append(0x0A)
            self.healthCache.withLock { cache in if (cache?.at ?? 0) < now { cache = (now, body) } }
            return Self.jsonResponse(body)
        }
        router.get("/metrics") { _, _ in
            let depth = self.scheduler.depth
            self.metrics.refresh(jobs: try self.store.counts(), queued: depth.queued, running: depth.running, liveSessions: self.live.count,
                                 uptime: Date().timeIntervalSince(self.started))
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: self.metrics.text())))
        }
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: try OpenAPIDocument.text())))
        }
        router.get("/docs") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: try OpenAPIDocument.page())))
        }
    }

    /// Runs blocking work on this server's `blocking` queue, off the event loops.
    func offLoop<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            blocking.addOperation { continuation.resume(with: Result { try body() }) }
        }
    }
}
