import CVisageOpenCV
import Foundation
import VisageCore

/// One decoded frame with its place in time.
public struct VideoFrame: @unchecked Sendable {
    /// BGR, 8 bits, the reader's `width` × `height` (as players show it: rotation applied).
    public let image: Image
    /// Presentation time in seconds on the file's own timeline (the first frame of a clip whose
    /// video starts late is not at 0), as ffprobe reports it.
    public let timestamp: Double
    /// 0 for the first frame delivered, counting every frame delivered.
    public let index: Int
}

/// Sequential decoding of a video file (or camera) into BGR frames.
///
/// Files are decoded by the `ffmpeg` program (`FFmpegFrameDecoder`), so frames follow what players
/// show: rotation applied, every frame once with its own timestamp (variable frame rates kept),
/// damaged packets skipped and counted in `decodeReport` instead of ending the video. Pixels are
/// bit-identical to OpenCV 4.6's capture on normal files (OpenFace decodes with OpenCV, so AU
/// numbers stay comparable). Without `ffmpeg`/`ffprobe` on PATH, or with
/// `VISAGE_VIDEO_DECODER=opencv`, files fall back to OpenCV's capture. Cameras always use OpenCV.
public final class VideoReader: @unchecked Sendable {
    /// Who decodes the frames.
    public enum Decoder: String, Sendable, CaseIterable {
        /// ffmpeg when it is on PATH, OpenCV otherwise (and `VISAGE_VIDEO_DECODER` may choose).
        case automatic
        case ffmpeg
        case openCV = "opencv"
    }

    public let path: String
    /// Frames per second as OpenCV reports it: the container's average rate (avg_frame_rate),
    /// 0 when unknown. For a variable-rate video it is an average; use frame timestamps for time.
    public let fps: Double
    /// Frame size as shown (after rotation).
    public let width: Int
    public let height: Int
    /// Frames the container announces (its index's count, else duration × fps), the same number
    /// OpenCV reports; 0 for cameras. An estimate for progress bars: a damaged, truncated or
    /// edited file can deliver fewer or more. The frames actually delivered are `framesRead`.
    public let frameCount: Int
    /// The decoder in use: `.ffmpeg` or `.openCV` (cameras: `.openCV`).
    public let decoder: Decoder
    /// What ffprobe said about the file; nil for cameras and for the OpenCV fallback.
    public let facts: VideoFacts?

    private let ffmpeg: FFmpegFrameDecoder?
    private let capture: OpaquePointer?
    private var delivered = 0
    /// Presentation time (seconds) of the frame returned last; nil before the first.
    public private(set) var lastTimestamp: Double?

    /// First presentation time of the video stream in seconds (0 when unknown or for cameras).
    public var startTime: Double { facts?.startTime ?? 0 }
    /// First presentation time of the file's audio, nil without audio (or when not known).
    public var audioStartTime: Double? { facts?.audioStartTime }
    /// The video stream's time base (1/90000 when unknown); a writer given it keeps every timestamp exact.
    public var timeBase: VideoTimeBase? { facts?.timeBase }
    /// Clockwise degrees the frames were turned by to match players (0 when not rotated).
    public var rotation: Int { facts?.rotation ?? 0 }
    /// The container says the frame rate varies (timestamps are not frame / fps).
    public var isVariableFrameRate: Bool { facts?.isVariableFrameRate ?? false }
    /// Frames delivered so far.
    public var framesRead: Int { delivered }
    /// Damage met so far (complete once `read()` has returned nil).
    public var decodeReport: VideoDecodeReport {
        var report = ffmpeg?.report ?? VideoDecodeReport()
        report.frames = delivered
        return report
    }

