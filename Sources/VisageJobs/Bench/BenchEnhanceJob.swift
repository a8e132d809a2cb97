import Foundation
import VisageCore
import VisageEnhance
import VisageFace
import VisageMedia
import VisageRuntime

/// Per-stage ms of the face enhancer (align, model, paste-back, blend) for one face of a frame, and the
/// model's achieved GFLOP/s on the accelerator it ran on (`EnhanceBenchmark.stages`). One-core stages run
/// with OpenCV on one thread and are reported in thread CPU time as well as wall time.
public struct BenchEnhanceJob: Codable, Sendable {
    public var model = EnhancerFactory.defaultModel
    public var enhancerModel: String?
    /// A photo with a face (default: the bundled sample), scaled into the frame as `visage bench swap` does.
    public var image: String?
    public var width = 960
    public var height = 540
    /// Timed network runs (after one warm-up run).
    public var runs = 3
    /// Timed paste-back + blend runs.
    public var compositeRuns = 100
    public var blend = EnhancerSetup.defaultBlend
    /// OpenCV threads for the one-core stages (1: the figure the paste-back target is stated for).
    public var openCVThreads = 1

    public init() {}

    public var requiredModels: [String] {
        FacePipeline.requiredModels(detector: DetectorFactory.defaultModel) + (enhancerModel == nil ? [model] : [])
    }

    public func validate() throws {
        try EnhancerSetup(model: model, modelPath: enhancerModel, blend: blend).validateOptions()
        try OptionRules.check("runs", runs, in: 1...1000)
        try OptionRules.check("composite-runs", compositeRuns, in: 1...100_000)
        try OptionRules.check("width", width, in: 64...7680)
        try OptionRules.check("height", height, in: 64...4320)
        try OptionRules.check("opencv-threads", openCVThreads, in: 0...256)
        if let image { try ImageIO.checkReadableFile(image) }
        if let enhancerModel { try ImageIO.checkReadableFile(enhancerModel) }
    }

    public func run(in context: JobContext) throws -> BenchEnhanceResult {
        try validate()
        let setup = EnhancerSetup(model: model, modelPath: enhancerModel, blend: blend)
        let engine = try setup.engine(context: context)
        let portrait = try image ?? SampleFiles.defaultImage()
        let frame = try BenchFrames.grid(of: [try ImageIO.read(portrait)], count: 1, width: width, height: height)
        let analyzer = try FacePipeline(context: context).analyzer(detector: DetectorFactory.defaultModel,
                                                                   options: AnalysisOptions(landmarks: true, pose: false))
        var timings = AnalysisTimings()
        guard let face = try analyzer.analyze(frame, timings: &timings).max(by: { $0.box.area < $1.box.area }) else {
            throw VisageError.invalidImage(path: portrait, reason: "no face found to benchmark the enhancer on")
        }
        let previousThreads = OpenCVInfo.threads
        OpenCVInfo.setThreads(openCVThreads)
        defer { OpenCVInfo.setThreads(previousThreads) }
        let token = context.cancellation
        let stages = try EnhanceBenchmark.stages(engine: engine, frame: frame, face: EnhancerSetup.faces([face])[0], modelRuns: runs,
                                                 compositeRuns: compositeRuns, shouldStop: { token.isCancelled })
        let plan = (engine.enhancer as? ONNXFaceEnhancer)?.session.plan.summary ?? "?"
        return BenchEnhanceResult(image: portrait, accelerator: plan, stages: stages)
    }
}

public struct BenchEnhanceResult: Codable, Sendable {
    public var benchmark = "enhance"
    public var image: String
    /// Where the model ran (the GFLOP/s figures are for this accelerator).
    public var accelerator: String
    public var cpu = Platform.cpuModel
    public var cores = Platform.logicalCores
    /// align, model, paste-back, blend: thread CPU ms (one core) and wall ms; the model in wall and process
    /// CPU ms; GFLOP per run and achieved GFLOP/s.
    public var stages: EnhanceBenchmark.StageResult

    /// Median ms per stage (align and paste-back/blend in thread CPU time, the model in wall time).
    public var medianMs: [String: Double] {
        ["align": stages.alignCPU.median, "model": stages.modelWall.median, "paste_back": stages.pasteBackCPU.median,
         "blend": stages.blendCPU.median, "paste_back_and_blend": stages.compositeCPU.median]
    }

    init(image: String, accelerator: String, stages: EnhanceBenchmark.StageResult) {
        self.image = image
        self.accelerator = accelerator
        self.stages = stages
    }

    enum CodingKeys: String, CodingKey {
        case benchmark, image, accelerator, cpu, cores, stages
        case medianMs = "median_ms"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(benchmark, forKey: .benchmark)
        try c.encode(image, forKey: .image)
        try c.encode(accelerator, forKey: .accelerator)
        try c.encode(cpu, forKey: .cpu)
        try c.encode(cores, forKey: .cores)
        try c.encode(stages, forKey: .stages)
        try c.encode(medianMs.mapValues(Stats.r), forKey: .medianMs)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        benchmark = try c.decode(String.self, forKey: .benchmark)
        image = try c.decode(String.self, forKey: .image)
        accelerator = try c.decode(String.self, forKey: .accelerator)
        cpu = try c.decode(String.self, forKey: .cpu)
        cores = try c.decode(Int.self, forKey: .cores)
        stages = try c.decode(EnhanceBenchmark.StageResult.self, forKey: .stages)
    }
}
