import CVisageOpenCV
import Foundation

/// Turns OpenCV's own worker pool off while work that spreads itself over the cores runs.
///
/// OpenCV splits a warp or a colour conversion over its pool, whose workers spin (and `sched_yield`) for
/// a while after each call. Between a pipeline's own threads that spinning only takes CPU from them: on a
/// 2-core machine `visage au` spent ≈ 9 % of its CPU in the pool's wait loop. Results do not depend on it
/// (OpenCV's parallel loops split rows, each computed the same way). Scopes may nest and overlap across
/// threads: the first one in turns the pool off, the last one out restores the count it found.
public enum OpenCVThreadPool {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var holders = 0
    nonisolated(unsafe) private static var savedThreads: Int32 = 0

    public static func withPoolOff<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        if holders == 0 {
            savedThreads = vcv_num_threads()
            vcv_set_num_threads(1)
        }
        holders += 1
        lock.unlock()
        defer {
            lock.lock()
            holders -= 1
            if holders == 0 { vcv_set_num_threads(savedThreads) }
            lock.unlock()
        }
        return try body()
    }
}
