#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#endif

/// A whole file mapped read-only into memory, unmapped when the last reference goes.
///
/// For large read-mostly data (the CLNF Σ cache) this reads the page cache in place: no copy into fresh
/// memory, which the kernel would first have to fault in and zero page by page.
public final class MappedFile: @unchecked Sendable {
    public let base: UnsafeRawPointer
    public let byteCount: Int

    /// Maps `path`; nil when it cannot be opened or mapped (missing, unreadable, empty, not a regular file).
    public init?(path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0 else { return nil }
        let size = Int(info.st_size)
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED else { return nil }
        base = UnsafeRawPointer(address)
        byteCount = size
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: byteCount) }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), byteCount) }
}
