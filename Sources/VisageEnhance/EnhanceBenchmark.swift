import Foundation
import VisageCore
import VisageFace
import VisageMedia

/// Measurements behind `visage bench enhance` (the CLI only formats these Codable results).
public enum EnhanceBenchmark {
    /// 2 × the multiply-accumulates of every Conv and Gemm of a model's graph, from ONNX shape inference
    /// (scripts/reference/graph_flops.py on shared/models/twins/GFPGANv1.4_twin.graph.onnx: 197.77 GMAC over
    /// 95 Conv + 24 Gemm, as shared/models/twins/README.md says). Only models whose graph we have are listed.
    public static let graphGFLOP: [String: Double] = ["gfpgan-1.4": 395.5]

    /// min / median / p90 / mean of a list of milliseconds.
    public struct Summary: Codable, Sendable, Equatable {
        public var min = 0.0, median = 0.0, p90 = 0.0, mean = 0.0
        public init(_ values: [Double]) {
            guard !values.isEmpty else { return }
            let s = values.sorted()
            min = s[0]
            median = s[s.count / 2]
            p90 = s[Swift.min(s.count - 1, Int((Double(s.count) * 0.9).rounded(.up)) - 1)]
            mean = s.reduce(0, +) / Double(s.count)
        }
    }

    /// Per-stage cost of enhancing one face. One-core stages are given in thread CPU time (what they cost
    /// even when other processes compete for the cores) and wall time; the model in wall time and in CPU
    /// time of the whole process (ONNX Runtime's threads).
    public struct StageResult: Codable, Sendable {
        public var modelID: String
        public var frameWidth: Int
        public var frameHeight: Int
        /// Eye distance of the face in frame pixels (how large the pasted face is).
        public var eyeDistance: Double
        /// The rectangle paste-back touched.
        public var pasteRegion: SoftMaskPaste.Rect?
        public var modelRuns: Int
        public var compositeRuns: Int
        public var openCVThreads: Int
        /// Milliseconds per face, thread CPU time.
        public var alignCPU: Summary
        public var pasteBackCPU: Summary
        public var blendCPU: Summary
        /// paste-back + blend together (the per-frame cost of a cached face).
        public var compositeCPU: Summary
        public var compositeWall: Summary
        public var modelWall: Summary
        public var modelProcessCPU: Summary
        public var gflop: Double?
        /// gflop / median model wall time.
        public var gflopPerSecondWall: Double?
        /// gflop / median model CPU time: the rate per busy core.
        public var gflopPerCPUSecond: Double?
    }

