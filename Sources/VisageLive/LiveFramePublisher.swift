import Foundation
import VisageCore

/// Encoded output frames (JPEG) for whoever watches: the HTTP server's MJPEG route, a WebSocket session,
/// a test. Each subscriber gets the newest frames; one that cannot keep up loses frames, never memory,
/// and never slows the pipeline or the other subscribers. No HTTP here: serving is the server module's job.
public final class LiveFramePublisher: Sendable {
    private struct State {
        var subscribers: [Int: AsyncStream<Data>.Continuation] = [:]
        var next = 0
        var latest: Data?
        var published = 0
        var finished = false
    }
    private let state = Locked(State())

    public init() {}

    /// How many subscribers are listening (the output stage encodes frames only then, or now and again
    /// so that `latest` stays fresh).
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Frames published so far.
    public var framesPublished: Int { state.withLock { $0.published } }

    /// The last frame published, if any.
    public var latest: Data? { state.withLock { $0.latest } }

    /// Sends one encoded frame to every subscriber.
    public func publish(_ jpeg: Data) {
        let targets: [AsyncStream<Data>.Continuation] = state.withLock { s in
            s.latest = jpeg
            s.published += 1
            return Array(s.subscribers.values)
        }
        for subscriber in targets { subscriber.yield(jpeg) }
    }

    /// A stream of the frames published from now on; it ends when the publisher finishes.
    public func subscribe(buffering newest: Int = 2) -> AsyncStream<Data> {
        let (stream, continuation) = AsyncStream<Data>.makeStream(bufferingPolicy: .bufferingNewest(newest))
        let id: Int? = state.withLock { s in
            guard !s.finished else { return nil }
            defer { s.next += 1 }
            s.subscribers[s.next] = continuation
            return s.next
        }
        guard let id else { continuation.finish(); return stream }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every subscriber's stream; later subscribers get an empty stream.
    public func finish() {
        let all: [AsyncStream<Data>.Continuation] = state.withLock { s in
            s.finished = true
            defer { s.subscribers.removeAll() }
            return Array(s.subscribers.values)
        }
        for subscriber in all { subscriber.finish() }
    }
}