    /// Opens a video file. Throws `fileNotFound`/`emptyFile`/... for a bad path and
    /// `invalidVideo` (with the reason in plain words) for a file that is not a readable video.
    public init(path: String, decoder: Decoder = .automatic) throws {
        try ImageIO.checkReadableFile(path)
        self.path = path
        let choice = decoder == .automatic ? Self.environmentChoice : decoder
        let tools = (MediaTools.ffmpeg, MediaTools.ffprobe)
        if choice != .openCV, let ffmpegPath = tools.0, let ffprobePath = tools.1 {
            // The decoder starts first and waits for its filter graph while ffprobe reads the file.
            let decoder = try FFmpegFrameDecoder(path: path, ffmpeg: ffmpegPath)
            let facts: VideoFacts
            do {
                facts = try VideoProbe.facts(of: path, ffprobe: ffprobePath)
            } catch {
                decoder.stop()
                throw error
            }
            decoder.configure(facts)
            self.facts = facts
            ffmpeg = decoder
            capture = nil
            fps = facts.fps
            width = facts.width
            height = facts.height
            frameCount = facts.estimatedFrames
            self.decoder = .ffmpeg
            Self.logChoiceOnce("video files are decoded by \(ffmpegPath) (rotation, timestamps and damaged packets handled as players do)")
            return
        }
        if choice == .ffmpeg {
            throw VisageError.invalidVideo(path: path, reason: "ffmpeg decoding was asked for but ffmpeg or ffprobe is not on PATH; \(MediaTools.installHint)")
        }
        if choice != .openCV {
            Self.logChoiceOnce("ffmpeg/ffprobe not found on PATH: decoding video files with OpenCV's capture, which stops at the first damaged packet, times frames as frame / fps and may turn rotated phone videos the wrong way; \(MediaTools.installHint)")
        }
        var err = vcv_error()
        guard let handle = vcv_video_open(path, &err) else {
            throw VisageError.invalidVideo(path: path, reason: Self.message(err))
        }
        var fps = 0.0, w: Int32 = 0, h: Int32 = 0, count: Int64 = 0
        vcv_video_info(handle, &fps, &w, &h, &count)
        guard w > 0, h > 0 else {
            vcv_video_release(handle)
            throw VisageError.invalidVideo(path: path, reason: "no video stream with a frame size")
        }
        if vcv_video_orientation(handle) != 0 {
            VisageLog.logger("video").warning("\(path) asks to be shown rotated; OpenCV \(OpenCVInfo.version) applies its own rotation, which differs between OpenCV versions; install ffmpeg to decode it as players show it")
        }
        capture = handle
        ffmpeg = nil
        facts = nil
        self.fps = fps.isFinite ? fps : 0
        width = Int(w)
        height = Int(h)
        frameCount = Int(max(0, count))
        self.decoder = .openCV
    }

    /// Camera `index` (OpenCV capture; MJPG asked for, as USB cameras deliver full frame rates
    /// only in it). Width, height and fps are what the driver reports back, not what was asked.
    public init(camera index: Int, width: Int = 0, height: Int = 0, fps: Double = 0) throws {
        var err = vcv_error()
        guard let handle = vcv_camera_open(Int32(index), Int32(width), Int32(height), fps, 1, &err) else {
            let message = Self.message(err)
            throw VisageError.invalidVideo(path: "camera \(index)", reason: message.isEmpty ? "cannot open the camera" : message)
        }
        var fps = 0.0, w: Int32 = 0, h: Int32 = 0, count: Int64 = 0
        vcv_video_info(handle, &fps, &w, &h, &count)
        guard w > 0, h > 0 else {
            vcv_video_release(handle)
            throw VisageError.invalidVideo(path: "camera \(index)", reason: "the camera reports no frame size")
        }
        capture = handle
        ffmpeg = nil
        facts = nil
        path = "camera \(index)"
        self.fps = fps.isFinite ? fps : 0
        self.width = Int(w)
        self.height = Int(h)
        frameCount = 0
        decoder = .openCV
    }

    /// The next frame, or nil at the end of the stream.
    public func read() throws -> Image? {
        try readFrame()?.image
    }

