import Foundation
import VisageCore
@testable import VisageLive

/// Work whose cost follows the controller's knobs like real work does (detection cost grows with
/// the detector's input, processing with the frame's area), so the controller can be tested
/// quickly and the same way on any machine.
final class SimulatedWork: LiveWork, @unchecked Sendable {
    let name = "simulated"
    let detectMs: Double
    let processFixedMs: Double
    let processAreaMs: Double
    init(detectMs: Double = 3, processFixedMs: Double = 15, processAreaMs: Double = 10) {
        self.detectMs = detectMs
        self.processFixedMs = processFixedMs
        self.processAreaMs = processAreaMs
    }
    func analyze(_ frame: inout LiveFrame) throws {
        let side = Double(frame.settings.detectorSide) / 480
        usleep(useconds_t(detectMs * side * side * 1000))
    }
    func process(_ frame: inout LiveFrame) throws {
        let s = frame.settings.scale
        usleep(useconds_t((processFixedMs + processAreaMs * s * s) * 1000))
    }
    func finish() throws {}
    func abandon() {}
}

/// Keeps what reached the output: frame numbers (from the pipeline and from the pixels) and times.
final class CollectingOutput: LiveOutput, @unchecked Sendable {
    let name = "collector"
    private(set) var numbers: [Int] = []
    private(set) var stamps: [Int] = []
    private(set) var times: [UInt64] = []
    private(set) var sizes: Set<String> = []
    func write(_ frame: Image, number: Int, done: @escaping @Sendable () -> Void) throws {
        numbers.append(number)
        stamps.append(FrameStamp.read(from: frame))
        times.append(DispatchTime.now().uptimeNanoseconds)
        sizes.insert("\(frame.width)x\(frame.height)")
        done()
    }
    func finish() throws {}
}

/// A source that stops with an error after `frames` frames, as an unplugged camera does.
final class UnpluggedCamera: LiveSource {
    let inner: NumberedFrameSource
    let frames: Int
    private var count = 0
    init(frames: Int) { inner = NumberedFrameSource(width: 320, height: 240, fps: 60, realtime: true); self.frames = frames }
    var name: String { "unplugged camera" }
    var width: Int { inner.width }
    var height: Int { inner.height }
    var fps: Double { inner.fps }
    var isLive: Bool { true }
    func waitForNextFrame() { inner.waitForNextFrame() }
    func read(into frame: Image) throws -> Bool {
        count += 1
        if count > frames { throw VisageError.invalidVideo(path: "camera 0", reason: "the device was removed") }
        return try inner.read(into: frame)
    }
}

enum LiveTestFiles {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("visage-live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Frames in a video, counted by decoding (ffprobe -count_frames).
    static func countFrames(_ path: String) throws -> Int {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        p.waitUntilExit()
        return Int(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }
}
