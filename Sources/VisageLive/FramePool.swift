import Foundation
import VisageCore

/// Preallocated frame buffers of one size, handed round the pipeline: capture fills one, the
/// output stage gives it back, so steady state allocates no frame memory. Buffers are created on
/// demand up to `capacity`; when all are in flight `acquire` returns nil and the caller drops
/// the frame instead of allocating (the camera is never blocked).
public final class FramePool: @unchecked Sendable {
    public let width: Int
    public let height: Int
    public let channels: Int
    public let capacity: Int
    private let lock = NSLock()
    private var free: [Image] = []
    private var owned = Set<ObjectIdentifier>()
    public private(set) var created = 0

    public init(width: Int, height: Int, channels: Int = 3, capacity: Int) {
        self.width = width
        self.height = height
        self.channels = channels
        self.capacity = max(1, capacity)
        free.reserveCapacity(self.capacity)
    }

    /// A free buffer (contents are whatever the last user left), nil when every buffer is in use.
    public func acquire() -> Image? {
        lock.lock(); defer { lock.unlock() }
        if let image = free.popLast() { return image }
        guard created < capacity else { return nil }
        let image = Image(width: width, height: height, channels: channels)
        owned.insert(ObjectIdentifier(image.storage))
        created += 1
        return image
    }

    /// Gives a buffer back. Images this pool did not make (another size, a copy) are ignored.
    public func recycle(_ image: Image) {
        lock.lock(); defer { lock.unlock() }
        guard owned.contains(ObjectIdentifier(image.storage)), image.baseAddress == image.storage.bytes,
              !free.contains(where: { $0.storage === image.storage }) else { return }
        free.append(image)
    }

    /// Frees the buffers waiting in the pool (the pool is being retired).
    public func drain() {
        lock.lock(); free.removeAll(); lock.unlock()
    }

    public var available: Int { lock.lock(); defer { lock.unlock() }; return free.count + (capacity - created) }
    public var inUse: Int { lock.lock(); defer { lock.unlock() }; return created - free.count }
}
