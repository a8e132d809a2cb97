import Foundation
import VisageCore
import VisageMedia

/// Somewhere finished frames go. `write` gets the frame's pixels on the output thread and calls
/// `done` once it no longer needs them (at once, or later for outputs that encode in the
/// background), so the frame's buffer can go back to the pool.
public protocol LiveOutput: AnyObject {
    var name: String { get }
    func write(_ frame: Image, number: Int, done: @escaping @Sendable () -> Void) throws
    /// With the frame's capture time (seconds from the start): recordings keep real time when frames were dropped.
    func write(_ frame: Image, number: Int, timestamp: Double, done: @escaping @Sendable () -> Void) throws
    /// End of the run: finalise (close the file, end the streams).
    func finish() throws
}

extension LiveOutput {
    public func write(_ frame: Image, number: Int, timestamp: Double, done: @escaping @Sendable () -> Void) throws {
        try write(frame, number: number, done: done)
    }
}

/// `-o file.mp4`: VideoWriter (ffmpeg), atomic, labelled as synthetic media, each frame at its capture time.
public final class RecordingOutput: LiveOutput {
    public let path: String
    public var name: String { "recording \(path)" }
    public private(set) var frames = 0
    private let writer: VideoWriter

    public init(path: String, width: Int, height: Int, fps: Double, label: String?) throws {
        self.path = path
        writer = try VideoWriter(path: path, width: width, height: height, fps: fps > 0 ? fps : 30, label: label)
    }

    public func write(_ frame: Image, number: Int, done: @escaping @Sendable () -> Void) throws {
        try writer.write(frame)
        frames += 1
        writer.afterQueuedFrames(done)
    }

    public func write(_ frame: Image, number: Int, timestamp: Double, done: @escaping @Sendable () -> Void) throws {
        try writer.write(frame, timestamp: timestamp)
        frames += 1
        writer.afterQueuedFrames(done)
    }

    public func finish() throws { try writer.finish() }
    public func cancel() { writer.cancel() }
}

/// Frames for viewers over the network (the server's MJPEG route, WebSocket sessions): JPEG-encodes
/// frames, each carrying the synthetic-media label when the output is altered, only when someone watches
/// (and one frame in ten otherwise, so the latest frame stays fresh).
public final class StreamOutput: LiveOutput {
    public let publisher: LiveFramePublisher
    public let quality: Int
    /// The synthetic-media label embedded in every JPEG (a COM segment), nil for unaltered frames.
    public let label: String?
    public let name: String
    private var written = 0

    public init(publisher: LiveFramePublisher, name: String = "stream", quality: Int = 80, label: String? = nil) {
        self.publisher = publisher
        self.name = name
        self.quality = quality
        self.label = label
    }

    public func write(_ frame: Image, number: Int, done: @escaping @Sendable () -> Void) throws {
        defer { done(); written += 1 }
        guard publisher.subscriberCount > 0 || written % 10 == 0 else { return }
        let jpeg = try ImageIO.encode(frame, format: "jpg", quality: quality)
        publisher.publish(label.map { SyntheticMediaLabel.embed($0, in: jpeg) } ?? jpeg)
    }

    public func finish() throws { publisher.finish() }
}

/// `--virtual-camera /dev/videoN`: a v4l2loopback device fed by ffmpeg, so OBS, Zoom and browsers
/// see the output as a camera. Linux only for now.
public final class VirtualCameraOutput: LiveOutput {
    public let device: String
    public var name: String { "virtual camera \(device)" }
    private let pipe: RawFramePipe
    private let log = VisageLog.logger("live")

    public init(device: String, width: Int, height: Int, fps: Double) throws {
        self.device = device
        guard Platform.hasV4L2Loopback else {
            throw LiveError.outputUnavailable(what: "virtual camera", reason: "a virtual camera is not supported on this OS yet (it needs a CoreMediaIO camera extension on macOS); stream the output over HTTP and add it to OBS as a media source instead")
        }
        try Self.check(device: device)
        guard let ffmpeg = VideoWriter.tool("ffmpeg") else {
            throw LiveError.outputUnavailable(what: "virtual camera \(device)", reason: "ffmpeg not found on PATH (apt install ffmpeg)")
        }
        pipe = try RawFramePipe(program: ffmpeg, arguments: ["-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24",
                                                             "-s", "\(width)x\(height)", "-r", String(fps > 0 ? fps : 30), "-i", "-",
                                                             "-f", "v4l2", "-pix_fmt", "yuv420p", device])
    }

    /// The device must exist and be a v4l2loopback character device.
    static func check(device: String) throws {
        switch Platform.isCharacterDevice(device) {
        case nil:
            throw LiveError.outputUnavailable(what: "virtual camera \(device)", reason: "the device does not exist; load v4l2loopback first: sudo apt install v4l2loopback-dkms && sudo modprobe v4l2loopback video_nr=\(device.filter(\.isNumber)) card_label=Visage exclusive_caps=1")
        case false?:
            throw LiveError.outputUnavailable(what: "virtual camera \(device)", reason: "not a video device (expected /dev/videoN made by v4l2loopback)")
        case true?:
            return
        }
    }

    public func write(_ frame: Image, number: Int, done: @escaping @Sendable () -> Void) throws {
        defer { done() }
        do { try pipe.write(frame) } catch {
            throw LiveError.outputUnavailable(what: name, reason: "ffmpeg stopped accepting frames: \(pipe.lastErrors(lines: 2))")
        }
    }

    public func finish() throws { pipe.finish() }
}

/// `--preview`: a window showing the output. The window is ffplay's (FFmpeg's player, which
/// comes with ffmpeg), fed raw frames, so Visage links no GUI toolkit; without a display it
/// says so and points to `--stream`.
public final class PreviewOutput: LiveOutput {
    public var name: String { "preview window" }
    private let pipe: RawFramePipe
    private var reported = false
    private let log = VisageLog.logger("live")

    public init(width: Int, height: Int, fps: Double, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard Platform.hasDisplay(environment: environment) else {
            throw LiveError.outputUnavailable(what: "preview window", reason: "no display (DISPLAY and WAYLAND_DISPLAY are not set); stream the output over HTTP and open it in a browser instead")
        }
        guard let ffplay = VideoWriter.tool("ffplay") else {
            throw LiveError.outputUnavailable(what: "preview window", reason: "ffplay (part of FFmpeg) not found on PATH; install ffmpeg, or stream the output over HTTP instead")
        }
        // A helper that exits (window closed) ends that output, not the run.
        pipe = try RawFramePipe(program: ffplay, arguments: ["-hide_banner", "-loglevel", "error", "-window_title", "visage live",
                                                             "-f", "rawvideo", "-pixel_format", "bgr24", "-video_size", "\(width)x\(height)",
                                                             "-framerate", String(fps > 0 ? fps : 30), "-fflags", "nobuffer", "-i", "-"])
    }

    public func write(_ frame: Image, number: Int, done: @escaping @Sendable () -> Void) throws {
        defer { done() }
        do { try pipe.write(frame) } catch where !reported {
            reported = true
            log.notice("live: the preview window was closed; the other outputs go on (\(pipe.lastErrors(lines: 2)))")
        } catch {}
    }

    public func finish() throws { pipe.finish() }
}
