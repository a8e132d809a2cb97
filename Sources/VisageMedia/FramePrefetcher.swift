import Foundation
import VisageCore

/// The decode stage: frames of a video decoded on their own thread while the caller processes
/// the current one (decode ∥ process), at most `depth` decoded frames in memory.
public final class FramePrefetcher: @unchecked Sendable {
    private let stage: AsyncStage<VideoFrame>

    public init(_ reader: VideoReader, depth: Int = 4) {
        stage = AsyncStage(name: "visage.decode", depth: depth) { try reader.readFrame() }
    }

    /// The next frame in order, nil at the end of the video.
    public func next() throws -> Image? { try stage.next()?.image }

    /// The next frame in order with its timestamp (the reader's `lastTimestamp` runs ahead of the
    /// frame being processed, so the time must travel with the frame), nil at the end.
    public func nextFrame() throws -> VideoFrame? { try stage.next() }

    /// Stops decoding early (after the frame being decoded).
    public func stop() { stage.stop() }

    deinit { stop() }
}
