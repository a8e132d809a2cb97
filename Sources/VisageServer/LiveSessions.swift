import Foundation
import Logging
import VisageCore
import VisageJobs
import VisageLive
import VisageMedia
import VisageRuntime

/// One live session: frames a client pushes (`PushedFrameSource`) through the live job (`LiveJob`, the
/// same pipeline as `visage live`), processed frames to a `LiveFramePublisher` (the WebSocket and the
/// MJPEG route both read it), and JSON messages (session, started, stats, error, mode, ended) for the
/// client. A run of the pipeline starts on the first frame that decodes (its size is the session's) on a
/// thread of its own; when the server's performance mode changes, the run ends and the next frame starts
/// one in the new mode; the session ends when the client closes.
public final class LiveSession: @unchecked Sendable {
    public let id: String
    /// Frames of every run, for the client's socket and the MJPEG route (finished when the session ends).
    public let publisher = LiveFramePublisher()
    public let created = Date()
    /// Text messages for the client, in order (never dropped; they are small and about one a second).
    public let messages: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let context: JobContext
    private let metrics: ServerMetrics
    private let logger: Logger
    private struct State {
        var job: LiveJob
        var source: PushedFrameSource?
        var closed = false
        var activeRuns = 0
        var received = 0
        var rejected = 0
        var last: LiveStats.Snapshot?
        var finished = false
    }
    private let state: Locked<State>
    private let ended = DispatchSemaphore(value: 0)

    init(id: String, job: LiveJob, context: JobContext, metrics: ServerMetrics, logger: Logger) {
        self.id = id
        self.context = context
        self.metrics = metrics
        self.logger = logger
        state = Locked(State(job: job))
        (messages, continuation) = AsyncStream<String>.makeStream()
        send(["type": .string("session"), "id": .string(id), "mjpeg": .string("/v1/live/\(id)/mjpeg"), "mode": .string(job.mode.rawValue)])
    }

    /// The live job the next run uses (its mode follows the server's).
    public var job: LiveJob { state.value.job }
    /// Frames received and frames that did not decode.
    public var counts: (received: Int, rejected: Int) { state.withLock { ($0.received, $0.rejected) } }
    public var lastStats: LiveStats.Snapshot? { state.value.last }
    public var isRunning: Bool { state.value.source != nil }

    /// One frame from the client: a JPEG (or PNG) image. A frame that does not decode gets an error
    /// message and the session goes on.
    public func receive(_ bytes: Data) {
        let number = state.withLock { s -> Int in s.received += 1; return s.received }
        let image: Image
        do { image = try ImageIO.decode(bytes, name: "frame \(number)") } catch {
            state.withLock { $0.rejected += 1 }
            let reason = (error as? VisageError).map { ContentCheck.reason($0) } ?? "\(error)"
            send(["type": .string("error"), "frame": .number(Double(number)),
                  "message": .string("frame \(number) is not a JPEG or PNG image (\(reason)); it was skipped and the session goes on")])
            return
        }
        let (source, run): (PushedFrameSource?, LiveJob?) = state.withLock { s in
            if s.closed { return (nil, nil) }
            if let source = s.source { return (source, nil) }
            let source = PushedFrameSource(name: "websocket \(id)", width: image.width, height: image.height)
            s.source = source
            s.activeRuns += 1
            return (source, s.job)
        }
        guard let source else { return }
        if let run { startRun(run, source: source) }
        source.push(image)
    }

    /// A text message from the client: `{"type": "end"}` ends the input (the pipeline finishes, the
    /// `ended` message with the run's result follows, then the server closes the socket); anything else
    /// is answered with an error and the session goes on.
    public func receive(text: String) {
        if let message = try? JSONDecoder().decode([String: JSONValue].self, from: Data(text.utf8)), message["type"]?.string == "end" {
            close()
            return
        }
        send(["type": .string("error"), "message": .string("send frames as binary messages (JPEG), or {\"type\": \"end\"} to finish; this text message was not understood")])
    }

    /// The server's mode changed: the current run ends and the next frame starts one in `mode`.
    public func follow(mode: LiveModeName) {
        let old: PushedFrameSource? = state.withLock { s in
            guard !s.closed, s.job.mode != mode else { return nil }
            s.job.mode = mode
            defer { s.source = nil }
            return s.source
        }
        old?.close()
    }

