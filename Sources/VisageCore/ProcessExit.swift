import Foundation

/// Waits for a child process without Foundation's polling: on Linux `Process.waitUntilExit` runs its run loop
/// in 50 ms steps, so a helper that has already ended still costs up to 50 ms of idle wall-clock time per wait
/// (twice per video: the probe and the decoder). The termination handler fires as soon as the child is reaped.
/// Create it before `process.run()`: it installs the process's termination handler.
public final class ProcessExit: @unchecked Sendable {
    private let exited = DispatchSemaphore(value: 0)

    public init(watching process: Process) {
        process.terminationHandler = { [exited] _ in exited.signal() }
    }

    /// Returns once the process has ended (at once on later calls).
    public func wait() {
        exited.wait()
        exited.signal()
    }
}
