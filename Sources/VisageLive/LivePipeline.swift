import Foundation
import VisageCore
import VisageMedia

/// How a run is set up.
public struct LiveConfiguration: Sendable {
    public var mode: LiveMode
    /// nil: the mode's target.
    public var targetFPS: Double?
    /// Stages on their own threads (capture ∥ detect ∥ process ∥ output); false: one thread, no overlap.
    public var pipelined: Bool
    /// Let the controller change the settings.
    public var adaptive: Bool
    /// Stop after this many output frames / seconds (nil: at the end of the source or on Ctrl-C).
    public var maxFrames: Int?
    public var duration: Double?
    /// Controller window, in output frames.
    public var controllerWindow: Int
    /// How often `onStats` is called, in seconds.
    public var statsInterval: Double
    public var thermal: ThermalMonitor
    /// Keep every output frame's number in the report (tests of ordering).
    public var recordNumbers: Bool
    /// Memory samples every this many seconds (soak); 0: none.
    public var memorySampleInterval: Double
    /// Call the work's `finish` at the end (false: a warm-up run whose work runs again).
    public var finishesWork = true

    public init(mode: LiveMode = .balanced, targetFPS: Double? = nil, pipelined: Bool = true, adaptive: Bool = true, maxFrames: Int? = nil,
                duration: Double? = nil, controllerWindow: Int = 30, statsInterval: Double = 1, thermal: ThermalMonitor = SystemThermalMonitor(),
                recordNumbers: Bool = false, memorySampleInterval: Double = 0) {
        self.mode = mode; self.targetFPS = targetFPS; self.pipelined = pipelined; self.adaptive = adaptive
        self.maxFrames = maxFrames; self.duration = duration; self.controllerWindow = controllerWindow
        self.statsInterval = statsInterval; self.thermal = thermal; self.recordNumbers = recordNumbers
        self.memorySampleInterval = memorySampleInterval
    }
}

/// What a run did.
public struct LiveReport: Sendable {
    public var work: String
    public var pipelined: Bool
    public var width = 0, height = 0
    public var captured = 0
    public var output = 0
    /// Frames the pipeline dropped because it was behind (oldest first), or had no free buffer for.
    public var dropped = 0
    /// Frames the controller chose not to process (its last resort).
    public var skipped = 0
    public var seconds = 0.0
    /// Output frames per second from the first to the last output frame.
    public var fps = 0.0
    public var latencyMedianMs = 0.0
    public var latencyP90Ms = 0.0
    /// Mean ms per output frame: capture, detect, process, output.
    public var stageMeanMs: [Double] = [0, 0, 0, 0]
    public var decisions: [AdaptiveController.Decision] = []
    public var finalSettings: QualitySettings
    public var numbers: [Int] = []
    /// (seconds, resident MB)
    public var memory: [(Double, Double)] = []
    public var poolBuffers = 0
    /// Why the run ended: "source ended", "frame limit", "duration", "interrupted".
    public var ending = ""
}

/// capture → detect/track → process → output, each on its own thread with short bounded queues
/// between them (or all on one thread, `pipelined: false`, for comparison).
///
/// Frames are never reordered: every stage is one thread taking frames in order from a FIFO.
/// Frames are dropped in one place only — the capture queue, oldest first, when a live source
/// gets ahead — so the camera never waits and the output stays as recent as the pipeline allows;
/// a file processed as fast as possible (not `isLive`) waits instead and loses nothing. Frame
/// buffers come from pools and go back after output, so steady state allocates no frame memory.
public final class LivePipeline: @unchecked Sendable {
    public let source: LiveSource
    public let work: LiveWork
    public let outputs: [LiveOutput]
    public let configuration: LiveConfiguration
    public let controller: AdaptiveController
    /// The processing size at scale 1 (the source fitted into the mode's maximum) = the output size.
    public let outputWidth: Int
    public let outputHeight: Int
    private let settings: SharedSettings
    private let pools: PoolSet
    private let outputPool: FramePool
    private let stopFlag = Locked<String?>(nil)
    private let errors = Locked<Error?>(nil)
    private let shouldStop: @Sendable () -> Bool
    private let onStats: ((LiveStats.Snapshot) -> Void)?
    // Capture-thread counters, read after the threads have finished.
    private var captured = 0, skipped = 0, poolMisses = 0

