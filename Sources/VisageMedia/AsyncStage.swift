import Foundation
import VisageCore

/// One pipeline stage on its own thread: it calls `produce` ahead of the consumer and keeps at
/// most `depth` results waiting, so the stage before and the stage after work at the same time
/// (decode ∥ detect ∥ swap ∥ encode) while memory stays bounded. Results come out in order;
/// an error ends the stage and is rethrown to the consumer after the results before it.
public final class AsyncStage<Output>: @unchecked Sendable {
    private let lock = NSCondition()
    private var buffer: [Output] = []
    private var finished = false
    private var failure: Error?
    private var stopped = false
    private let depth: Int
    private let produce: () throws -> Output?

    public init(name: String, depth: Int = 2, produce: @escaping () throws -> Output?) {
        self.depth = max(1, depth)
        self.produce = produce
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    private func run() {
        while true {
            lock.lock()
            while buffer.count >= depth && !stopped { lock.wait() }
            if stopped { finished = true; lock.broadcast(); lock.unlock(); return }
            lock.unlock()
            let item: Output?
            do { item = try produce() } catch {
                lock.lock(); failure = error; finished = true; lock.broadcast(); lock.unlock()
                return
            }
            lock.lock()
            if let item { buffer.append(item) } else { finished = true }
            lock.broadcast()
            lock.unlock()
            if item == nil { return }
        }
    }

    /// The next result in order; nil when the producer is done (or the stage was stopped).
    public func next() throws -> Output? {
        lock.lock(); defer { lock.unlock() }
        while buffer.isEmpty && !finished { lock.wait() }
        if !buffer.isEmpty {
            let item = buffer.removeFirst()
            lock.broadcast()
            return item
        }
        if let failure { throw failure }
        return nil
    }

    /// Stops producing (the thread exits after its current item) and waits until it has.
    public func stop() {
        lock.lock()
        stopped = true
        lock.broadcast()
        while !finished { lock.wait() }
        lock.unlock()
    }
}
