import Foundation
import Hummingbird
import Logging
import NIOCore
import VisageCore

/// Serves the live output as MJPEG over HTTP (`multipart/x-mixed-replace`), which any browser and
/// OBS's media source show: `/` is a page with the stream, `/stream.mjpg` the stream itself,
/// `/frame.jpg` the latest frame. Each client gets the newest frame; a slow client skips frames
/// instead of slowing the pipeline or the other clients.
public final class MJPEGServer: @unchecked Sendable {
    public let host: String
    /// The port bound (the one asked for, or the one the OS chose for port 0).
    public private(set) var port = 0
    static let boundary = "visageframe"

    private let lock = NSLock()
    private var clients: [Int: AsyncStream<ByteBuffer>.Continuation] = [:]
    private var nextClient = 0
    private var latest: ByteBuffer?
    private var published = 0
    private var task: Task<Void, Never>?
    private let stopped = DispatchSemaphore(value: 0)
    private let executor = SerialThreadExecutor(label: "visage.stream")

    /// Binds and starts serving; throws `LiveError.portInUse` (before anything else starts) when
    /// the port cannot be bound.
    public init(host: String = "0.0.0.0", port: Int) throws {
        self.host = host
        let router = Router()
        router.get("/") { _, _ -> Response in
            let page = "<!doctype html><title>visage live</title><body style=\"margin:0;background:#111\">" +
                "<img src=\"/stream.mjpg\" style=\"max-width:100%;display:block;margin:auto\"></body>"
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
        }
        router.get("/stream.mjpg") { [weak self] _, _ -> Response in
            guard let self else { return Response(status: .serviceUnavailable) }
            return Response(status: .ok,
                            headers: [.contentType: "multipart/x-mixed-replace; boundary=\(Self.boundary)", .cacheControl: "no-cache, no-store"],
                            body: ResponseBody(asyncSequence: self.subscribe()))
        }
        router.get("/frame.jpg") { [weak self] _, _ -> Response in
            guard let self, let jpeg = self.latestJPEG() else {
                return Response(status: .serviceUnavailable, headers: [.retryAfter: "1"], body: ResponseBody(byteBuffer: ByteBuffer(string: "no frame yet\n")))
            }
            return Response(status: .ok, headers: [.contentType: "image/jpeg", .cacheControl: "no-cache"], body: ResponseBody(byteBuffer: jpeg))
        }
        var logger = Logger(label: "visage.stream")
        logger.logLevel = .critical
        let started = DispatchSemaphore(value: 0)
        let outcome = StartOutcome()
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "visage"),
                              onServerRunning: { channel in
                                  outcome.set(port: channel.localAddress?.port ?? port)
                                  started.signal()
                              }, logger: logger)
        // The server's tasks run on their own thread, not on Swift's shared pool: `init` waits for
        // the bind synchronously, which must not starve the pool (callers may be on it).
        task = Task(executorPreference: executor) { [stopped] in
            do { try await app.run() } catch {
                outcome.set(error: error)
                started.signal()
            }
            stopped.signal()
        }
        if started.wait(timeout: .now() + 20) == .timedOut {
            task?.cancel()
            throw LiveError.portInUse(port: port, reason: "the server did not start within 20 s")
        }
        if let error = outcome.error {
            let text = "\(error)"
            let reason = text.contains("in use") ? "the address is already in use by another program" : text
            throw LiveError.portInUse(port: port, reason: reason)
        }
        self.port = outcome.port ?? port
    }

    /// Whether anyone is watching (the output stage encodes JPEGs only then, or now and again
    /// for `/frame.jpg`).
    public var clientCount: Int { lock.lock(); defer { lock.unlock() }; return clients.count }

    /// Frames handed to the server so far.
    public var framesPublished: Int { lock.lock(); defer { lock.unlock() }; return published }

    /// Sends one encoded JPEG to every client.
    public func publish(jpeg: Data) {
        var part = ByteBuffer()
        part.reserveCapacity(jpeg.count + 128)
        part.writeString("--\(Self.boundary)\r\nContent-Type: image/jpeg\r\nContent-Length: \(jpeg.count)\r\n\r\n")
        part.writeBytes(jpeg)
        part.writeString("\r\n")
        lock.lock()
        latest = ByteBuffer(bytes: jpeg)
        published += 1
        let targets = Array(clients.values)
        lock.unlock()
        for client in targets { client.yield(part) }
    }

    private func latestJPEG() -> ByteBuffer? { lock.lock(); defer { lock.unlock() }; return latest }

    private func subscribe() -> AsyncStream<ByteBuffer> {
        // Newest-2 buffering: a client that cannot keep up loses frames, never memory.
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingNewest(2))
        lock.lock()
        let id = nextClient
        nextClient += 1
        clients[id] = continuation
        lock.unlock()
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            self.lock.lock(); self.clients.removeValue(forKey: id); self.lock.unlock()
        }
        return stream
    }

    /// Ends every client's stream and stops listening.
    public func stop() {
        lock.lock()
        let all = Array(clients.values)
        clients.removeAll()
        let running = task
        task = nil
        lock.unlock()
        for client in all { client.finish() }
        guard let running else { return }
        running.cancel()
        _ = stopped.wait(timeout: .now() + 5)
    }

    deinit { stop() }
}

private final class StartOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var port: Int?
    private(set) var error: Error?
    func set(port: Int) { lock.lock(); self.port = port; lock.unlock() }
    func set(error: Error) { lock.lock(); self.error = error; lock.unlock() }
}

/// Runs jobs on one serial dispatch queue (which has a thread of its own whatever the Swift pool does).
final class SerialThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let queue: DispatchQueue
    init(label: String) { queue = DispatchQueue(label: label) }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