    public init(source: LiveSource, work: LiveWork, outputs: [LiveOutput], configuration: LiveConfiguration,
                shouldStop: @escaping @Sendable () -> Bool = { false }, onStats: ((LiveStats.Snapshot) -> Void)? = nil) {
        self.source = source
        self.work = work
        self.outputs = outputs
        self.configuration = configuration
        self.shouldStop = shouldStop
        self.onStats = onStats
        controller = AdaptiveController(mode: configuration.mode, targetFPS: configuration.targetFPS, pipelined: configuration.pipelined,
                                        enabled: configuration.adaptive, window: configuration.controllerWindow, thermal: configuration.thermal)
        (outputWidth, outputHeight) = configuration.mode.processingSize(sourceWidth: source.width, sourceHeight: source.height)
        settings = SharedSettings(controller.settings)
        pools = PoolSet(width: outputWidth, height: outputHeight, capacity: 24)
        outputPool = FramePool(width: outputWidth, height: outputHeight, capacity: 16)
    }

    /// The output size of a source under a mode (for setting up outputs before the run).
    public static func outputSize(of source: LiveSource, mode: LiveMode) -> (width: Int, height: Int) {
        mode.processingSize(sourceWidth: source.width, sourceHeight: source.height)
    }

    /// Runs until the source ends, a limit is reached or a stop is requested; finishes the outputs
    /// and the work (recording and CSV finalised) also when it stops early. Rethrows the first
    /// stage error after cleaning up.
    public func run() throws -> LiveReport {
        let stats = LiveStats()
        var report = LiveReport(work: work.name, pipelined: configuration.pipelined, finalSettings: controller.settings)
        report.width = outputWidth
        report.height = outputHeight
        let capture = CaptureStage(pipeline: self)
        var ending = "source ended"
        var lastStats = stats.start
        var lastMemory = stats.start
        if configuration.memorySampleInterval > 0 { report.memory.append((0, Double(Platform.residentBytes) / 1_048_576)) }

        let emit: (LiveFrame) -> Void = { [self] frame in
            if let max = configuration.maxFrames, stats.frames >= max { recycle(frame.image); return }   // in flight past the limit
            let t0 = DispatchTime.now().uptimeNanoseconds
            do { try output(frame) } catch { errors.keepFirst(error); stopFlag.keepFirst("error") }
            let now = DispatchTime.now().uptimeNanoseconds
            stats.record(frame, outputMs: Double(now - t0) / 1e6, at: now)
            if configuration.recordNumbers { report.numbers.append(frame.number) }
            let seconds = Double(now - stats.start) / 1e9
            if stats.frames % controller.window == 0,
               let changed = controller.evaluate(stats.load(sourceFPS: source.isLive ? source.fps : 0), frame: frame.number, seconds: seconds) {
                settings.current = changed
            }
            if let max = configuration.maxFrames, stats.frames >= max { stopFlag.keepFirst("frame limit") }
            if let d = configuration.duration, seconds >= d { stopFlag.keepFirst("duration") }
            if Double(now - lastStats) / 1e9 >= configuration.statsInterval {
                lastStats = now
                onStats?(snapshot(stats, capture: capture, seconds: seconds))
            }
            if configuration.memorySampleInterval > 0, Double(now - lastMemory) / 1e9 >= configuration.memorySampleInterval {
                lastMemory = now
                report.memory.append((seconds, Double(Platform.residentBytes) / 1_048_576))
            }
        }

        if configuration.pipelined {
            // Live: only the newest frame waits (less latency); files: two, so decode runs ahead.
            let toDetect = LatestFrameQueue<LiveFrame>(capacity: source.isLive ? 1 : 2, policy: source.isLive ? .dropOldest : .block)
            let toProcess = LatestFrameQueue<LiveFrame>(capacity: 1, policy: .block)
            let toOutput = LatestFrameQueue<LiveFrame>(capacity: 1, policy: .block)
            capture.queue = toDetect
            let threads = [
                Self.thread("visage.capture") { capture.loop() },
                Self.thread("visage.detect") { [self] in
                    stage(from: toDetect, to: toProcess) { f in try work.analyze(&f) } time: { $0.detectMs = $1 }
                },
                Self.thread("visage.process") { [self] in
                    stage(from: toProcess, to: toOutput) { f in try work.process(&f) } time: { $0.processMs = $1 }
                },
            ]
            while let frame = toOutput.pop() {
                emit(frame)
                if stopFlag.value == "error" { break }
            }
            if stopFlag.value == "error" {
                for q in [toDetect, toProcess, toOutput] { for f in q.cancel() { pools.recycle(f.image) } }
            }
            for t in threads { t.wait() }
            report.dropped = toDetect.dropped
        } else {
            while let frame = capture.next() {
                var f = frame
                do {
                    var t = DispatchTime.now().uptimeNanoseconds
                    try work.analyze(&f)
                    var now = DispatchTime.now().uptimeNanoseconds
                    f.detectMs = Double(now - t) / 1e6
                    t = now
                    try work.process(&f)
                    now = DispatchTime.now().uptimeNanoseconds
                    f.processMs = Double(now - t) / 1e6
                } catch {
                    errors.keepFirst(error); stopFlag.keepFirst("error"); pools.recycle(f.image); break
                }
                emit(f)
                if stopFlag.value == "error" { break }
            }
        }
        ending = stopFlag.value ?? ending

        // Finish everything that holds a file, even after an error or Ctrl-C.
        var finishError: Error?
        for o in outputs {
            do { try o.finish() } catch { if finishError == nil { finishError = error } }
        }
        if errors.value == nil {
            do { if configuration.finishesWork { try work.finish() } } catch { finishError = finishError ?? error }
        } else {
            work.abandon()
        }
        if let error = errors.value { throw error }
        if let finishError { throw finishError }

        report.captured = capture.captured
        report.skipped = capture.skipped
        report.dropped += capture.poolMisses
        report.output = stats.frames
        report.seconds = Double(DispatchTime.now().uptimeNanoseconds - stats.start) / 1e9
        report.fps = stats.overallFPS
        report.latencyMedianMs = LiveStats.percentile(stats.latencies, 50)
        report.latencyP90Ms = LiveStats.percentile(stats.latencies, 90)
        report.stageMeanMs = stats.stageTotals.map { $0 / Double(max(stats.frames, 1)) }
        report.decisions = controller.decisions
        report.finalSettings = controller.settings
        report.poolBuffers = pools.created + outputPool.created
        report.ending = ending
        if configuration.memorySampleInterval > 0 { report.memory.append((report.seconds, Double(Platform.residentBytes) / 1_048_576)) }
        return report
    }

