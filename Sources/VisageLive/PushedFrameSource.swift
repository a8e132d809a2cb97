import Foundation
import VisageCore
import VisageMedia

/// Frames a client pushes at its own pace — a browser's webcam over a WebSocket — as a live source. The
/// front end decodes each frame and hands it to `push`; the pipeline's capture stage reads them in order.
/// When the pipeline is behind, the oldest waiting frame is dropped (the client never waits), as for a
/// camera. `close` ends the source: `read` then returns false and the pipeline finishes.
public final class PushedFrameSource: LiveSource, @unchecked Sendable {
    public let name: String
    /// The size every frame is delivered at (the first frame's; later frames of another size are resized).
    public let width: Int
    public let height: Int
    /// The rate the client says it sends at (0: unknown).
    public let fps: Double
    public let isLive = true
    private let queue: LatestFrameQueue<Image>

    /// - Parameter waiting: frames that may wait for the pipeline before the oldest is dropped.
    public init(name: String, width: Int, height: Int, fps: Double = 0, waiting: Int = 2) {
        self.name = name
        self.width = width / 2 * 2
        self.height = height / 2 * 2
        self.fps = fps
        queue = LatestFrameQueue(capacity: max(1, waiting), policy: .dropOldest)
    }

    /// Hands in the next frame; false once the source is closed. Never waits.
    @discardableResult
    public func push(_ frame: Image) -> Bool {
        guard !queue.isClosed else { return false }
        _ = queue.push(frame)
        return true
    }

    /// Frames dropped here because the pipeline was behind.
    public var dropped: Int { queue.dropped }

    /// No more frames: the pipeline ends after the ones already waiting.
    public func close() { queue.close() }

    public func read(into frame: Image) throws -> Bool {
        guard let next = queue.pop() else { return false }
        if next.width == frame.width && next.height == frame.height && next.channels == frame.channels {
            for y in 0..<frame.height {
                frame.baseAddress.advanced(by: y * frame.stride).copyMemory(from: next.baseAddress.advanced(by: y * next.stride),
                                                                            byteCount: frame.rowBytes)
            }
        } else {
            try ImageOps.resize(next, into: frame, interpolation: .area)
        }
        return true
    }
}
