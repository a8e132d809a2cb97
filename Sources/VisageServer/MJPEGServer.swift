import Foundation
import Hummingbird
import Logging
import NIOCore
import VisageCore
import VisageLive

/// MJPEG over HTTP (`multipart/x-mixed-replace`), which any browser and OBS's media source show, for the
/// frames of a `LiveFramePublisher`. The routes are shared by the full server (`/v1/live/{id}/mjpeg`) and
/// the small one `visage live --stream` starts (`MJPEGServer`).
public enum MJPEGRoutes {
    static let boundary = "visageframe"

    /// The endless multipart stream of the publisher's frames, newest first for slow clients.
    public static func stream(_ publisher: LiveFramePublisher) -> Response {
        let parts = publisher.subscribe().map { jpeg -> ByteBuffer in
            var part = ByteBuffer()
            part.reserveCapacity(jpeg.count + 128)
            part.writeString("--\(boundary)\r\nContent-Type: image/jpeg\r\nContent-Length: \(jpeg.count)\r\n\r\n")
            part.writeBytes(jpeg)
            part.writeString("\r\n")
            return part
        }
        return Response(status: .ok,
                        headers: [.contentType: "multipart/x-mixed-replace; boundary=\(boundary)", .cacheControl: "no-cache, no-store"],
                        body: ResponseBody(asyncSequence: parts))
    }

    /// The latest frame as one JPEG, or 503 with Retry-After before the first frame.
    public static func latest(_ publisher: LiveFramePublisher) -> Response {
        guard let jpeg = publisher.latest else {
            return Response(status: .serviceUnavailable, headers: [.retryAfter: "1"], body: ResponseBody(byteBuffer: ByteBuffer(string: "no frame yet\n")))
        }
        return Response(status: .ok, headers: [.contentType: "image/jpeg", .cacheControl: "no-cache"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: jpeg)))
    }

    /// A page that shows the stream.
    public static func page(streamPath: String) -> Response {
        let page = "<!doctype html><title>visage live</title><body style=\"margin:0;background:#111\">" +
            "<img src=\"\(streamPath)\" alt=\"live output (synthetic media)\" style=\"max-width:100%;display:block;margin:auto\"></body>"
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
    }
}

/// The small server of `visage live --stream`: `/` is a page with the stream, `/stream.mjpg` the stream
/// itself, `/frame.jpg` the latest frame. Loopback unless told otherwise (the caller decides and warns).
public final class MJPEGServer: @unchecked Sendable {
    public let host: String
    /// The port bound (the one asked for, or the one the OS chose for port 0).
    public let port: Int
    private let task: Task<Void, Never>
    private let stopped = DispatchSemaphore(value: 0)
    private let executor = SerialThreadExecutor(label: "visage.stream")

    /// Binds and starts serving; throws `LiveError.portInUse` (before anything else starts) when the port
    /// cannot be bound.
    public init(publisher: LiveFramePublisher, host: String = "127.0.0.1", port: Int) throws {
        self.host = host
        let router = Router()
        router.get("/") { _, _ in MJPEGRoutes.page(streamPath: "/stream.mjpg") }
        router.get("/stream.mjpg") { _, _ in MJPEGRoutes.stream(publisher) }
        router.get("/frame.jpg") { _, _ in MJPEGRoutes.latest(publisher) }
        // This logger's own level: the server's routine messages stay out of the live stats on stderr.
        var logger = Logger(label: "visage.stream")
        logger.logLevel = .error
        let started = DispatchSemaphore(value: 0)
        let outcome = Locked<(port: Int?, error: Error?)>((nil, nil))
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "visage"),
                              onServerRunning: { channel in
                                  outcome.withLock { $0.port = channel.localAddress?.port ?? port }
                                  started.signal()
                              }, logger: logger)
        // The server's tasks run on their own thread, not on Swift's shared pool: `init` waits for the bind
        // synchronously, which must not starve the pool (callers may be on it).
        task = Task(executorPreference: executor) { [stopped] in
            do { try await app.run() } catch {
                outcome.withLock { $0.error = error }
                started.signal()
            }
            stopped.signal()
        }
        if started.wait(timeout: .now() + 20) == .timedOut {
            task.cancel()
            throw LiveError.portInUse(port: port, reason: "the server did not start within 20 s")
        }
        let result = outcome.value
        if let error = result.error {
            let text = "\(error)"
            throw LiveError.portInUse(port: port, reason: text.contains("in use") ? "the address is already in use by another program" : text)
        }
        self.port = result.port ?? port
    }

    /// Stops listening (the publisher's `finish` ends the clients' streams).
    public func stop() {
        task.cancel()
        _ = stopped.wait(timeout: .now() + 5)
    }

    deinit { task.cancel() }
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