    private func snapshot(_ stats: LiveStats, capture: CaptureStage, seconds: Double) -> LiveStats.Snapshot {
        LiveStats.Snapshot(seconds: seconds, frames: stats.frames, fps: stats.movingFPS, load: stats.load(sourceFPS: source.fps),
                           latencyMs: stats.recentLatencyMs, dropped: (capture.queue?.dropped ?? 0) + capture.poolMisses,
                           skipped: capture.skipped, settings: settings.current, decisions: controller.decisions.count,
                           residentMB: Double(Platform.residentBytes) / 1_048_576)
    }

    /// One middle stage: frames in order from `input`, `body` on each, on to `output`.
    private func stage(from input: LatestFrameQueue<LiveFrame>, to output: LatestFrameQueue<LiveFrame>,
                       _ body: (inout LiveFrame) throws -> Void, time: (inout LiveFrame, Double) -> Void) {
        defer { output.close() }
        while var frame = input.pop() {
            let t = DispatchTime.now().uptimeNanoseconds
            do { try body(&frame) } catch {
                errors.keepFirst(error)
                stopFlag.keepFirst("error")
                pools.recycle(frame.image)
                for f in input.cancel() { pools.recycle(f.image) }
                return
            }
            time(&frame, Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
            if let rejected = output.push(frame) { pools.recycle(rejected.image) }
        }
    }

    /// Hands the frame (at the output size) to every output; its buffer goes back to its pool
    /// once the last output is done with it.
    private func output(_ frame: LiveFrame) throws {
        var image = frame.image
        if image.width != outputWidth || image.height != outputHeight {
            // Processed smaller (controller): back to the output size for recorders and viewers.
            let big = outputPool.acquire() ?? Image(width: outputWidth, height: outputHeight)
            try ImageOps.resize(image, into: big, interpolation: .linear)
            pools.recycle(image)
            image = big
        }
        guard !outputs.isEmpty else { recycle(image); return }
        let finished = image
        let release = FrameRelease(count: outputs.count) { [pools, outputPool] in
            pools.recycle(finished)
            outputPool.recycle(finished)
        }
        for o in outputs { try o.write(finished, number: frame.number, timestamp: frame.timestamp, done: release.done) }
    }

    fileprivate func recycle(_ image: Image) {
        pools.recycle(image)
        outputPool.recycle(image)
    }

    fileprivate var stopReason: String? { stopFlag.value }
    fileprivate func requestStop(_ why: String) { stopFlag.keepFirst(why) }
    fileprivate func fail(_ error: Error) { errors.keepFirst(error); stopFlag.keepFirst("error") }
    fileprivate var currentSettings: QualitySettings { settings.current }
    fileprivate func pool(for scale: Double) -> FramePool { pools.pool(scale: scale) }
    fileprivate var interrupted: Bool { shouldStop() }

    private static func thread(_ name: String, _ body: @escaping @Sendable () -> Void) -> Joinable {
        let done = Joinable()
        let t = Thread { body(); done.signal() }
        t.name = name
        t.stackSize = 8 << 20
        t.start()
        return done
    }
}

/// The capture stage: reads the source into pooled buffers at the processing size, applies the
/// controller's scale and skip, and stamps capture time.
private final class CaptureStage: @unchecked Sendable {
    unowned let pipeline: LivePipeline
    var queue: LatestFrameQueue<LiveFrame>?
    var captured = 0, skipped = 0, poolMisses = 0
    private var number = 0
    private var scratch: Image?
    private let start = DispatchTime.now().uptimeNanoseconds
    private var ended = false

