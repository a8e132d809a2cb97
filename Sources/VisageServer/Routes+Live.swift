import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import NIOCore
import VisageCore
import VisageJobs
import VisageLive

/// A live session as `GET /v1/live` lists it.
struct LiveSessionInfo: Encodable, Sendable {
    var id: String
    var mode: String
    var running: Bool
    var framesReceived: Int
    var framesRejected: Int
    var fps: Double?
    var latencyMs: Double?
    var mjpeg: String
    enum CodingKeys: String, CodingKey {
        case id, mode, running, fps, mjpeg
        case framesReceived = "frames_received", framesRejected = "frames_rejected", latencyMs = "latency_ms"
    }
}

extension APIServer {
    /// Options a live session takes from its query string (as `visage live` spells them); the rest of the
    /// live job's options name things on the server's machine (cameras, files, windows) and are refused.
    static let liveOptions: Set<String> = ["swap-face", "swapper", "many-faces", "mouth-mask", "opacity", "watermark", "detector", "mode",
                                           "target-fps", "adapt", "sequential", "max-frames", "duration"]

    /// The live job a WebSocket's query asks for, checked (400 naming the option, 409 for missing models).
    func liveJob(_ query: [(String, String)]) throws -> LiveJob {
        var object: [String: JSONValue] = ["input": .string("websocket"), "mode": .string(settings.mode.rawValue)]
        for (name, value) in query where name != "access_token" {
            guard Self.liveOptions.contains(name) else {
                let known = LiveJob.optionNames.contains(name)
                throw APIError.badRequest(known ? "option '\(name)' names something on the server's machine and cannot be set by a client"
                                                : "unknown live option '\(name)' (options: \(Self.liveOptions.sorted().joined(separator: ", ")))",
                                          field: "query.\(name)")
            }
            if name == "swap-face" {
                object[name] = .string(try scheduler.inputPath(value, field: "query.swap-face").path)
            } else if value == "true" || value == "false" {
                object[name] = .bool(value == "true")
            } else if let number = Double(value), name != "detector" {
                object[name] = .number(number)
            } else {
                object[name] = .string(value)
            }
        }
        let job: LiveJob
        do { job = try JSONDecoder().decode(LiveJob.self, from: try JSONEncoder().encode(object)) } catch let error as DecodingError {
            let field = JobRequestError(error, prefix: "query")
            throw APIError(.badRequest, "invalid_field", field.message, field: field.field)
        }
        try job.validateOptions()
        let missing = try RequiredModels.missing(job.requiredModels, store: modelStore)
        if !missing.isEmpty {
            throw APIError(.conflict, "models_missing", "this session needs models that are not installed: \(missing.joined(separator: ", "))",
                           models: missing)
        }
        return job
    }

    func addLiveRoutes(_ router: Router<ServerContext>) {
        router.get("/v1/live") { _, _ in
            try self.json(self.live.all.map { session in
                let counts = session.counts
                return LiveSessionInfo(id: session.id, mode: session.job.mode.rawValue, running: session.isRunning, framesReceived: counts.received,
                                       framesRejected: counts.rejected, fps: session.lastStats?.fps, latencyMs: session.lastStats?.latencyMs,
                                       mjpeg: "/v1/live/\(session.id)/mjpeg")
            })
        }
        router.get("/v1/live/:id/mjpeg") { _, context in
            let id = try context.parameters.require("id")
            guard FileStore.isJobID(Substring(id)), let session = self.live.session(id) else { throw APIError.notFound("live session") }
            return MJPEGRoutes.stream(session.publisher)
        }
        router.ws("/v1/live/socket", shouldUpgrade: { request, _ in
            _ = try self.liveJob(Self.pairs(request.uri.queryParameters))
            guard self.live.count < self.live.limit else {
                var error = APIError(.tooManyRequests, "sessions_full", "\(self.live.limit) live session(s) are running, the most this server allows (--max-live)")
                error.headers[.retryAfter] = "10"
                throw error
            }
            return .upgrade([:])
        }, onUpgrade: { inbound, outbound, context in
            try await self.serveLive(inbound: inbound, outbound: outbound, query: Self.pairs(context.request.uri.queryParameters),
                                     client: context.requestContext.client)
        })
    }

    static func pairs(_ query: FlatDictionary<Substring, Substring>) -> [(String, String)] {
        query.map { (String($0.key), String($0.value)) }
    }

    /// One WebSocket: JPEG frames in, processed JPEG frames and JSON messages out, until the client closes.
    func serveLive(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, query: [(String, String)], client: String) async throws {
        let job = try liveJob(query)
        let id = UUID().uuidString.lowercased()
        let context = JobContext(store: modelStore, session: settings.liveSession, models: models,
                                 cancellation: CancellationToken(parent: scheduler.shutdown), logger: logger)
        let session = LiveSession(id: id, job: job, context: context, metrics: metrics, logger: logger)
        guard live.add(session) else {
            try await outbound.write(.text("{\"type\":\"error\",\"fatal\":true,\"message\":\"the server's live sessions are all taken; try again later\"}"))
            return
        }
        logger.info("server: live session \(id) opened by \(client) (mode \(job.mode.rawValue)\(job.swapFace != nil ? ", swap" : ""))")
        defer {
            session.close()
            live.remove(id)
        }
        await withTaskGroup(of: Void.self) { group in
            let frames = session.publisher.subscribe(buffering: 2)
            group.addTask {
                for await jpeg in frames { try? await outbound.write(.binary(ByteBuffer(bytes: jpeg))) }
            }
            group.addTask { [logger] in
                do {
                    for try await message in inbound.messages(maxSize: 16 << 20) {
                        switch message {
                        case .binary(let buffer): session.receive(Data(buffer.readableBytesView))
                        case .text(let text): session.receive(text: text)
                        }
                    }
                } catch {
                    logger.info("server: live session \(id): the connection ended: \(error)")
                }
                // The client closed: the pipeline finishes the frames it has and ends.
                session.close()
            }
            // Messages end when the pipeline has ended (after its "ended" message); then the socket closes.
            for await text in session.messages { try? await outbound.write(.text(text)) }
            group.cancelAll()
        }
    }
}
