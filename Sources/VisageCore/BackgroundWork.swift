import Foundation

/// A value made on a thread of its own while the caller goes on with other work; `value()` waits for it.
/// Start-up uses it to open a video (probe it and start its decoder, which are other processes) while the
/// models load.
// @unchecked: `result` is written once on the worker thread before `done` is signalled and read only after.
public final class BackgroundWork<Value>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, Error>?

    public init(name: String, _ body: @escaping @Sendable () throws -> Value) {
        let thread = Thread { [self] in
            result = Result { try body() }
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    /// The value, or the error making it threw (waits for it; at once on later calls).
    public func value() throws -> Value {
        done.wait()
        done.signal()
        return try result!.get()
    }
}
