import Foundation
import VisageCore

/// Which video encoders of the ffmpeg on PATH actually work on this machine. `ffmpeg -encoders`
/// lists what was compiled in (h264_nvenc on a box without an NVIDIA GPU too); a one-frame test
/// encode to nowhere tells whether it can start. Results are cached for the life of the process.
public enum EncoderProbe {
    /// The outcome of checking one encoder.
    public enum Status: Sendable, Equatable {
        case works
        /// ffmpeg does not list it (misspelt, or not compiled into this ffmpeg).
        case notListed
        /// Listed, but the test encode failed; the reason in plain words.
        case fails(String)
        /// ffmpeg is not on PATH.
        case noFFmpeg
    }

    /// Name fragments of encoders that drive a GPU or a media engine.
    public static let hardwareMarkers = ["nvenc", "videotoolbox", "vaapi", "qsv", "amf", "v4l2m2m", "mediacodec", "omx"]

    /// Video encoders this ffmpeg lists, by name, with the codec each makes ("libx264" → "h264").
    public static func listed() -> [String: String] {
        lock.lock()
        if let cached = listing { lock.unlock(); return cached }
        lock.unlock()
        var encoders: [String: String] = [:]
        if let ffmpeg = MediaTools.ffmpeg, let run = try? ToolRun.run(ffmpeg, ["-hide_banner", "-encoders"], timeout: 30), run.status == 0 {
            encoders = parseEncoderList(String(decoding: run.output, as: UTF8.self))
        }
        lock.lock(); listing = encoders; lock.unlock()
        return encoders
    }

    /// " V....D libx264   libx264 H.264 / AVC (codec h264)" → ["libx264": "h264"]; an encoder
    /// named after its codec ("mpeg4") has no "(codec …)" note.
    static func parseEncoderList(_ text: String) -> [String: String] {
        var encoders: [String: String] = [:]
        var pastHeader = false
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            if fields.first == "------" { pastHeader = true; continue }
            guard pastHeader, fields.count >= 2, fields[0].first == "V" else { continue }
            let name = String(fields[1])
            var codec = name
            if let note = line.range(of: "(codec ", options: .backwards), let close = line[note.upperBound...].firstIndex(of: ")") {
                codec = String(line[note.upperBound..<close])
            }
            encoders[name] = codec
        }
        return encoders
    }

    /// Whether `encoder` can encode here: listed, and a one-frame 256×256 yuv420p test encode
    /// succeeds (the way VideoWriter feeds it). Cached per encoder.
    public static func status(of encoder: String) -> Status {
        lock.lock()
        if let cached = statuses[encoder] { lock.unlock(); return cached }
        lock.unlock()
        let result: Status
        if let ffmpeg = MediaTools.ffmpeg {
            result = listed()[encoder] == nil ? .notListed : testEncode(encoder, ffmpeg: ffmpeg)
        } else {
            result = .noFFmpeg
        }
        lock.lock(); statuses[encoder] = result; lock.unlock()
        return result
    }

    /// The encoders among `candidates` that work here, in the given order.
    public static func working(among candidates: [String]) -> [String] {
        candidates.filter { status(of: $0) == .works }
    }

    /// Codecs Visage writes (H.264/H.265 for mp4/mov, VP8/VP9/AV1 for webm); other hardware
    /// encoders (MJPEG, MPEG-2) are of no use to it.
    public static let writtenCodecs: Set<String> = ["h264", "hevc", "vp8", "vp9", "av1"]

    /// Hardware encoders this ffmpeg lists for the codecs Visage writes, sorted (not yet tried).
    public static func hardwareCandidates() -> [String] {
        listed().filter { name, codec in writtenCodecs.contains(codec) && hardwareMarkers.contains { name.contains($0) } }.keys.sorted()
    }

    /// Hardware encoders this ffmpeg lists that also start here (what `visage doctor` should show).
    public static func workingHardwareEncoders() -> [String] {
        working(among: hardwareCandidates())
    }

    /// The codec `encoder` makes, nil when ffmpeg does not list it.
    public static func codec(of encoder: String) -> String? { listed()[encoder] }

    private static func testEncode(_ encoder: String, ffmpeg: String) -> Status {
        let side = 256
        let arguments = ["-hide_banner", "-nostdin", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24",
                         "-s", "\(side)x\(side)", "-r", "25", "-i", "pipe:0", "-frames:v", "1",
                         "-pix_fmt", "yuv420p", "-c:v", encoder, "-f", "null", "-"]
        guard let process = try? ToolProcess(program: ffmpeg, arguments: arguments, takesInput: true, givesOutput: false) else {
            return .fails("ffmpeg could not be started")
        }
        let frame = [UInt8](repeating: 16, count: side * side * 3)
        _ = frame.withUnsafeBytes { process.writeInput($0.baseAddress!, count: $0.count) }
        process.closeInput()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(5000) }
        let status = process.isRunning ? process.stop() : process.wait()
        if status == 0 { return .works }
        let all = process.stderrTail.joined(separator: "\n")
        return .fails(FFmpegMessages.encoderStartFailure(all, encoder: encoder)
                      ?? "the encoder '\(encoder)' cannot start here (\(FFmpegMessages.cleaned(process.stderrTail))); use --video-encoder libx264")
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var listing: [String: String]?
    nonisolated(unsafe) private static var statuses: [String: Status] = [:]
}
