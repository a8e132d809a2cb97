import Foundation
import VisageCore

/// Encodes BGR frames to a video file through the `ffmpeg` program, optionally copying the audio
/// of another file, with every frame at the presentation time it is given.
///
/// - Time: frames travel to ffmpeg in a minimal Matroska stream (`MatroskaRawStream`) that carries
///   each frame's timestamp, and ffmpeg runs with `-copyts -fps_mode passthrough`, so the output's
///   frame times are the caller's (variable frame rates kept, a video that starts after its audio
///   still does, a live recording keeps real time across dropped frames). Give the input's
///   `timeBase` and the output's pts equal the input's tick for tick.
/// - Checked before any work: the extension (.mp4, .mov, .mkv, .webm), that the encoder is listed,
///   fits the container and starts on this machine (`EncoderProbe`, one test frame, cached).
/// - Frames go to a temporary file that replaces the destination only when encoding succeeded, so a
///   failure never leaves half a video behind; error messages never show the temporary name.
public final class VideoWriter: @unchecked Sendable {
    public let path: String
    public let width: Int
    public let height: Int
    public let container: VideoContainer
    /// Time base of the output's video stream: the one given to init; otherwise 1/fps (as a
    /// fraction: 100/2997 for 29.97) when the first frame comes without a timestamp, 1/90000 when
    /// it comes with one. Fixed once the first frame is written.
    public private(set) var timeBase: VideoTimeBase
    private let requestedTimeBase: VideoTimeBase?
    private let fps: Double
    private let encoder: String
    private let temporary: URL
    private let program: String
    private let arguments: (input: [String], output: [String])
    private let audioFrom: String?
    /// Where the copied audio starts on its file's timeline (nil without audio).
    private let audioStart: Double?
    /// Started at the first frame, when the time base is known.
    private var ffmpeg: ToolProcess?
    private var finished = false
    /// Frames go to ffmpeg from this queue, so the caller's loop never waits on the encoder;
    /// `inFlight` bounds how many frames may wait (memory stays flat when the encoder is slower).
    private let queue = DispatchQueue(label: "visage.video-writer")
    private let inFlight = DispatchSemaphore(value: 8)
    private let errorLock = NSLock()
    private var writeError: VisageError?
    // Timing, touched only by the caller's thread.
    private var written = 0
    private var lastTick: Int64?
    private var lastRequested: Double?
    private var timestamped = false
    /// Seconds added to every time, video and audio alike; fixed at the first frame.
    private var shift = 0.0
    private var warnedNudge = false

