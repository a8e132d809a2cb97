import Foundation
import VisageCore

/// The video files Visage writes, chosen by the output's extension, and what each can hold.
public enum VideoContainer: String, CaseIterable, Sendable {
    case mp4, mov, mkv, webm

    /// The container for `path`'s extension (case-insensitive); throws for any other extension.
    public init(path: String) throws {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        guard let container = VideoContainer(rawValue: ext) else {
            let shown = ext.isEmpty ? "no extension" : "'.\(ext)'"
            throw VisageError.invalidArgument("cannot write \(URL(fileURLWithPath: path).lastPathComponent): \(shown) is not a video format Visage writes; use .mp4, .mov, .mkv or .webm")
        }
        self = container
    }

    /// ffmpeg's muxer name.
    var muxer: String {
        switch self {
        case .mp4: return "mp4"
        case .mov: return "mov"
        case .mkv: return "matroska"
        case .webm: return "webm"
        }
    }

    /// Video codecs (ffmpeg codec names) the container takes; nil means any.
    public var videoCodecs: Set<String>? {
        switch self {
        case .mp4, .mov: return ["h264", "hevc"]
        case .webm: return ["vp9", "av1", "vp8"]
        case .mkv: return nil
        }
    }

    /// Encoders to suggest for this container.
    var suggestedEncoders: String {
        switch self {
        case .mp4, .mov, .mkv: return "libx264 or libx265"
        case .webm: return "libvpx-vp9 or libaom-av1"
        }
    }

    /// Audio codecs copied bit-exactly; anything else is re-encoded (`audioEncoder`). nil: copy any.
    var copyableAudio: Set<String>? {
        switch self {
        case .mp4: return ["aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"]
        case .mov: return ["aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be", "pcm_f32le"]
        case .webm: return ["opus", "vorbis"]
        case .mkv: return nil
        }
    }

    /// ffmpeg arguments that re-encode audio the container cannot take as it is.
    var audioEncoder: [String] {
        self == .webm ? ["-c:a", "libopus", "-b:a", "160k"] : ["-c:a", "aac", "-b:a", "192k"]
    }

    /// Audio arguments for a source whose first audio codec is `codec` (nil: unknown, try copying).
    func audioArguments(for codec: String?) -> [String] {
        guard let codec, let allowed = copyableAudio else { return ["-c:a", "copy"] }
        return allowed.contains(codec) ? ["-c:a", "copy"] : audioEncoder
    }

    /// Throws when `encoder` (whose codec is `codec`) does not fit this container, in plain words.
    func check(encoder: String, codec: String) throws {
        guard let allowed = videoCodecs, !allowed.contains(codec) else { return }
        let names = ["h264": "H.264", "hevc": "H.265/HEVC", "vp9": "VP9", "vp8": "VP8", "av1": "AV1"]
        throw VisageError.invalidArgument(
            "the encoder '\(encoder)' makes \(names[codec] ?? codec) video, which .\(rawValue) files do not take; use \(suggestedEncoders) for .\(rawValue), or write .mkv")
    }
}