    /// The next frame with its timestamp, or nil at the end of the stream.
    public func readFrame() throws -> VideoFrame? {
        if let ffmpeg {
            let image = Self.uninitialisedImage(width: width, height: height)
            guard let timestamp = try ffmpeg.read(into: image.baseAddress, stride: image.stride) else { return nil }
            return deliver(image, timestamp: timestamp)
        }
        guard let capture else { return nil }
        var err = vcv_error()
        let frame = vcv_video_read(capture, &err)
        try OpenCVBridge.check(err, context: "reading \(path)")
        guard let frame else { return nil }
        return deliver(OpenCVBridge.adopt(frame), timestamp: nominalTimestamp)
    }

    /// The ffmpeg process decoding this file (tests check it is gone after `close`).
    var decoderProcessID: Int32? { ffmpeg?.processID }

    /// Stops decoding now (the ffmpeg process ends); later reads return nil. Also done on deinit.
    public func close() {
        ffmpeg?.stop()
    }

    private func deliver(_ image: Image, timestamp: Double) -> VideoFrame {
        let frame = VideoFrame(image: image, timestamp: timestamp, index: delivered)
        delivered += 1
        lastTimestamp = timestamp
        return frame
    }

    /// frame / fps: the time OpenCV's capture gives a frame (cameras: since the first frame).
    private var nominalTimestamp: Double { fps > 0 ? Double(delivered) / fps : 0 }

    private static func uninitialisedImage(width: Int, height: Int) -> Image {
        let stride = width * 3
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: stride * height, alignment: 64)
        return Image(width: width, height: height, channels: 3, depth: .uint8, stride: stride,
                     storage: ImageStorage(bytes: bytes, byteCount: stride * height) { $0.deallocate() })
    }

    private static func message(_ err: vcv_error) -> String {
        withUnsafeBytes(of: err.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// `VISAGE_VIDEO_DECODER=opencv|ffmpeg` overrides the automatic choice.
    private static var environmentChoice: Decoder {
        ProcessInfo.processInfo.environment["VISAGE_VIDEO_DECODER"].flatMap { Decoder(rawValue: $0.lowercased()) } ?? .automatic
    }

    private static let logLock = NSLock()
    nonisolated(unsafe) private static var logged = Set<String>()

    private static func logChoiceOnce(_ line: String) {
        logLock.lock()
        let first = logged.insert(line).inserted
        logLock.unlock()
        if first { VisageLog.logger("video").info("\(line)") }
    }

    deinit {
        ffmpeg?.stop()
        if let capture { vcv_video_release(capture) }
    }
}

// Live pipeline: reading into pooled buffers
extension VideoReader {
    /// Reads the next frame into `frame` (3 channels, 8 bits, the reader's size) without allocating
    /// a new one: the live pipeline's frame pool hands the same buffers round. False at the end;
    /// `lastTimestamp` is the frame's presentation time.
    public func read(into frame: Image) throws -> Bool {
        guard frame.width == width, frame.height == height, frame.channels == 3, frame.depth == .uint8 else {
            throw VisageError.invalidArgument("frame \(frame.width)x\(frame.height)x\(frame.channels) does not match \(path) (\(width)x\(height)x3)")
        }
        if let ffmpeg {
            guard let timestamp = try ffmpeg.read(into: frame.baseAddress, stride: frame.stride) else { return false }
            _ = deliver(frame, timestamp: timestamp)
            return true
        }
        guard let capture else { return false }
        var err = vcv_error()
        let got = frame.withView { vcv_video_read_into(capture, $0, &err) }
        try OpenCVBridge.check(err, context: "reading \(path)")
        guard got == 1 else { return false }
        _ = deliver(frame, timestamp: nominalTimestamp)
        return true
    }

    /// The pixel format the capture delivers, as its four letters ("MJPG", "YUYV"), nil when unknown
    /// (and for files decoded by ffmpeg).
    public var fourcc: String? {
        guard let capture else { return nil }
        let code = UInt32(bitPattern: vcv_video_fourcc(capture))
        guard code != 0 else { return nil }
        let letters = (0..<4).map { UInt8((code >> (8 * $0)) & 0xFF) }
        guard letters.allSatisfy({ (32...126).contains($0) }) else { return nil }
        return String(decoding: letters, as: UTF8.self)
    }
}
