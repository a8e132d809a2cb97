import Foundation

/// A bounded FIFO between two pipeline stages, each on its own thread.
///
/// `.dropOldest` is for live sources: `push` never waits; when the queue is full the oldest
/// waiting item is removed and handed back (so a frame buffer can go back to its pool) — the
/// camera is never blocked and the consumer always gets the newest frames, still in order.
/// `.block` is for files processed as fast as possible: `push` waits for room, nothing is lost.
public final class LatestFrameQueue<Element>: @unchecked Sendable {
    public enum Policy: Sendable { case dropOldest, block }

    public let capacity: Int
    public let policy: Policy
    private let lock = NSCondition()
    private var ring: [Element?]
    private var head = 0
    private var count = 0
    private var closed = false
    public private(set) var pushed = 0
    private var droppedCount = 0

    public init(capacity: Int, policy: Policy) {
        self.capacity = max(1, capacity)
        self.policy = policy
        ring = Array(repeating: nil, count: max(1, capacity))
    }

    /// Adds `item` at the back. Returns what did not stay in the queue: the dropped oldest item
    /// (`.dropOldest` on a full queue), or `item` itself when the queue was already closed.
    @discardableResult
    public func push(_ item: Element) -> Element? {
        lock.lock(); defer { lock.unlock() }
        if policy == .block { while count == capacity && !closed { lock.wait() } }
        if closed { return item }
        var dropped: Element?
        if count == capacity {
            dropped = ring[head]
            ring[head] = nil
            head = (head + 1) % capacity
            count -= 1
            droppedCount += 1
        }
        ring[(head + count) % capacity] = item
        count += 1
        pushed += 1
        lock.broadcast()
        return dropped
    }

    /// The oldest item; waits while the queue is empty. Nil once the queue is closed and drained.
    public func pop() -> Element? {
        lock.lock(); defer { lock.unlock() }
        while count == 0 && !closed { lock.wait() }
        return takeFront()
    }

    /// The oldest item if one is waiting, without waiting.
    public func tryPop() -> Element? {
        lock.lock(); defer { lock.unlock() }
        return takeFront()
    }

    private func takeFront() -> Element? {
        guard count > 0 else { return nil }
        let item = ring[head]
        ring[head] = nil
        head = (head + 1) % capacity
        count -= 1
        lock.broadcast()
        return item
    }

    /// No more pushes: consumers drain what is queued, then get nil; blocked producers return.
    public func close() {
        lock.lock(); closed = true; lock.broadcast(); lock.unlock()
    }

    /// Closes and empties the queue, returning what was waiting (to recycle it).
    public func cancel() -> [Element] {
        lock.lock(); defer { lock.unlock() }
        closed = true
        var rest: [Element] = []
        while let item = takeFront() { rest.append(item) }
        lock.broadcast()
        return rest
    }

    public var dropped: Int { lock.lock(); defer { lock.unlock() }; return droppedCount }
    public var waiting: Int { lock.lock(); defer { lock.unlock() }; return count }
    public var isClosed: Bool { lock.lock(); defer { lock.unlock() }; return closed }
}
