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
    private let state = Locked<(free: [Image], owned: Set<ObjectIdentifier>, created: Int)>(([], [], 0))
    /// Buffers made so far (never more than `capacity`).
    public var created: Int { state.withLock { $0.created } }

    public init(width: Int, height: Int, channels: Int = 3, capacity: Int) {
        self.width = width
        self.height = height
        self.channels = channels
        self.capacity = max(1, capacity)
        state.withLock { $0.free.reserveCapacity(self.capacity) }
    }

    /// A free buffer (contents are whatever the last user left), nil when every buffer is in use.
    public func acquire() -> Image? {
        state.withLock { s in
            if let image = s.free.popLast() { return image }
            guard s.created < capacity else { return nil }
            let image = Image(width: width, height: height, channels: channels)
            s.owned.insert(ObjectIdentifier(image.storage))
            s.created += 1
            return image
        }
    }

    /// Gives a buffer back. Images this pool did not make (another size, a copy) are ignored.
    public func recycle(_ image: Image) {
        state.withLock { s in
            guard s.owned.contains(ObjectIdentifier(image.storage)), image.baseAddress == image.storage.bytes,
                  !s.free.contains(where: { $0.storage === image.storage }) else { return }
            s.free.append(image)
        }
    }

    /// Frees the buffers waiting in the pool (the pool is being retired).
    public func drain() {
        state.withLock { $0.free.removeAll() }
    }

    public var available: Int { state.withLock { $0.free.count + (capacity - $0.created) } }
    public var inUse: Int { state.withLock { $0.created - $0.free.count } }
}
