import Foundation

/// What went wrong (and was worked around) while decoding a video: damaged packets skipped, frames
/// repaired by the decoder's error concealment, a file that ends early. A clean file has none.
public struct VideoDecodeReport: Sendable, Equatable, Codable {
    /// Frames handed to the caller so far.
    public var frames = 0
    /// Packets the decoder rejected; the frames in them are missing from the output.
    public var damagedPackets = 0
    /// Frames the decoder rebuilt in part from their neighbours (damaged slices concealed).
    public var concealedFrames = 0
    /// The file ends before the data its index promises (cut off while being written or copied).
    public var truncated = false
    /// Frames whose size differed from the first frame's; they were scaled to it.
    public var resizedFrames = 0
    /// ffmpeg ended with an error after some frames (what it said, in plain words).
    public var stoppedEarly: String?
    /// The first distinct decoder and demuxer messages (at most 5), without ffmpeg's prefixes.
    public var messages: [String] = []

    public init() {}

    public var isClean: Bool {
        damagedPackets == 0 && concealedFrames == 0 && !truncated && resizedFrames == 0 && stoppedEarly == nil
    }

    /// One line for a warning, nil when the file decoded cleanly.
    public var summary: String? {
        guard !isClean else { return nil }
        var parts: [String] = []
        if damagedPackets > 0 { parts.append("\(damagedPackets) damaged packet\(damagedPackets == 1 ? "" : "s") skipped") }
        if concealedFrames > 0 { parts.append("\(concealedFrames) frame\(concealedFrames == 1 ? "" : "s") partly repaired by the decoder") }
        if truncated { parts.append("the file ends early (cut off while being written or copied)") }
        if resizedFrames > 0 { parts.append("\(resizedFrames) frame\(resizedFrames == 1 ? "" : "s") of another size scaled to the first frame's") }
        if let stoppedEarly { parts.append("decoding stopped early: \(stoppedEarly)") }
        var line = parts.joined(separator: "; ") + "; \(frames) frame\(frames == 1 ? "" : "s") decoded"
        if let first = messages.first { line += " (ffmpeg: \(first))" }
        return line
    }
}
