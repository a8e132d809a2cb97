import Foundation
import VisageCore
import VisageEnhance
import VisageFace
import VisageMedia
import VisageRuntime
import VisageSwap

/// Per-stage ms of the real swap path (`FaceSwapEngine.swap` with the swap job's options) on a synthetic
/// frame: detect/track, landmarks, the swap's own stages, and the hand-off to the encoder.
public struct BenchSwapJob: Codable, Sendable {
    public var swapper = Swapper.landmark
    public var swapModel: String?
    public var recognizerModel: String?
    public var runs = 30
    public var warmup = 3
    public var detectEvery = 5
    /// Longest side the detector sees (videos: 640 keeps detection cheap).
    public var detectorSide = 640
    public var width = 960
    public var height = 540
    /// Faces in the frame (a grid of the sample portraits); all are swapped.
    public var faces = 1
    /// The swap's options, as `visage swap` takes them.
    public var mouthMask: Float = 0
    public var opacity: Float = 1
    public var colorCorrection = false
    public var sharpen: Float = 0
    /// A face enhancer after the swap, as `visage swap --enhancer` runs it (nil: none). Its stages are
    /// reported as enhance_align, enhance_model, enhance_paste_back and enhance_blend; on this still frame
    /// the temporal cache reuses the face between key frames exactly as it would on a video.
    public var enhancer: String?
    public var enhancerModel: String?
    public var enhanceBlend = EnhancerSetup.defaultBlend
    public var enhanceEvery = EnhancerSetup.defaultEvery
    public var enhanceMotion = EnhancerSetup.defaultMotion
    /// The swap model converted to float16 (ModelOptimizationRequest float16 `.always`).
    public var fp16 = false
    /// Bound, reused buffers (IO binding); false: fresh tensors every run, and no CUDA graph.
    public var ioBinding = true
    /// CUDA graphs where the plan is CUDA and shapes are static.
    public var cudaGraph = true
    /// Hand every frame to the video encoder (ffmpeg), as `visage swap` does; off, or without ffmpeg: not.
    public var encode = true

    public init() {}


    public var requiredModels: [String] {
        var ids = FacePipeline.requiredModels(detector: DetectorFactory.defaultModel)
        if swapper == .inswapper {
            if swapModel == nil { ids.append("inswapper-128") }
            if recognizerModel == nil { ids.append("arcface-w600k-r50") }
        }
        if let enhancerSetup { ids += enhancerSetup.requiredModels }
        return ids
    }

