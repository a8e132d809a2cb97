import Dispatch
import Foundation

/// Ctrl-C / SIGTERM turned into a flag that long loops poll, so they can stop cleanly (finish or
/// discard temporary outputs) instead of dying mid-write.
public enum Interrupt {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    private static let lock = NSLock()
    nonisolated(unsafe) private static var flag = false

    /// Starts listening for SIGINT and SIGTERM (idempotent).
    public static func install() {
        lock.lock(); defer { lock.unlock() }
        guard sources.isEmpty else { return }
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                lock.lock(); flag = true; lock.unlock()
                FileHandle.standardError.write(Data("\nvisage: interrupted; stopping cleanly (press Ctrl-C again to force)\n".utf8))
                signal(sig, SIG_DFL)   // a second signal ends the process at once
            }
            source.resume()
            sources.append(source)
        }
    }

    public static var requested: Bool { lock.lock(); defer { lock.unlock() }; return flag }

    /// Throws `VisageError.interrupted` once a stop was requested.
    public static func check() throws { if requested { throw VisageError.interrupted } }
}
