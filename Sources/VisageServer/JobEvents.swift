import Foundation
import VisageCore

/// One server-sent event of a job: `progress` (a `JobProgress`) or `state` (the job's status); the
/// stream ends after a `state` event whose state is final.
public struct JobEvent: Sendable {
    public var name: String
    public var json: Data
    public var isFinal: Bool

    /// The event as it goes on the wire (text/event-stream).
    public var wire: String { "event: \(name)\ndata: \(String(decoding: json, as: UTF8.self))\n\n" }
}

/// Hands a job's events to whoever follows it (SSE clients). Slow followers lose progress events, never
/// the final state: each follower buffers the newest few.
public final class JobEvents: Sendable {
    private let followers = Locked<[String: [Int: AsyncStream<JobEvent>.Continuation]]>([:])
    private let next = Locked(0)

    public init() {}

    public func follow(_ job: String) -> AsyncStream<JobEvent> {
        let (stream, continuation) = AsyncStream<JobEvent>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let id = next.withLock { n -> Int in n += 1; return n }
        followers.withLock { $0[job, default: [:]][id] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.followers.withLock { all in
                all[job]?[id] = nil
                if all[job]?.isEmpty == true { all[job] = nil }
            }
        }
        return stream
    }

    public func publish(_ job: String, _ event: JobEvent) {
        let targets = followers.withLock { Array(($0[job] ?? [:]).values) }
        for target in targets {
            target.yield(event)
            if event.isFinal { target.finish() }
        }
    }

    public func followerCount(_ job: String) -> Int { followers.withLock { $0[job]?.count ?? 0 } }
}
