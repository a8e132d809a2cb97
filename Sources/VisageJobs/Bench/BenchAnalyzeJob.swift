import Foundation
import VisageCore
import VisageFace
import VisageMedia

/// Per-stage ms (detect, landmarks, align, embed, pose) for 1 and 5 faces at 640x480 and 1280x720.
public struct BenchAnalyzeJob: Codable, Sendable {
    public var runs = 20
    public var warmup = 3
    public var detector = DetectorFactory.defaultModel
    public var recognizer = FaceEmbedder.Profile.sface.modelID

    public init() {}

    public var requiredModels: [String] { FacePipeline.requiredModels(detector: detector, identity: recognizer) }

    public func run(in context: JobContext) throws -> BenchAnalyzeResult {
        try OptionRules.check("runs", runs, in: 1...100_000)
        try OptionRules.check("warmup", warmup, in: 0...100_000)
        let pipeline = FacePipeline(context: context)
        let analyzer = try pipeline.analyzer(detector: detector, options: AnalysisOptions(embeddings: true), identity: recognizer)
        analyzer.landmarker106 = try pipeline.landmarker106IfInstalled()
        let portraits = try SampleFiles.portraits().map { try ImageIO.read($0) }
        var result = BenchAnalyzeResult(detector: analyzer.detector.modelID, recognizer: recognizer, runs: runs)
        for (width, height) in [(640, 480), (1280, 720)] {
            for faces in [1, 5] {
                let frame = try BenchFrames.grid(of: portraits, count: faces, width: width, height: height)
                for _ in 0..<warmup { var t = AnalysisTimings(); _ = try analyzer.analyze(frame, timings: &t) }
                var stages: [String: [Double]] = [:]
                var found = 0
                for _ in 0..<runs {
                    try context.cancellation.check()
                    var t = AnalysisTimings()
                    found = try analyzer.analyze(frame, timings: &t).count
                    for (name, value) in [("detect", t.detect), ("landmarks", t.landmarks), ("align", t.align), ("embed", t.embed),
                                          ("pose", t.pose), ("total", t.detect + t.landmarks + t.align + t.embed + t.pose)] {
                        stages[name, default: []].append(value)
                    }
                }
                result.cases.append(.init(width: width, height: height, faces: faces, found: found,
                                          medianMs: stages.mapValues { Stats.r(Stats.percentile($0, 50)) }))
            }
        }
        result.peakRSSMB = Stats.r(Double(Platform.peakResidentBytes) / 1_048_576)
        return result
    }
}

public struct BenchAnalyzeResult: Codable, Sendable {
    public var benchmark = "analyze"
    public var detector: String
    public var recognizer: String
    public var runs: Int
    public var cases: [Case] = []
    public var cpu = Platform.cpuModel
    public var cores = Platform.logicalCores
    public var peakRSSMB = 0.0

    public struct Case: Codable, Sendable {
        public var width: Int
        public var height: Int
        public var faces: Int
        public var found: Int
        public var medianMs: [String: Double]
        enum CodingKeys: String, CodingKey { case width, height, faces, found, medianMs = "median_ms" }
    }

    enum CodingKeys: String, CodingKey {
        case benchmark, detector, recognizer, runs, cases, cpu, cores
        case peakRSSMB = "peak_rss_mb"
    }
}
