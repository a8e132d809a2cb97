import Foundation

/// Why work was asked to stop.
public enum CancellationReason: Sendable, Equatable {
    /// Ctrl-C or SIGTERM in the command line tool.
    case interrupted
    /// A client cancelled the job (the server's DELETE, a UI button).
    case cancelled
    /// The process is shutting down (the server stops).
    case shutdown
}

/// A per-job stop request. Long loops call `check()` once per frame (or per item) and stop there, throwing
/// the error that names the reason; the job then removes its temporary outputs. A token may have a parent:
/// cancelling the parent (process shutdown, Ctrl-C) cancels every child, cancelling a child (one job)
/// leaves the others running.
public final class CancellationToken: Sendable {
    private let state = Locked<(reason: CancellationReason?, handlers: [@Sendable (CancellationReason) -> Void], linked: Bool)>((nil, [], false))
    private let parent: CancellationToken?

    public init(parent: CancellationToken? = nil) { self.parent = parent }

    /// A token nobody cancels (library callers that have no job around them).
    public static var none: CancellationToken { CancellationToken() }

    /// Asks the work to stop. The first reason wins; handlers run once, on the calling thread.
    public func cancel(_ reason: CancellationReason = .cancelled) {
        let handlers: [@Sendable (CancellationReason) -> Void] = state.withLock { s in
            guard s.reason == nil else { return [] }
            s.reason = reason
            defer { s.handlers = [] }
            return s.handlers
        }
        for handler in handlers { handler(reason) }
    }

    /// The reason, if this token or its parent was cancelled.
    public var reason: CancellationReason? { state.value.reason ?? parent?.reason }

    public var isCancelled: Bool { reason != nil }

    /// Throws `VisageError.interrupted` or `.cancelled` once a stop was asked for.
    public func check() throws {
        switch reason {
        case nil: return
        case .interrupted?: throw VisageError.interrupted
        case .cancelled?, .shutdown?: throw VisageError.cancelled
        }
    }

    /// Calls `handler` when the token is cancelled (at once if it already is), e.g. to stop a helper
    /// process that blocks on I/O and cannot poll.
    public func onCancel(_ handler: @escaping @Sendable (CancellationReason) -> Void) {
        let (already, link): (CancellationReason?, Bool) = state.withLock { s in
            if let reason = s.reason { return (reason, false) }
            s.handlers.append(handler)
            defer { s.linked = true }
            return (nil, !s.linked)
        }
        if let already { handler(already); return }
        // The parent learns about this child only once it has someone to tell.
        if link, let parent { parent.onCancel { [weak self] reason in self?.cancel(reason) } }
    }
}
