import Foundation
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

/// Face detection per stage: warm-up, then timed runs.
public struct BenchDetectJob: Codable, Sendable {
    public var model = DetectorFactory.defaultModel
    /// Image to detect on (default: the bundled sample).
    public var image: String?
    public var runs = 50
    public var warmup = 5
    public var inputSize = 640

    public init() {}

    public var requiredModels: [String] { model.hasSuffix(".onnx") ? [] : [model] }

    public func validate() throws {
        try OptionRules.check("runs", runs, in: 1...100_000)
        try OptionRules.check("warmup", warmup, in: 0...100_000)
        try OptionRules.check("input-size", inputSize, in: DetectJob.inputSizeRange, multipleOf: 32)
    }

    public func run(in context: JobContext) throws -> BenchDetectResult {
        try validate()
        let path = try image ?? SampleFiles.defaultImage()
        let frame = try ImageIO.read(path)
        let detector = try FacePipeline(context: context).detector(model, options: DetectionOptions(inputWidth: inputSize, inputHeight: inputSize))
        let effective = detector.inputSize(forFrameWidth: frame.width, height: frame.height)
        for _ in 0..<warmup { _ = try detector.detectTimed(frame) }
        var pre: [Double] = [], inf: [Double] = [], post: [Double] = [], total: [Double] = []
        var faces = 0
        for _ in 0..<runs {
            try context.cancellation.check()
            let (found, t) = try detector.detectTimed(frame)
            pre.append(t.preprocess); inf.append(t.inference); post.append(t.postprocess); total.append(t.total)
            faces = found.count
        }
        return BenchDetectResult(model: detector.modelID, image: path, imageSize: [frame.width, frame.height],
                                 inputSize: [effective.width, effective.height], runs: runs, warmup: warmup, faces: faces,
                                 accelerator: detector.session.plan.summary, threads: context.session.intraOpThreads,
                                 stagesMs: ["preprocess": Stats.summary(pre), "inference": Stats.summary(inf),
                                            "postprocess": Stats.summary(post), "total": Stats.summary(total)],
                                 fps: Stats.r(1000 / Stats.percentile(total, 50)),
                                 peakRSSMB: Stats.r(Double(Platform.peakResidentBytes) / 1_048_576))
    }
}

public struct BenchDetectResult: Codable, Sendable {
    public var benchmark = "detect"
    public var model: String
    public var image: String
    public var imageSize: [Int]
    public var inputSize: [Int]
    public var runs: Int
    public var warmup: Int
    public var faces: Int
    public var accelerator: String
    public var threads: Int
    /// preprocess, inference, postprocess, total.
    public var stagesMs: [String: StageSummary]
    public var fps: Double
    public var peakRSSMB: Double
    public var cpu = Platform.cpuModel
    public var cores = Platform.logicalCores

    /// The stages in the order they run.
    public static let stageOrder = ["preprocess", "inference", "postprocess", "total"]

    enum CodingKeys: String, CodingKey {
        case benchmark, model, image, runs, warmup, faces, accelerator, threads, fps, cpu, cores
        case imageSize = "image_size", inputSize = "input_size", stagesMs = "stages_ms", peakRSSMB = "peak_rss_mb"
    }
}
