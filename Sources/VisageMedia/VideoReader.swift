import CVisageOpenCV
import Foundation
import VisageCore

/// Sequential decoding of a video file (or camera) into BGR frames.
public final class VideoReader: @unchecked Sendable {
    public let path: String
    /// Frames per second as the container reports it (0 when unknown).
    public let fps: Double
    public let width: Int
    public let height: Int
    /// Frame count as the container reports it; may be approximate or 0 for streams.
    public let frameCount: Int
    private let handle: OpaquePointer

    public init(path: String) throws {
        try ImageIO.checkReadableFile(path)
        var err = vcv_error()
        guard let handle = vcv_video_open(path, &err) else {
            let message = withUnsafeBytes(of: err.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw VisageError.invalidVideo(path: path, reason: message)
        }
        var fps = 0.0, w: Int32 = 0, h: Int32 = 0, count: Int64 = 0
        vcv_video_info(handle, &fps, &w, &h, &count)
        guard w > 0, h > 0 else {
            vcv_video_release(handle)
            throw VisageError.invalidVideo(path: path, reason: "no video stream with a frame size")
        }
        self.handle = handle
        self.path = path
        self.fps = fps.isFinite ? fps : 0
        self.width = Int(w)
        self.height = Int(h)
        self.frameCount = Int(max(0, count))
    }

    /// Camera `index` (OpenCV capture; MJPG asked for, as USB cameras deliver full frame rates
    /// only in it). Width, height and fps are what the driver reports back, not what was asked.
    public init(camera index: Int, width: Int = 0, height: Int = 0, fps: Double = 0) throws {
        var err = vcv_error()
        guard let handle = vcv_camera_open(Int32(index), Int32(width), Int32(height), fps, 1, &err) else {
            let message = withUnsafeBytes(of: err.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw VisageError.invalidVideo(path: "camera \(index)", reason: message.isEmpty ? "cannot open the camera" : message)
        }
        var fps = 0.0, w: Int32 = 0, h: Int32 = 0, count: Int64 = 0
        vcv_video_info(handle, &fps, &w, &h, &count)
        guard w > 0, h > 0 else {
            vcv_video_release(handle)
            throw VisageError.invalidVideo(path: "camera \(index)", reason: "the camera reports no frame size")
        }
        self.handle = handle
        self.path = "camera \(index)"
        self.fps = fps.isFinite ? fps : 0
        self.width = Int(w)
        self.height = Int(h)
        self.frameCount = 0
    }

    /// The next frame, or nil at the end of the stream.
    public func read() throws -> Image? {
        var err = vcv_error()
        let frame = vcv_video_read(handle, &err)
        try OpenCVBridge.check(err, context: "reading \(path)")
        return frame.map(OpenCVBridge.adopt)
    }

    deinit { vcv_video_release(handle) }
}

// Live pipeline: reading into pooled buffers
extension VideoReader {
    /// Reads the next frame into `frame` (3 channels, 8 bits, the reader's size) without allocating
    /// a new one: the live pipeline's frame pool hands the same buffers round. False at the end.
    public func read(into frame: Image) throws -> Bool {
        guard frame.width == width, frame.height == height, frame.channels == 3, frame.depth == .uint8 else {
            throw VisageError.invalidArgument("frame \(frame.width)x\(frame.height)x\(frame.channels) does not match \(path) (\(width)x\(height)x3)")
        }
        var err = vcv_error()
        let got = frame.withView { vcv_video_read_into(handle, $0, &err) }
        try OpenCVBridge.check(err, context: "reading \(path)")
        return got == 1
    }

    /// The pixel format the capture delivers, as its four letters ("MJPG", "YUYV"), nil when unknown.
    public var fourcc: String? {
        let code = UInt32(bitPattern: vcv_video_fourcc(handle))
        guard code != 0 else { return nil }
        let letters = (0..<4).map { UInt8((code >> (8 * $0)) & 0xFF) }
        guard letters.allSatisfy({ (32...126).contains($0) }) else { return nil }
        return String(decoding: letters, as: UTF8.self)
    }
}
