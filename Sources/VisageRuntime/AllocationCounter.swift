import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Heap allocations of this process so far, when it runs with the counting interposer preloaded
/// (scripts/malloc-count: `LD_PRELOAD=…/libmalloc_count.so visage …`); nil otherwise. Benchmarks and
/// `visage diagnose` take differences of it around a frame or a model run to show what the steady
/// state allocates.
public enum AllocationCounter {
    private typealias Calls = @convention(c) () -> UInt64
    private static let function: Calls? = {
        #if os(Linux)
        let handle = dlopen(nil, RTLD_NOW)
        #else
        let handle = UnsafeMutableRawPointer(bitPattern: -2)   // RTLD_DEFAULT
        #endif
        guard let symbol = dlsym(handle, "visage_malloc_calls") else { return nil }
        return unsafeBitCast(symbol, to: Calls.self)
    }()

    /// True when the interposer is loaded.
    public static var isAvailable: Bool { function != nil }

    /// malloc, calloc, realloc and aligned allocations so far (nil without the interposer).
    public static var calls: UInt64? { function?() }
}