    public func run(in context: JobContext) throws -> BenchSwapResult {
        try OptionRules.check("runs", runs, in: 1...100_000)
        try OptionRules.check("warmup", warmup, in: 0...100_000)
        try OptionRules.check("detect-every", detectEvery, in: OptionRules.detectEvery)
        try OptionRules.check("faces", faces, in: 1...30)
        try OptionRules.check("width", width, in: 64...7680)
        try OptionRules.check("height", height, in: 64...4320)
        try EnhancerSetup.checkRanges(blend: enhanceBlend, every: enhanceEvery, motion: enhanceMotion)
        try enhancerSetup?.validateOptions()
        try enhancerSetup?.validateFiles()
        var context = context
        context.session.ioBinding = ioBinding
        context.session.cuda.cudaGraph = cudaGraph
        context.session.tensorRT.cudaGraph = cudaGraph
        let pipeline = FacePipeline(context: context)
        let analyzer = try pipeline.analyzer(detector: DetectorFactory.defaultModel, detection: DetectionOptions(maxInputSide: detectorSide),
                                             options: AnalysisOptions(pose: false, detectEvery: detectEvery))
        let portraits = try SampleFiles.portraits()
        let sourcePath = portraits[0]
        let frame = try BenchFrames.grid(of: [try ImageIO.read(portraits.count > 1 ? portraits[1] : portraits[0])], count: faces,
                                         width: width, height: height)
        // The swap exactly as `visage swap` builds it: the same engine, the same options.
        var job = SwapJob(source: sourcePath, target: sourcePath, output: "")
        job.swapper = swapper
        job.swapModel = swapModel
        job.recognizerModel = recognizerModel
        job.mouthMask = mouthMask
        job.opacity = opacity
        job.colorCorrection = colorCorrection
        job.sharpen = sharpen
        job.manyFaces = true
        if fp16 { job.swapModelFloat16 = .always }
        let once = StageTimes()
        let assignment = try once.measure("source") { try job.makeAssignment(analyzer: analyzer, pipeline: pipeline, context: context) }
        let temporal = try enhancerSetup?.temporal(context: context)
        let enhanceTimes = StageTimes()
        let encodePath = FileManager.default.temporaryDirectory.appendingPathComponent("visage-bench-swap-\(UUID().uuidString).mp4").path
        // A machine without the ffmpeg program (a bare GPU box running the portable bundle) still measures
        // the swap; the result says that the encoder hand-off was left out.
        let writer = encode && MediaTools.ffmpeg != nil ? try VideoWriter(path: encodePath, width: frame.width, height: frame.height, fps: 30) : nil
        defer { writer?.cancel() }
        if writer == nil { VisageLog.logger("bench").notice("bench swap: no encoder hand-off measured (\(encode ? "ffmpeg is not on PATH" : "--no-encode"))") }
        var stages: [String: [Double]] = [:]
        var order: [String] = []
        var swappedFaces = 0
        var allocations: [Double] = []
        let times = StageTimes()
        for i in 0..<(warmup + runs) {
            try context.cancellation.check()
            let work = frame.copy()
            times.reset()
            let allocationsBefore = AllocationCounter.calls
            var timings = AnalysisTimings()
            let found = try analyzer.analyzeNext(work, timings: &timings).faces
            times.add("detect_track", timings.detect)
            times.add("landmarks", timings.landmarks)
            let swapped = try assignment.swapFaces(found, in: work, times: times)
            swappedFaces = swapped.count
            if i >= warmup, let before = allocationsBefore, let after = AllocationCounter.calls { allocations.append(Double(after - before)) }
            if let temporal {
                // Its own stage names: the swap's paste_back and blend are other stages.
                enhanceTimes.reset()
                try temporal.enhance(work, faces: EnhancerSetup.faces(swapped), times: enhanceTimes)
                for name in enhanceTimes.order { times.add("enhance_" + name, enhanceTimes.milliseconds[name]!) }
            }
            if let writer { try times.measure("encode_handoff") { try writer.write(work) } }
            guard i >= warmup else { continue }
            for name in times.order {
                if stages[name] == nil { order.append(name) }
                stages[name, default: []].append(times.milliseconds[name]!)
            }
        }
        let medians = stages.mapValues { Stats.r(Stats.percentile($0, 50)) }
        // Means per timed frame: with detection every N frames, or an enhancer whose cache skips the network
        // on most frames, a stage's cost per frame is its total over the run divided by the frames, not the
        // mean of the frames where it ran (medians stay over the frames where it ran).
        let means = stages.mapValues { Stats.r($0.reduce(0, +) / Double(runs)) }
        let perFrame = means.values.reduce(0, +)
        // The swap itself: inswapper's network, or the landmark swapper's warp and Poisson blend.
        let modelStages: Set<String> = ["swap_model", "warp", "blend", "enhance_model"]
        let outside = means.filter { !modelStages.contains($0.key) }.values.reduce(0, +)
        let pasteMaskColour = ["paste_back", "mask", "colour"].compactMap { medians[$0] }.reduce(0, +)
        return BenchSwapResult(swapper: swapper.rawValue, frame: [width, height], faces: faces, swappedFaces: swappedFaces, runs: runs,
                               detectEvery: detectEvery, order: order, medianMs: medians, meanMs: means, outsideSwapModelMeanMs: Stats.r(outside),
                               pasteMaskColourMedianMs: Stats.r(pasteMaskColour), sourceOnceMs: Stats.r(once.milliseconds["source"] ?? 0),
                               fps: Stats.r(1000 / perFrame), accelerator: analyzer.detector.session.plan.summary,
                               enhancement: temporal.map { t in
                                   var summary = EnhancementSummary(model: t.engine.profile.modelID)
                                   summary.take(t.statistics)
                                   return summary
                               },
                               allocationsPerFrame: allocations.isEmpty ? nil : Stats.r(allocations.reduce(0, +) / Double(allocations.count)),
                               fp16: fp16, ioBinding: ioBinding, cudaGraph: cudaGraph, encoded: writer != nil)
    }
}

public struct BenchSwapResult: Codable, Sendable {
    public var benchmark = "swap"
    public var swapper: String
    public var frame: [Int]
    public var faces: Int
    public var swappedFaces: Int
    public var runs: Int
    public var detectEvery: Int
    /// Stage names in the order they run.
    public var order: [String]
    public var medianMs: [String: Double]
    public var meanMs: [String: Double]
    public var outsideSwapModelMeanMs: Double
    public var pasteMaskColourMedianMs: Double
    /// Finding the source face and preparing its engine (inswapper: the ArcFace latent), once per run.
    public var sourceOnceMs: Double
    public var fps: Double
    public var accelerator: String
    public var cpu = Platform.cpuModel
    /// The enhancer's network runs and cache use over warm-up and timed frames (nil: no enhancer).
    public var enhancement: EnhancementSummary?
    /// Heap allocations per frame (detect/track, landmarks, swap; not the encoder hand-off), mean over the
    /// timed frames; nil unless scripts/malloc-count's interposer is preloaded.
    public var allocationsPerFrame: Double?
    public var fp16 = false
    public var ioBinding = true
    public var cudaGraph = true
    /// Whether the frames went to the video encoder (the `encode_handoff` stage).
    public var encoded = true

    enum CodingKeys: String, CodingKey {
        case benchmark, swapper, frame, faces, runs, order, fps, accelerator, cpu, enhancement
        case swappedFaces = "swapped_faces", detectEvery = "detect_every", medianMs = "median_ms", meanMs = "mean_ms"
        case outsideSwapModelMeanMs = "outside_swap_model_mean_ms", pasteMaskColourMedianMs = "paste_mask_colour_median_ms"
        case sourceOnceMs = "source_once_ms", allocationsPerFrame = "allocations_per_frame", fp16
        case ioBinding = "io_binding", cudaGraph = "cuda_graph", encoded
    }
}