    init(pipeline: LivePipeline) { self.pipeline = pipeline }

    /// Pipelined: read until the end, pushing into the queue (dropping the oldest when live).
    func loop() {
        guard let queue else { return }
        defer { queue.close() }
        while let frame = next() {
            if let dropped = queue.push(frame) { pipeline.recycle(dropped.image) }
        }
    }

    /// The next frame to process, nil at the end (or on stop).
    func next() -> LiveFrame? {
        let source = pipeline.source
        while !ended {
            if pipeline.interrupted { pipeline.requestStop("interrupted") }
            if pipeline.stopReason != nil { ended = true; return nil }
            let settings = pipeline.currentSettings
            source.waitForNextFrame()
            let t0 = DispatchTime.now().uptimeNanoseconds
            do {
                let pool = pipeline.pool(for: settings.scale)
                let direct = pool.width == source.width && pool.height == source.height
                var buffer = pool.acquire()
                if buffer == nil && !source.isLive {
                    // A file waits for a buffer (nothing is lost); a camera never does.
                    while buffer == nil && pipeline.stopReason == nil { usleep(500); buffer = pool.acquire() }
                }
                let skip = number % settings.skip != 0
                guard let target = buffer, !skip else {
                    // Keep the source flowing: read the frame and let it go.
                    if let buffer { pool.recycle(buffer) }
                    guard try source.read(into: sourceScratch(source)) else { ended = true; return nil }
                    if skip { skipped += 1 } else { poolMisses += 1 }
                    number += 1; captured += 1
                    continue
                }
                let ok: Bool
                if direct {
                    ok = try source.read(into: target)
                } else {
                    let full = try sourceScratch(source)
                    ok = try source.read(into: full)
                    if ok { try ImageOps.resize(full, into: target, interpolation: .area) }
                }
                guard ok else { pool.recycle(target); ended = true; return nil }
                let now = DispatchTime.now().uptimeNanoseconds
                let timestamp = source is CameraSource ? Double(now - start) / 1e9 : Double(number) / max(source.fps, 1)
                var frame = LiveFrame(number: number, capturedAt: now, timestamp: timestamp, image: target, settings: settings)
                frame.captureMs = Double(now - t0) / 1e6
                number += 1
                captured += 1
                return frame
            } catch {
                // A camera unplugged mid-run reads as an error or as the end: either way the run
                // ends cleanly, frames in flight are drained and the outputs finalised.
                VisageLog.logger("live").warning("live: the source stopped delivering frames after \(captured): \(error)")
                pipeline.requestStop("source stopped")
                ended = true
                return nil
            }
        }
        return nil
    }

    private func sourceScratch(_ source: LiveSource) throws -> Image {
        if let scratch { return scratch }
        let image = Image(width: source.width, height: source.height)
        scratch = image
        return image
    }
}

/// Frame pools per processing scale (the controller can change it mid-run). Only the current
/// scale's pool keeps buffers: a retired pool's buffers are freed as they come back, so memory
/// stays that of one pool however often the scale changes.
final class PoolSet: @unchecked Sendable {
    let width: Int, height: Int, capacity: Int
    private let state = Locked<(current: FramePool?, createdBefore: Int)>((nil, 0))
    init(width: Int, height: Int, capacity: Int) { self.width = width; self.height = height; self.capacity = capacity }

    func pool(scale: Double) -> FramePool {
        let w = max(2, Int(Double(width) * scale) / 2 * 2), h = max(2, Int(Double(height) * scale) / 2 * 2)
        return state.withLock { s in
            if let p = s.current, p.width == w { return p }
            if let p = s.current {
                s.createdBefore += p.created
                p.drain()
            }
            let p = FramePool(width: w, height: h, capacity: capacity)
            s.current = p
            return p
        }
    }

    func recycle(_ image: Image) {
        // Buffers of retired pools (another size) are not kept: they are freed here.
        if let p = state.value.current, p.width == image.width { p.recycle(image) }
    }

    var created: Int { state.withLock { $0.createdBefore + ($0.current?.created ?? 0) } }
}

/// Calls `body` when `done` has been called `count` times.
final class FrameRelease: @unchecked Sendable {
    private let remaining: Locked<Int>
    private let body: @Sendable () -> Void
    init(count: Int, body: @escaping @Sendable () -> Void) { remaining = Locked(count); self.body = body }
    var done: @Sendable () -> Void {
        { [self] in
            let last = remaining.withLock { r in r -= 1; return r == 0 }
            if last { body() }
        }
    }
}

final class Joinable: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    func signal() { semaphore.signal() }
    func wait() { semaphore.wait(); semaphore.signal() }
}