    /// - Parameters:
    ///   - fps: the nominal rate, used for frames written without a timestamp (frame n at n / fps).
    ///   - encoder: an FFmpeg video encoder (libx264, libx265, libvpx-vp9, libaom-av1, h264_nvenc, ...).
    ///   - quality: CRF-like quality, 0 (best) to 51.
    ///   - audioFrom: a file whose audio track is copied into the output, if it has one, on the same
    ///     timeline as the frames' timestamps (pass the source video's own timestamps).
    ///   - label: container metadata marking the video as synthetic (SyntheticMediaLabel), if set.
    ///   - timeBase: the output video stream's time base; the source's (`VideoReader.timeBase`)
    ///     keeps its timestamps exact. Default: see `timeBase`.
    public init(path: String, width: Int, height: Int, fps: Double, encoder: String = "libx264", quality: Int = 18,
                audioFrom: String? = nil, label: String? = nil, timeBase: VideoTimeBase? = nil) throws {
        guard width > 0, height > 0, fps > 0, fps.isFinite else {
            throw VisageError.invalidArgument("video size \(width)x\(height) at \(fps) fps is not writable")
        }
        let container = try VideoContainer(path: path)
        guard let ffmpeg = MediaTools.ffmpeg else {
            throw VisageError.writeFailed(path: path, reason: "ffmpeg is not on PATH; \(MediaTools.installHint)")
        }
        guard let codec = EncoderProbe.codec(of: encoder) else {
            throw VisageError.invalidArgument("this ffmpeg has no '\(encoder)' encoder; use libx264 (`visage doctor` lists the encoders that work here)")
        }
        try container.check(encoder: encoder, codec: codec)
        if case .fails(let reason) = EncoderProbe.status(of: encoder) {
            throw VisageError.invalidArgument(reason)
        }
        let destination = URL(fileURLWithPath: path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: destination.deletingLastPathComponent().path, isDirectory: &isDir), isDir.boolValue else {
            throw VisageError.writeFailed(path: path, reason: "directory \(destination.deletingLastPathComponent().path) does not exist")
        }
        if let audioFrom { try ImageIO.checkReadableFile(audioFrom) }
        self.path = path
        self.width = width
        self.height = height
        self.fps = fps
        self.encoder = encoder
        self.container = container
        self.program = ffmpeg
        requestedTimeBase = timeBase
        self.timeBase = timeBase ?? VideoTimeBase(framesPerSecond: fps)
        temporary = AtomicFile.temporarySibling(of: destination)
        let input = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y", "-copyts",
                     "-f", "matroska", "-i", "pipe:0"]
        var output: [String] = []
        self.audioFrom = audioFrom
        if let audioFrom {
            // Copy the audio bit-exactly when the container takes its codec; otherwise (WMA into
            // MP4, say) re-encode it rather than lose it. No -shortest: the output keeps the
            // input's full audio, so its duration matches the input's. -copyts keeps its start.
            let audio = VideoWriter.audioFacts(of: audioFrom)
            audioStart = audio.start
            output += ["-map", "0:v:0", "-map", "1:a:0?"] + container.audioArguments(for: audio.codec)
        } else {
            audioStart = nil
        }
        if let label { output += ["-metadata", "comment=\(label)", "-metadata", "description=\(label)"] }
        output += ["-c:v", encoder] + Self.qualityArguments(encoder: encoder, quality: quality)
        // Odd sizes cannot be yuv420p: pad by one pixel instead of failing.
        output += ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-pix_fmt", "yuv420p", "-f", container.muxer, temporary.path]
        arguments = (input, output)
    }

    /// Times further from 0 than this (an MPEG-TS capture's clock, hours in) are moved, with the
    /// audio, so the output starts near 0; closer ones are kept exactly as they are.
    static let largestKeptOrigin = 60.0

    /// Starts ffmpeg with the time base and the timeline fixed by the first frame (at
    /// `firstTimestamp`) and sends the stream header.
    private func start(firstTimestamp: Double) throws -> ToolProcess {
        if let ffmpeg { return ffmpeg }
        // One shift for video and audio alike keeps them in sync: Matroska cannot carry times
        // before 0, and an origin hours away would make players wait hours.
        let origin = min(firstTimestamp, audioStart ?? firstTimestamp)
        if origin < 0 || origin > Self.largestKeptOrigin {
            shift = -origin
            VisageLog.logger("video").info("\(path): the video starts at \(firstTimestamp) s\(audioStart.map { ", its audio at \($0) s" } ?? ""); both are moved by \(shift) s so the file starts at 0")
        }
        var input = arguments.input
        if let audioFrom {
            input += (shift != 0 ? ["-itsoffset", String(shift)] : []) + ["-i", audioFrom]
        }
        let all = input + ["-fps_mode", "passthrough", "-enc_time_base:v", timeBase.ffmpegArgument] + arguments.output
        let process = try ToolProcess(program: program, arguments: all, takesInput: true, givesOutput: false)
        ffmpeg = process
        let frameNanoseconds = fps.isFinite && fps > 0 ? UInt64((1e9 / fps).rounded()) : nil
        let header = MatroskaRawStream.header(width: width, height: height, frameNanoseconds: frameNanoseconds)
        guard header.withUnsafeBytes({ process.writeInput($0.baseAddress!, count: $0.count) }) else {
            let status = process.stop()
            try? FileManager.default.removeItem(at: temporary)
            throw VisageError.writeFailed(path: path, reason: failureReason(status: status))
        }
        return process
    }

    /// Rate-control arguments that make `quality` mean the same thing (CRF) across encoders.
    static func qualityArguments(encoder: String, quality: Int) -> [String] {
        switch encoder {
        case "libx264", "libx265": return ["-crf", String(quality), "-preset", "veryfast"]
        // libvpx and libaom default to a low fixed bitrate and their slowest modes; CRF with
        // row multithreading and a middle speed gives comparable quality at usable speed.
        case "libvpx-vp9": return ["-crf", String(quality), "-b:v", "0", "-cpu-used", "4", "-row-mt", "1"]
        case "libaom-av1": return ["-crf", String(quality), "-b:v", "0", "-cpu-used", "6", "-row-mt", "1"]
        case "libsvtav1": return ["-crf", String(quality), "-preset", "8"]
        default: return []
        }
    }

    /// Queues one frame at the nominal rate: frame n at n / fps (after frames written with a
    /// timestamp: the previous frame's time + 1 / fps). The frame must have the writer's size, 3 channels, 8 bits, and its pixels must not
    /// change afterwards (it is encoded asynchronously); errors surface on a later call or `finish`.
    public func write(_ frame: Image) throws {
        // Counted from the first frame, so rounding to ticks never accumulates.
        let next = timestamped ? (lastRequested ?? 0) + 1 / fps : Double(written) / fps
        try place(frame, timestamp: next)
    }

    /// Queues one frame at presentation time `timestamp` (seconds, on the timeline of `audioFrom`;
    /// `VideoFrame.timestamp` of the source, or seconds since a live capture started). Times must
    /// increase; one that does not is moved one tick after the previous frame (logged once). The
    /// output keeps these times exactly, unless the video or its audio starts before 0 or more than
    /// a minute in: then both are moved together so the file starts at 0.
    public func write(_ frame: Image, timestamp: Double) throws {
        timestamped = true
        try place(frame, timestamp: timestamp)
    }

    private func place(_ frame: Image, timestamp: Double) throws {
        guard frame.width == width, frame.height == height, frame.channels == 3, frame.depth == .uint8 else {
            throw VisageError.invalidArgument("frame \(frame.width)x\(frame.height)x\(frame.channels) does not match the video \(width)x\(height)x3")
        }
        guard timestamp.isFinite else { throw VisageError.invalidArgument("frame timestamp \(timestamp) is not a time") }
        if let error = pendingError() { throw error }
        guard !finished else { throw VisageError.invalidArgument("\(path): frame written after finish or cancel") }
        if ffmpeg == nil {
            // Capture-clock times need finer ticks than the nominal frame grid.
            if timestamped && requestedTimeBase == nil { timeBase = VideoTimeBase(1, 90000) }
            _ = try start(firstTimestamp: timestamp)
        }
        let nanoseconds = placed(timestamp)
        lastRequested = timestamp
        written += 1
        inFlight.wait()
        queue.async { [self] in
            defer { inFlight.signal() }
            guard pendingError() == nil else { return }
            send(frame, nanoseconds: nanoseconds)
        }
    }

    /// `timestamp` on the output's ticks, strictly after the previous frame, as Matroska nanoseconds.
    private func placed(_ timestamp: Double) -> UInt64 {
        var tick = Int64(((timestamp + shift) / timeBase.seconds).rounded())
        if let lastTick, tick <= lastTick {
            if !warnedNudge {
                warnedNudge = true
                VisageLog.logger("video").warning("\(path): frame \(written) is not later than the one before (\(timestamp) s); it is placed one tick (\(timeBase)) after it")
            }
            tick = lastTick + 1
        }
        lastTick = tick
        let seconds = timeBase.seconds(tick)
        return UInt64(max(0, (seconds * 1e9).rounded()))
    }

    private func pendingError() -> VisageError? { errorLock.lock(); defer { errorLock.unlock() }; return writeError }
    private func setError(_ e: VisageError) { errorLock.lock(); if writeError == nil { writeError = e }; errorLock.unlock() }

    private func send(_ frame: Image, nanoseconds: UInt64) {
        guard let ffmpeg else { return }
        let rowBytes = frame.rowBytes
        let header = MatroskaRawStream.frameHeader(nanoseconds: nanoseconds, frameBytes: rowBytes * frame.height)
        var ok = header.withUnsafeBytes { ffmpeg.writeInput($0.baseAddress!, count: $0.count) }
        if ok && frame.stride == rowBytes {
            ok = ffmpeg.writeInput(frame.baseAddress, count: rowBytes * frame.height)
        } else {
            for y in 0..<frame.height where ok {
                ok = ffmpeg.writeInput(frame.baseAddress + y * frame.stride, count: rowBytes)
            }
        }
        if !ok {
            // ffmpeg closed its input: it is exiting with an error; wait for its words.
            let status = ffmpeg.wait()
            setError(.writeFailed(path: path, reason: "ffmpeg stopped accepting frames: \(failureReason(status: status))"))
        }
    }

    private func failureReason(status: Int32) -> String {
        let lines = ffmpeg?.stderrTail ?? []
        if lines.isEmpty { return "ffmpeg ended with status \(status) without saying why" }
        return FFmpegMessages.writeFailure(lines, encoder: encoder, temporary: temporary.path, destination: path)
    }

    /// Flushes, waits for ffmpeg and moves the file into place.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        queue.sync {}   // every queued frame has been handed to ffmpeg
        if let error = pendingError() {
            ffmpeg?.stop()
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        guard let ffmpeg, written > 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw VisageError.writeFailed(path: path, reason: "no frames were written")
        }
        ffmpeg.closeInput()
        let status = ffmpeg.wait()
        guard status == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw VisageError.writeFailed(path: path, reason: failureReason(status: status))
        }
        guard rename(temporary.path, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw VisageError.writeFailed(path: path, reason: reason)
        }
    }

    /// Stops without producing a file.
    public func cancel() {
        guard !finished else { return }
        finished = true
        setError(.interrupted)   // queued frames are dropped
        queue.sync {}
        ffmpeg?.stop()
        try? FileManager.default.removeItem(at: temporary)
    }

    deinit { cancel() }

    /// The ffmpeg process encoding this file (tests check it is gone after `cancel`).
    var encoderProcessID: Int32? { ffmpeg?.processID }

    /// Whether `ffmpeg -encoders` lists this encoder.
    static func hasEncoder(_ name: String) -> Bool { EncoderProbe.codec(of: name) != nil }

    static func ffmpegPath() -> String? { MediaTools.ffmpeg }

    /// The executable `name` found on PATH (kept for callers; see `MediaTools.path(of:)`).
    public static func tool(_ name: String) -> String? { MediaTools.path(of: name) }

    /// The codec of the first audio stream (ffprobe), nil when there is none or ffprobe is missing.
    public static func audioCodec(of path: String) -> String? { audioFacts(of: path).codec }

    /// Codec and start time (seconds) of the first audio stream; nils when there is none.
    static func audioFacts(of path: String) -> (codec: String?, start: Double?) {
        guard let ffprobe = MediaTools.ffprobe,
              let run = try? ToolRun.run(ffprobe, ["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=codec_name,time_base,start_pts",
                                                   "-print_format", "json", path], timeout: 60), run.status == 0,
              let json = try? JSONSerialization.jsonObject(with: run.output) as? [String: Any],
              let stream = (json["streams"] as? [[String: Any]])?.first else { return (nil, nil) }
        let codec = stream["codec_name"] as? String
        let timeBase = (stream["time_base"] as? String).flatMap { VideoTimeBase(Substring($0)) }
        let start = (stream["start_pts"] as? Int).flatMap { pts in timeBase.map { $0.seconds(Int64(pts)) } }
        return (codec, start ?? (codec == nil ? nil : 0))
    }
}

// Live pipeline: recycling frames once ffmpeg has them
extension VideoWriter {
    /// Runs `body` once every frame queued so far has been handed to ffmpeg: the live pipeline
    /// gives a frame's buffer back to its pool then, not before (frames are encoded asynchronously).
    public func afterQueuedFrames(_ body: @escaping @Sendable () -> Void) {
        queue.async(execute: body)
    }
}
