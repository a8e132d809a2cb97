import Foundation
import VisageCore

/// The decode stage: frames of a video decoded on their own thread while the caller processes
/// the current one (decode ∥ process), at most `depth` decoded frames in memory.
public final class FramePrefetcher: @unchecked Sendable {
    private let stage: AsyncStage<Image>

    public init(_ reader: VideoReader, depth: Int = 4) {
        stage = AsyncStage(name: "visage.decode", depth: depth) { try reader.read() }
    }

    /// The next frame in order, nil at the end of the video.
    public func next() throws -> Image? { try stage.next() }

    /// Stops decoding early (after the frame being decoded).
    public func stop() { stage.stop() }

    deinit { stop() }
}
