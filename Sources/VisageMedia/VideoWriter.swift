import Foundation
import VisageCore

/// Encodes BGR frames to a video file through the `ffmpeg` program (H.264 in .mp4 by default),
/// optionally copying the audio of another file. Frames go to a temporary file that replaces
/// the destination only when encoding succeeded, so a failure never leaves half a video behind.
public final class VideoWriter: @unchecked Sendable {
    public let path: String
    public let width: Int
    public let height: Int
    private let temporary: URL
    private let ffmpeg: RawFramePipe
    private var finished = false
    /// Frames go to ffmpeg from this queue, so the caller's loop never waits on the encoder;
    /// `inFlight` bounds how many frames may wait (memory stays flat when the encoder is slower).
    private let queue = DispatchQueue(label: "visage.video-writer")
    private let inFlight = DispatchSemaphore(value: 8)
    private let errorLock = NSLock()
    private var writeError: VisageError?

    /// - Parameters:
    ///   - encoder: an FFmpeg video encoder (libx264, h264_nvenc, hevc_videotoolbox, ...).
    ///   - quality: CRF-like quality, 0 (best) to 51.
    ///   - audioFrom: a file whose audio track is copied into the output, if it has one.
    ///   - label: container metadata marking the video as synthetic (SyntheticMediaLabel), if set.
    public init(path: String, width: Int, height: Int, fps: Double, encoder: String = "libx264", quality: Int = 18,
                audioFrom: String? = nil, label: String? = nil) throws {
        guard width > 0, height > 0, fps > 0, fps.isFinite else {
            throw VisageError.invalidArgument("video size \(width)x\(height) at \(fps) fps is not writable")
        }
        guard let ffmpeg = VideoWriter.ffmpegPath() else {
            throw VisageError.writeFailed(path: path, reason: "ffmpeg not found on PATH (apt install ffmpeg / brew install ffmpeg)")
        }
        if !VideoWriter.hasEncoder(encoder, ffmpeg: ffmpeg) {
            throw VisageError.invalidArgument("this ffmpeg has no '\(encoder)' encoder; try libx264 (see `visage doctor` for the hardware encoders found)")
        }
        let destination = URL(fileURLWithPath: path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: destination.deletingLastPathComponent().path, isDirectory: &isDir), isDir.boolValue else {
            throw VisageError.writeFailed(path: path, reason: "directory \(destination.deletingLastPathComponent().path) does not exist")
        }
        self.path = path
        self.width = width
        self.height = height
        self.temporary = AtomicFile.temporarySibling(of: destination)
        var arguments = ["-hide_banner", "-loglevel", "error", "-y",
                         "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", "\(width)x\(height)", "-r", String(fps), "-i", "-"]
        if let audioFrom {
            // Copy the audio bit-exactly when the container takes its codec; otherwise (WMA into
            // MP4, say) re-encode it to AAC rather than lose it. No -shortest: the output keeps the
            // input's full audio, so its duration matches the input's.
            let codec = VideoWriter.audioCodec(of: audioFrom)
            let copyable = codec.map { VideoWriter.mp4AudioCodecs.contains($0) } ?? true
            arguments += ["-i", audioFrom, "-map", "0:v:0", "-map", "1:a:0?"]
            arguments += copyable ? ["-c:a", "copy"] : ["-c:a", "aac", "-b:a", "192k"]
        }
        if let label { arguments += ["-metadata", "comment=\(label)", "-metadata", "description=\(label)"] }
        arguments += ["-c:v", encoder]
        if encoder == "libx264" || encoder == "libx265" { arguments += ["-crf", String(quality), "-preset", "veryfast"] }
        // Odd sizes cannot be yuv420p: pad by one pixel instead of failing.
        arguments += ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-pix_fmt", "yuv420p", temporary.path]
        self.ffmpeg = try RawFramePipe(program: ffmpeg, arguments: arguments)
    }

    /// Queues one frame (must have the writer's size, 3 channels, 8 bits). The frame's pixels must
    /// not change afterwards (it is encoded asynchronously); errors surface on a later call or `finish`.
    public func write(_ frame: Image) throws {
        guard frame.width == width, frame.height == height, frame.channels == 3, frame.depth == .uint8 else {
            throw VisageError.invalidArgument("frame \(frame.width)x\(frame.height)x\(frame.channels) does not match the video \(width)x\(height)x3")
        }
        if let error = pendingError() { throw error }
        inFlight.wait()
        queue.async { [self] in
            defer { inFlight.signal() }
            guard pendingError() == nil else { return }
            do { try send(frame) } catch let e as VisageError { setError(e) } catch { setError(.writeFailed(path: path, reason: "\(error)")) }
        }
    }

    private func pendingError() -> VisageError? { errorLock.lock(); defer { errorLock.unlock() }; return writeError }
    private func setError(_ e: VisageError) { errorLock.lock(); if writeError == nil { writeError = e }; errorLock.unlock() }

    private func send(_ frame: Image) throws {
        do { try ffmpeg.write(frame) } catch {
            throw VisageError.writeFailed(path: path, reason: "ffmpeg stopped accepting frames: \(ffmpeg.lastErrors())")
        }
    }

    /// Flushes, waits for ffmpeg and moves the file into place.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        queue.sync {}   // every queued frame has been handed to ffmpeg
        let status = ffmpeg.finish()
        if let error = pendingError() {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        guard status == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw VisageError.writeFailed(path: path, reason: "ffmpeg failed: \(ffmpeg.lastErrors())")
        }
        guard rename(temporary.path, path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw VisageError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// Stops without producing a file.
    public func cancel() {
        guard !finished else { return }
        finished = true
        setError(.interrupted)   // queued frames are dropped
        queue.sync {}
        ffmpeg.terminate()
        try? FileManager.default.removeItem(at: temporary)
    }

    deinit { cancel() }

    /// Whether `ffmpeg -encoders` lists this encoder.
    static func hasEncoder(_ name: String, ffmpeg: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ffmpeg)
        process.arguments = ["-hide_banner", "-encoders"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return true }   // cannot tell: let ffmpeg itself report
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text.split(separator: "\n").contains { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first == Substring(name) }
    }

    static let mp4AudioCodecs: Set<String> = ["aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"]

    static func ffmpegPath() -> String? { tool("ffmpeg") }

    /// The executable `name` found on PATH.
    public static func tool(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The codec of the first audio stream (ffprobe), nil when there is none or ffprobe is missing.
    public static func audioCodec(of path: String) -> String? {
        guard let ffprobe = tool("ffprobe") else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ffprobe)
        process.arguments = ["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=codec_name", "-of", "csv=p=0", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let name = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return name.isEmpty ? nil : name
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