    /// The client is gone: the pipeline finishes the frames it has and ends.
    public func close() {
        let (source, idle): (PushedFrameSource?, Bool) = state.withLock { s in
            s.closed = true
            return (s.source, s.activeRuns == 0)
        }
        source?.close()
        if idle { finishSession() }
    }

    /// Stops the pipeline at once (the server stops).
    public func cancel() {
        context.cancellation.cancel(.shutdown)
        close()
    }

    /// Waits until the session has ended (after `close`).
    public func waitUntilEnded(timeout: Double) -> Bool { ended.wait(timeout: .now() + timeout) == .success }

    private func finishSession() {
        let first = state.withLock { s -> Bool in
            defer { s.finished = true }
            return !s.finished
        }
        guard first else { return }
        publisher.finish()
        continuation.finish()
        metrics.liveEnded(session: id)
        ended.signal()
    }

    private func startRun(_ job: LiveJob, source: PushedFrameSource) {
        // Each run has its own publisher (the pipeline finishes it at its end); its frames go on to the session's.
        let run = LiveFramePublisher()
        let frames = run.subscribe(buffering: 2)
        let session = publisher
        Task.detached { for await jpeg in frames { session.publish(jpeg) } }
        let thread = Thread { [self] in
            var message: [String: JSONValue] = [:]
            do {
                let result = try job.run(in: context, source: source, publisher: run, onStats: { [self] snapshot in
                    state.withLock { $0.last = snapshot }
                    metrics.live(session: id, fps: snapshot.fps, latencyMs: snapshot.latencyMs, dropped: snapshot.dropped + source.dropped)
                    if let stats = try? JSONValue(json: JobJSON.data(snapshot, pretty: false)) {
                        send(["type": .string("stats"), "stats": stats])
                    }
                }, onStart: { [self] summary in
                    logger.info("server: live session \(id): \(summary.line)")
                    send(["type": .string("started"), "summary": .string(summary.line), "size": .string(summary.size), "work": .string(summary.work),
                          "mode": .string(summary.mode)])
                })
                if let value = try? JSONValue(json: JobJSON.data(result, pretty: false)) { message["result"] = value }
                logger.info("server: live session \(id): a run ended: \(result.frames) frames, \(String(format: "%.1f", result.fps)) fps")
            } catch {
                run.finish()
                send(["type": .string("error"), "fatal": .bool(true), "message": .string("the live pipeline stopped: \(error)")])
                logger.warning("server: live session \(id) failed: \(error)")
            }
            let (closed, last, mode): (Bool, Bool, LiveModeName) = state.withLock { s in
                s.activeRuns -= 1
                return (s.closed, s.activeRuns == 0, s.job.mode)
            }
            if closed {
                message["type"] = .string("ended")
                send(message)
                if last { finishSession() }
            } else {
                message["type"] = .string("mode")
                message["mode"] = .string(mode.rawValue)
                send(message)
            }
        }
        thread.name = "visage.live.\(id.prefix(8))"
        thread.stackSize = 16 << 20
        thread.start()
    }

    func send(_ object: [String: JSONValue]) {
        guard let data = try? JobJSON.data(JSONValue.object(object), pretty: false) else { return }
        continuation.yield(String(decoding: data, as: UTF8.self))
    }
}

/// The live sessions of the server, by id, up to a limit.
public final class LiveSessions: Sendable {
    private let sessions = Locked<[String: LiveSession]>([:])
    public let limit: Int

    init(limit: Int) { self.limit = limit }

    public var count: Int { sessions.withLock { $0.count } }
    public func session(_ id: String) -> LiveSession? { sessions.withLock { $0[id] } }
    public var all: [LiveSession] { sessions.withLock { Array($0.values) }.sorted { $0.created < $1.created } }

    /// Adds a session; false when the limit is reached.
    func add(_ session: LiveSession) -> Bool {
        sessions.withLock { s in
            guard s.count < limit else { return false }
            s[session.id] = session
            return true
        }
    }

    func remove(_ id: String) { sessions.withLock { _ = $0.removeValue(forKey: id) } }

    func cancelAll() { for session in all { session.cancel() } }

    /// New mode: every session's next run uses it.
    func follow(mode: LiveModeName) { for session in all { session.follow(mode: mode) } }
}
