import Foundation
import VisageCore
import VisageMedia

/// Where live frames come from. `read(into:)` fills a pooled buffer of the source's size, so
/// steady-state capture allocates nothing.
public protocol LiveSource: AnyObject {
    var name: String { get }
    var width: Int { get }
    var height: Int { get }
    /// Frames per second the source delivers at (0: unknown).
    var fps: Double { get }
    /// Frames arrive at their own pace (camera, `--realtime` file): the pipeline drops the
    /// oldest unprocessed frame rather than making the source wait.
    var isLive: Bool { get }
    /// Fills `frame` with the next frame; false at the end of the source (or a camera that stopped).
    func read(into frame: Image) throws -> Bool
    /// Waits until the next frame is due (files played in real time); capture time excludes it.
    func waitForNextFrame()
}

extension LiveSource {
    public func waitForNextFrame() {}
}

/// Sleeps until frame n's moment at `fps`, so a file plays in real time (`--realtime`).
struct RealtimePacer {
    let fps: Double
    private var start: UInt64?
    private var count = 0
    init(fps: Double) { self.fps = fps > 0 ? fps : 30 }

    mutating func wait() {
        let now = DispatchTime.now().uptimeNanoseconds
        if start == nil { start = now }
        let due = start! + UInt64(Double(count) * 1e9 / fps)
        count += 1
        if due > now { usleep(useconds_t(min((due - now) / 1000, 1_000_000))) }
    }
}

/// A video file, played in real time or as fast as it decodes; `loop` starts it again at the end.
public final class VideoFileSource: LiveSource {
    public let path: String
    public let width: Int
    public let height: Int
    public let fps: Double
    public let isLive: Bool
    public let loop: Bool
    public var name: String { path }
    private var reader: VideoReader
    private var pacer: RealtimePacer?
    public private(set) var loops = 0

    public init(path: String, realtime: Bool, loop: Bool = false) throws {
        reader = try VideoReader(path: path)
        self.path = path
        width = reader.width
        height = reader.height
        fps = reader.fps > 0 ? reader.fps : 30
        isLive = realtime
        self.loop = loop
        pacer = realtime ? RealtimePacer(fps: fps) : nil
    }

    public func waitForNextFrame() { pacer?.wait() }

    public func read(into frame: Image) throws -> Bool {
        if try reader.read(into: frame) { return true }
        guard loop else { return false }
        reader = try VideoReader(path: path)
        loops += 1
        return try reader.read(into: frame)
    }
}

/// The images of a folder in name order, as frames (resized to the first image's size).
public final class ImageFolderSource: LiveSource {
    public let width: Int
    public let height: Int
    public let fps: Double
    public let isLive: Bool
    public let name: String
    private let paths: [String]
    private let loop: Bool
    private var next = 0
    private var pacer: RealtimePacer?

    public static let extensions: Set<String> = ["jpg", "jpeg", "png", "bmp", "tif", "tiff", "webp", "ppm", "pgm"]

    public init(folder: String, fps: Double = 30, realtime: Bool, loop: Bool = false) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
            .filter { !$0.hasPrefix(".") && Self.extensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
        guard !names.isEmpty else { throw LiveError.badArgument("\(folder) has no images (\(Self.extensions.sorted().joined(separator: ", ")))") }
        paths = names.map { folder + "/" + $0 }
        let first = try ImageIO.read(paths[0])
        width = first.width / 2 * 2
        height = first.height / 2 * 2
        guard width > 0, height > 0 else { throw LiveError.badArgument("\(paths[0]) is too small to use as a frame") }
        self.fps = fps
        isLive = realtime
        self.loop = loop
        name = folder
        pacer = realtime ? RealtimePacer(fps: fps) : nil
    }

    public func waitForNextFrame() { pacer?.wait() }

    public func read(into frame: Image) throws -> Bool {
        if next == paths.count {
            guard loop else { return false }
            next = 0
        }
        let image = try ImageIO.read(paths[next])
        next += 1
        try ImageOps.resize(image, into: frame, interpolation: .area)
        return true
    }
}

/// A camera by index (OpenCV capture). Asks for MJPG and the mode's size and rate, reads back
/// what the driver agreed to, and measures the rate it really delivers over the first frames
/// instead of trusting the driver's number.
public final class CameraSource: LiveSource {
    public let index: Int
    public let width: Int
    public let height: Int
    public let isLive = true
    public var name: String { "camera \(index)" }
    public let driverFPS: Double
    public let fourcc: String?
    public private(set) var fps: Double
    /// Frames over which the real rate is measured.
    public let measureFrames = 30
    private let reader: VideoReader
    private var count = 0
    private var firstFrame: UInt64 = 0
    private let log = VisageLog.logger("live")

    public init(index: Int, width: Int, height: Int, fps: Double) throws {
        let found = CameraDiscovery.list()
        if CameraDiscovery.osListsDevices, !found.contains(where: { $0.index == index }) {
            throw LiveError.cameraNotFound(requested: "\(index)", found: found.map(\.description))
        }
        do {
            reader = try VideoReader(camera: index, width: width, height: height, fps: fps)
        } catch {
            throw LiveError.cameraNotFound(requested: "\(index) (\(error))", found: found.map(\.description))
        }
        self.index = index
        self.width = reader.width
        self.height = reader.height
        driverFPS = reader.fps
        self.fps = reader.fps > 0 ? reader.fps : fps
        fourcc = reader.fourcc
        log.info("camera \(index): asked \(width)x\(height) at \(fps) fps in MJPG; the driver gives \(reader.width)x\(reader.height) at \(reader.fps) fps in \(fourcc ?? "an unknown format")")
    }

    public func read(into frame: Image) throws -> Bool {
        // A camera that is unplugged stops delivering: the pipeline ends cleanly on false or on the error.
        guard try reader.read(into: frame) else { return false }
        let now = DispatchTime.now().uptimeNanoseconds
        if count == 0 { firstFrame = now }
        count += 1
        if count == measureFrames + 1 {
            let measured = Double(measureFrames) / (Double(now - firstFrame) / 1e9)
            log.info("\(String(format: "camera %d: measured %.1f fps over %d frames (driver says %.1f)", index, measured, measureFrames, driverFPS))")
            fps = measured
        }
        return true
    }
}

/// Cameras the OS shows: Linux's video4linux devices; elsewhere the OpenCV indices that open.
public enum CameraDiscovery {
    public struct Camera: Sendable, CustomStringConvertible {
        public let index: Int
        public let device: String
        public let label: String
        public var description: String { "\(index): \(device) (\(label))" }
    }

    public static func list(sysfs: String = "/sys/class/video4linux") -> [Camera] {
        if let devices = Platform.captureDevices(sysfs: sysfs) {
            return devices.map { Camera(index: $0.index, device: $0.path, label: $0.label) }
        }
        // No device list on this OS: the indexes that open are the cameras.
        return (0..<4).compactMap { i in
            (try? VideoReader(camera: i)).map { Camera(index: i, device: "camera \(i)", label: "\($0.width)x\($0.height)") }
        }
    }

    /// Whether the OS lists its cameras (then an index that is not listed is refused before opening it).
    public static var osListsDevices: Bool { Platform.captureDevices() != nil }

    /// "2" or "/dev/video2" → 2; nil for anything else (a file path).
    public static func index(of argument: String) -> Int? {
        if let n = Int(argument), n >= 0 { return n }
        if argument.hasPrefix("/dev/video"), let n = Int(argument.dropFirst("/dev/video".count)) { return n }
        return nil
    }
}
