import Foundation
import VisageCore

/// Decodes a video file with the `ffmpeg` program into BGR frames on a pipe, with each frame's
/// presentation time.
///
/// - Pixels equal OpenCV 4.6's capture bit for bit on normal files: the same libswscale
///   conversion (bicubic flags, BT.601 matrix whatever the file is tagged with, limited range
///   unless the decoder's pixel format is a full-range "yuvj" one), at the stored size.
/// - What players do and OpenCV does not: the display matrix is applied (±90° and 180°), edit
///   lists and stream start offsets are kept (`-copyts`), every frame comes out once with its own
///   timestamp (`-fps_mode passthrough`, no duplication to a nominal rate), damaged packets are
///   skipped and counted instead of ending the video.
/// - Timestamps come from the `showinfo` filter on stderr ("n: 12 pts: 10614"), in the stream's
///   time base, which the same filter prints first.
/// - ffmpeg starts before the file's facts are known (`start`): its filter graph, the one part of
///   its command that needs them (frame size, range), comes on its standard input
///   (`-filter_script:v pipe:0`) once ffprobe has answered (`configure`). ffmpeg reads it only after
///   opening and probing the input itself, so its own start-up (≈ 70 ms of loading ~150 shared
///   libraries) overlaps ffprobe's instead of following it. The stream is `0:V:0`, the first video
///   stream that is not an attached picture: the one `VideoProbe` picks.
final class FFmpegFrameDecoder: @unchecked Sendable {
    let path: String
    private(set) var facts: VideoFacts?
    private let process: ToolProcess
    private let log: DecoderLog
    private var frameBytes = 0
    private var index = 0
    private var previousTimestamp: Double?
    private var ended = false
    private var stopped = false

    /// Starts ffmpeg on `path`; it waits for `configure` before decoding.
    init(path: String, ffmpeg: String) throws {
        self.path = path
        let arguments = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "repeat+level+info",
                         "-copyts", "-i", path, "-map", "0:V:0",
                         "-fps_mode", "passthrough", "-enc_time_base:v", "-1",
                         "-filter_script:v", "pipe:0",
                         "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"]
        let log = DecoderLog()
        self.log = log
        process = try ToolProcess(program: ffmpeg, arguments: arguments, takesInput: true, givesOutput: true,
                                  onStderrLine: { log.consume($0) }, onStderrEnd: { log.finish() })
    }

    /// The filter graph for `facts`, sent to the waiting ffmpeg.
    func configure(_ facts: VideoFacts) {
        self.facts = facts
        frameBytes = facts.width * facts.height * 3
        log.expect(width: facts.width, height: facts.height)
        var scale = "scale=w=\(facts.width):h=\(facts.height):flags=bicubic:in_color_matrix=bt601"
        // OpenCV's capture leaves the range alone, so libswscale reads limited range unless the
        // pixel format itself says full range (the "yuvj" formats); the scale filter would follow
        // the frame's range tag instead.
        if !facts.pixelFormat.hasPrefix("yuvj") { scale += ":in_range=tv" }
        let graph = Array("showinfo=checksum=0,\(scale)".utf8)
        // A helper that already ended (a file it cannot read) makes this write fail; reading reports why.
        _ = graph.withUnsafeBytes { process.writeInput($0.baseAddress!, count: $0.count) }
        process.closeInput()
    }

    /// Decodes the next frame into `base` (rows `stride` bytes apart); its presentation time in
    /// seconds, nil at the end of the video.
    func read(into base: UnsafeMutableRawPointer, stride: Int) throws -> Double? {
        guard !ended else { return nil }
        guard let facts else { preconditionFailure("FFmpegFrameDecoder.read before configure") }
        let rowBytes = facts.width * 3
        var got = 0
        if stride == rowBytes {
            got = process.readFully(into: base, count: frameBytes)
        } else {
            for y in 0..<facts.height {
                let n = process.readFully(into: base + y * stride, count: rowBytes)
                got += n
                if n < rowBytes { break }
            }
        }
        guard got == frameBytes else {
            try end()
            return nil
        }
        let pts = log.waitForPTS(frame: index)
        var timestamp = pts.map { log.timeBase(default: facts.timeBase).seconds($0) }
            ?? previousTimestamp.map { $0 + 1 / max(facts.fps, 1) } ?? facts.startTime
        if !timestamp.isFinite { timestamp = previousTimestamp ?? facts.startTime }
        previousTimestamp = timestamp
        index += 1
        log.delivered(index)
        return timestamp
    }

    /// ffmpeg's output has ended: see how, and report damage.
    private func end() throws {
        ended = true
        let status = process.wait()
        guard !stopped else { return }
        let lines = process.stderrTail
        if status != 0 {
            if index == 0 {
                throw VisageError.invalidVideo(path: path, reason: FFmpegMessages.readFailure(lines, path: path))
            }
            log.stoppedEarly(FFmpegMessages.cleaned(lines))
        }
        if let summary = log.report.summary {
            VisageLog.logger("video").warning("\(path): \(summary)")
        }
    }

    var report: VideoDecodeReport { log.report }
    var processID: Int32 { process.processID }

    /// Stops decoding now (ffmpeg is ended and waited for).
    func stop() {
        guard !stopped else { return }
        stopped = true
        if !ended {
            ended = true
            process.stop()
        }
    }

    deinit { stop() }
}