    /// Times align + model `modelRuns` times and paste-back, blend and both `compositeRuns` times for `face`
    /// of `frame` (the frame is not modified). Call `OpenCVInfo.setThreads(1)` first for one-core numbers.
    public static func stages(engine: FaceEnhancementEngine, frame: Image, face: EnhanceFace, modelRuns: Int = 3,
                              compositeRuns: Int = 50, shouldStop: () -> Bool = { false }) throws -> StageResult {
        guard modelRuns >= 1, compositeRuns >= 1 else { throw VisageError.invalidArgument("benchmark runs must be ≥ 1") }
        func cpu<T>(_ body: () throws -> T) rethrows -> (T, Double) {
            let start = Platform.threadCPUNanoseconds
            let value = try body()
            return (value, Double(Platform.threadCPUNanoseconds - start) / 1e6)
        }
        func wall<T>(_ body: () throws -> T) rethrows -> (T, Double, Double) {
            let start = DispatchTime.now().uptimeNanoseconds, cpuStart = Platform.processCPUNanoseconds
            let value = try body()
            return (value, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6, Double(Platform.processCPUNanoseconds - cpuStart) / 1e6)
        }
        var align: [Double] = [], modelWall: [Double] = [], modelCPU: [Double] = []
        var paste: [Double] = [], blend: [Double] = [], composite: [Double] = [], compositeWall: [Double] = []
        let transform = try EnhancerAlignment.transform(keypoints: face.keypoints, profile: engine.profile)
        var crop = try engine.restore(frame, transform: transform, times: nil)   // warm-up: session init, arenas
        let aligned = Image(width: engine.profile.size, height: engine.profile.size, channels: 3)
        for _ in 0..<modelRuns {
            if shouldStop() { throw VisageError.interrupted }
            let (_, alignMs) = try cpu {
                let t = try EnhancerAlignment.transform(keypoints: face.keypoints, profile: engine.profile)
                try EnhancerAlignment.crop(frame, transform: t, profile: engine.profile, into: aligned)
            }
            align.append(alignMs)
            let (restored, ms, cpuMs) = try wall { try engine.enhancer.restore(aligned, fidelity: engine.options.fidelity) }
            crop = restored
            modelWall.append(ms)
            modelCPU.append(cpuMs)
        }
        let restored = [RestoredFace(crop: crop, transform: transform)]
        let region = SoftMaskPaste.region(of: restored[0], frameWidth: frame.width, frameHeight: frame.height)
        for _ in 0..<compositeRuns {
            if shouldStop() { throw VisageError.interrupted }
            let work = frame.copy()
            paste.append(try cpu { try engine.paster.paste(restored, into: work) }.1)
            if let r = region, let original = frame.region(x: r.x, y: r.y, width: r.width, height: r.height),
               let pasted = work.region(x: r.x, y: r.y, width: r.width, height: r.height) {
                let blend0 = original.copy()
                blend.append(try cpu { try ImageOps.addWeighted(blend0, alpha: 1 - engine.options.blend, pasted, beta: engine.options.blend, into: pasted) }.1)
            }
            let again = frame.copy()
            let start = DispatchTime.now().uptimeNanoseconds
            composite.append(try cpu { try engine.composite(restored, into: again, times: nil) }.1)
            compositeWall.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        let k = face.keypoints
        let gflop = graphGFLOP[engine.profile.modelID]
        let wallSummary = Summary(modelWall), cpuSummary = Summary(modelCPU)
        return StageResult(modelID: engine.profile.modelID, frameWidth: frame.width, frameHeight: frame.height,
                           eyeDistance: Double(hypot(k[1].x - k[0].x, k[1].y - k[0].y)), pasteRegion: region,
                           modelRuns: modelRuns, compositeRuns: compositeRuns, openCVThreads: OpenCVInfo.threads,
                           alignCPU: Summary(align), pasteBackCPU: Summary(paste), blendCPU: Summary(blend),
                           compositeCPU: Summary(composite), compositeWall: Summary(compositeWall),
                           modelWall: wallSummary, modelProcessCPU: cpuSummary, gflop: gflop,
                           gflopPerSecondWall: gflop.map { $0 / (wallSummary.median / 1000) },
                           gflopPerCPUSecond: gflop.map { $0 / (cpuSummary.median / 1000) })
    }

    /// The temporal cache on one video against enhancing every frame.
    public struct CacheRow: Codable, Sendable {
        public var video: String
        public var frames: Int
        /// Face-frames enhanced (sum over frames of the faces enhanced).
        public var faces: Int
        public var policy: String
        public var interval: Int
        public var adaptive: Bool
        public var motionThreshold: Double
        public var modelRuns: Int
        /// 1 − modelRuns / faces.
        public var savedFraction: Double
        /// Absolute difference to enhancing every frame, over the 8-bit samples inside the face boxes.
        public var meanAbsDiff: Double
        public var p99AbsDiff: Int
        public var maxAbsDiff: Int
        /// Milliseconds per frame of the enhancement itself (align, model, paste-back, blend; decoding
        /// and face analysis excluded), wall time.
        public var msPerFrame: Double
        public var fps: Double
        /// The same in CPU time of the process (all threads): comparable between runs when other
        /// processes compete for the cores.
        public var cpuMsPerFrame: Double
        /// Key frames reused the every-frame pass's network output and time (`replayKeyFrames`).
        public var modelTimesReplayed: Bool
        public var decisions: [String: Int]
    }

    /// Runs `analyzer` over the first `frames` frames of a video, then enhances them once per policy and
    /// compares each result with `TemporalCachePolicy.everyFrame` inside the face boxes. `progress` receives
    /// one line per finished pass.
    ///
    /// With `replayKeyFrames` the network runs only in the every-frame pass; a policy's key frames reuse
    /// that pass's output for the identical crop (the network is deterministic, so it is the output it would
    /// compute; crops are compared byte for byte) and are charged the time the network took there. Images
    /// and error figures are unchanged by this; it saves the repeated network runs on slow machines.
    public static func temporalCache(video: String, analyzer: FaceAnalyzer, engine: FaceEnhancementEngine, frames limit: Int,
                                     policies: [TemporalCachePolicy], replayKeyFrames: Bool = false,
                                     progress: (String) -> Void = { _ in },
                                     shouldStop: () -> Bool = { false }) throws -> [CacheRow] {
        guard limit >= 1 else { throw VisageError.invalidArgument("frames must be ≥ 1") }
        let reader = try VideoReader(path: video)
        var frames: [Image] = [], faces: [[EnhanceFace]] = [], boxes: [[Box]] = []
        var timings = AnalysisTimings()
        while frames.count < limit, let frame = try reader.read() {
            if shouldStop() { throw VisageError.interrupted }
            let analyzed = try analyzer.analyzeNext(frame, timings: &timings).faces
            frames.append(frame.copy())
            faces.append(analyzed.map { EnhanceFace(keypoints: $0.keypoints, box: $0.box, landmarks: $0.landmarks, trackID: $0.id) })
            boxes.append(analyzed.map { $0.box })
        }
        progress("\(video): \(frames.count) frames, \(faces.reduce(0) { $0 + $1.count }) face-frames analysed")
        let replaying = ReplayingEnhancer(engine.enhancer)
        let replayEngine = try FaceEnhancementEngine(enhancer: replaying, options: engine.options)

        func run(_ policy: TemporalCachePolicy, recording: Bool) throws -> Pass {
            replaying.mode = recording ? .record : .replay
            let temporal = try TemporalFaceEnhancer(engine: replayKeyFrames ? replayEngine : engine, policy: policy)
            var pass = Pass()
            for (frame, frameFaces) in zip(frames, faces) {
                if shouldStop() { throw VisageError.interrupted }
                let work = frame.copy()
                replaying.resetFrameCounters()
                let start = DispatchTime.now().uptimeNanoseconds, cpuStart = Platform.processCPUNanoseconds
                try temporal.enhance(work, faces: frameFaces, shouldStop: shouldStop)
                let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                let cpu = Double(Platform.processCPUNanoseconds - cpuStart) / 1e6
                // Replayed network runs: take out the look-up, charge what the network took.
                pass.ms.append(wall - replaying.frameLookupWall + replaying.frameReplayedWall)
                pass.cpuMs.append(cpu - replaying.frameLookupCPU + replaying.frameReplayedCPU)
                pass.outputs.append(work)
            }
            pass.stats = temporal.statistics
            pass.replayed = replaying.mode == .replay && replayKeyFrames
            return pass
        }

        let reference = try run(.everyFrame, recording: true)
        var rows = [row(video: video, policy: .everyFrame, result: reference, reference: reference.outputs, boxes: boxes)]
        progress(describe(rows[0]))
        for policy in policies {
            let result = try run(policy, recording: false)
            rows.append(row(video: video, policy: policy, result: result, reference: reference.outputs, boxes: boxes))
            progress(describe(rows.last!))
        }
        if replayKeyFrames && replaying.misses > 0 {
            progress("\(replaying.misses) key-frame crops were not in the every-frame pass and ran the network")
        }
        return rows
    }

    /// Memoises a deterministic enhancer by its input crop, remembering how long each real run took.
    final class ReplayingEnhancer: FaceEnhancer, @unchecked Sendable {
        enum Mode { case record, replay }
        let inner: FaceEnhancer
        var profile: EnhancerProfile { inner.profile }
        var mode = Mode.record
        private var runs: [Int: [(crop: [UInt8], output: Image, wall: Double, cpu: Double)]] = [:]
        private(set) var misses = 0
        private(set) var frameLookupWall = 0.0, frameLookupCPU = 0.0, frameReplayedWall = 0.0, frameReplayedCPU = 0.0

        init(_ inner: FaceEnhancer) { self.inner = inner }

        func resetFrameCounters() { frameLookupWall = 0; frameLookupCPU = 0; frameReplayedWall = 0; frameReplayedCPU = 0 }

        func restore(_ crop: Image, fidelity: Double) throws -> Image {
            let start = DispatchTime.now().uptimeNanoseconds, cpuStart = Platform.processCPUNanoseconds
            var bytes = [UInt8](repeating: 0, count: crop.width * crop.height * crop.channels)
            bytes.withUnsafeMutableBytes { out in
                for y in 0..<crop.height {
                    out.baseAddress!.advanced(by: y * crop.rowBytes).copyMemory(from: crop.baseAddress.advanced(by: y * crop.stride), byteCount: crop.rowBytes)
                }
            }
            var hasher = Hasher()
            bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
            let key = hasher.finalize()
            if mode == .replay, let hit = runs[key]?.first(where: { $0.crop == bytes }) {
                frameLookupWall += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                frameLookupCPU += Double(Platform.processCPUNanoseconds - cpuStart) / 1e6
                frameReplayedWall += hit.wall
                frameReplayedCPU += hit.cpu
                return hit.output
            }
            if mode == .replay { misses += 1 }
            let runStart = DispatchTime.now().uptimeNanoseconds, runCPU = Platform.processCPUNanoseconds
            let output = try inner.restore(crop, fidelity: fidelity)
            let wall = Double(DispatchTime.now().uptimeNanoseconds - runStart) / 1e6
            let cpu = Double(Platform.processCPUNanoseconds - runCPU) / 1e6
            if mode == .record { runs[key, default: []].append((bytes, output, wall, cpu)) }
            return output
        }
    }

    struct Pass {
        var outputs: [Image] = [], ms: [Double] = [], cpuMs: [Double] = []
        var stats = TemporalFaceEnhancer.Statistics()
        var replayed = false
    }

    static func describe(_ r: CacheRow) -> String {
        String(format: "%@ %@: %d runs for %d faces (%.0f%% saved), |diff| mean %.2f p99 %d, %.1f ms/frame (%.2f fps), %.1f CPU ms/frame",
               URL(fileURLWithPath: r.video).lastPathComponent, r.policy, r.modelRuns, r.faces, 100 * r.savedFraction,
               r.meanAbsDiff, r.p99AbsDiff, r.msPerFrame, r.fps, r.cpuMsPerFrame)
    }

    private static func row(video: String, policy: TemporalCachePolicy, result: Pass, reference: [Image], boxes: [[Box]]) -> CacheRow {
        var histogram = [Int](repeating: 0, count: 256)
        for ((ours, theirs), frameBoxes) in zip(zip(result.outputs, reference), boxes) {
            for box in frameBoxes {
                let b = box.clipped(width: ours.width, height: ours.height)
                let x0 = Int(b.x1), y0 = Int(b.y1), x1 = Int(b.x2.rounded(.up)), y1 = Int(b.y2.rounded(.up))
                guard x1 > x0, y1 > y0 else { continue }
                for y in y0..<min(y1, ours.height) {
                    let p = ours.baseAddress.advanced(by: y * ours.stride).assumingMemoryBound(to: UInt8.self)
                    let q = theirs.baseAddress.advanced(by: y * theirs.stride).assumingMemoryBound(to: UInt8.self)
                    for i in (3 * x0)..<(3 * min(x1, ours.width)) { histogram[abs(Int(p[i]) - Int(q[i]))] += 1 }
                }
            }
        }
        let total = histogram.reduce(0, +)
        var mean = 0.0, p99: Int?, maximum = 0, cumulative = 0
        for (d, n) in histogram.enumerated() where n > 0 {
            mean += Double(d * n)
            cumulative += n
            if p99 == nil, cumulative * 100 >= total * 99 { p99 = d }   // smallest d with ≥ 99 % of samples at or below
            maximum = d
        }
        let msPerFrame = result.ms.reduce(0, +) / Double(max(result.ms.count, 1))
        let name = !policy.enabled ? "every frame" : policy.adaptive
            ? String(format: "N=%d adaptive (%.0f px)", policy.interval, policy.motionThreshold) : "N=\(policy.interval)"
        return CacheRow(video: video, frames: result.outputs.count, faces: result.stats.faces, policy: name,
                        interval: policy.interval, adaptive: policy.adaptive, motionThreshold: policy.motionThreshold,
                        modelRuns: result.stats.modelRuns, savedFraction: result.stats.savedFraction,
                        meanAbsDiff: total > 0 ? mean / Double(total) : 0, p99AbsDiff: p99 ?? 0, maxAbsDiff: maximum,
                        msPerFrame: msPerFrame, fps: msPerFrame > 0 ? 1000 / msPerFrame : 0,
                        cpuMsPerFrame: result.cpuMs.reduce(0, +) / Double(max(result.cpuMs.count, 1)),
                        modelTimesReplayed: result.replayed,
                        decisions: result.stats.decisions)
    }
}