/// The state ffmpeg's stderr tells us, filled on the stderr thread and read by the decoder.
private final class DecoderLog: @unchecked Sendable {
    private let condition = NSCondition()
    private var pts: [Int64?] = []
    private var firstPending = 0   // pts[0] belongs to frame `firstPending`
    private var streamTimeBase: VideoTimeBase?
    private var finished = false
    private var state = VideoDecodeReport()
    private var concealing = 0
    private var corrupt = 0
    private var expectedWidth = 0
    private var expectedHeight = 0

    /// The frame size ffmpeg was configured for (set before its filter graph exists, so before any showinfo line).
    func expect(width: Int, height: Int) {
        condition.lock(); expectedWidth = width; expectedHeight = height; condition.unlock()
    }

    func consume(_ line: Substring) {
        let (source, level, text) = FFmpegMessages.parse(line)
        condition.lock(); defer { condition.unlock() }
        if let source, source.hasPrefix("Parsed_showinfo") {
            if text.hasPrefix("n:") {
                pts.append(Self.field("pts:", in: text).flatMap { Int64($0) })
                if let size = Self.field("s:", in: text), size != "\(expectedWidth)x\(expectedHeight)" { state.resizedFrames += 1 }
                condition.broadcast()
            } else if text.hasPrefix("config in time_base:"), streamTimeBase == nil,
                      let value = Self.field("time_base:", in: text) {
                // "config in time_base: 1/15360, frame_rate: 30/1"
                streamTimeBase = VideoTimeBase(value.prefix { $0 != "," })
            }
            return
        }
        if text.hasPrefix("Error while decoding stream") { state.damagedPackets += 1; remember(text); return }
        if text.contains("concealing") && text.contains("errors") { concealing += 1 }
        if text.contains("corrupt decoded frame") { corrupt += 1 }
        state.concealedFrames = max(concealing, corrupt)
        if text.contains("partial file") || text.contains("File ended prematurely") || text.contains("Truncating packet") {
            state.truncated = true
        }
        if level == "error" || level == "fatal" || level == "warning", !text.contains("non monotonically increasing dts") {
            remember(text)
        }
    }

    private func remember(_ text: Substring) {
        let message = String(text)
        if state.messages.count < 5, !state.messages.contains(message) { state.messages.append(message) }
    }

    /// The value after `key` in a showinfo line ("pts:   1024" → "1024").
    private static func field(_ key: String, in text: Substring) -> Substring? {
        guard let range = text.range(of: " " + key) ?? (text.hasPrefix(key) ? text.range(of: key) : nil) else { return nil }
        let rest = text[range.upperBound...].drop { $0 == " " }
        return rest.prefix { $0 != " " }
    }

    /// The pts showinfo printed for `frame`; nil when it printed NOPTS or stderr ended first.
    func waitForPTS(frame: Int) -> Int64? {
        condition.lock(); defer { condition.unlock() }
        while frame - firstPending >= pts.count && !finished { condition.wait() }
        guard frame - firstPending < pts.count, frame >= firstPending else { return nil }
        let value = pts[frame - firstPending]
        // Drop what was consumed so a long video keeps no growing list.
        let consumed = frame + 1 - firstPending
        if consumed >= 256 { pts.removeFirst(consumed); firstPending = frame + 1 }
        return value
    }

    func timeBase(default fallback: VideoTimeBase) -> VideoTimeBase {
        condition.lock(); defer { condition.unlock() }
        return streamTimeBase ?? fallback
    }

    func delivered(_ frames: Int) {
        condition.lock(); state.frames = frames; condition.unlock()
    }

    func stoppedEarly(_ message: String) {
        condition.lock(); state.stoppedEarly = message; condition.unlock()
    }

    /// Called when stderr has ended.
    func finish() {
        condition.lock(); finished = true; condition.broadcast(); condition.unlock()
    }

    var report: VideoDecodeReport {
        condition.lock(); defer { condition.unlock() }
        return state
    }
}
