import Foundation
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

/// Embeddings of every face of one photo, one face per model run against all faces in batches
/// (`FaceEmbedder.embeddings(alignedCrops:)`): ms per face each way, their ratio, and the largest
/// difference between the two results.
public struct BenchEmbedJob: Codable, Sendable {
    public var image: String
    public var recognizer = FaceEmbedder.Profile.sface.modelID
    public var runs = 5
    public var warmup = 1

    public init(image: String) { self.image = image }

    public var requiredModels: [String] { FacePipeline.requiredModels(detector: DetectorFactory.defaultModel, identity: recognizer) }

    public func run(in context: JobContext) throws -> BenchEmbedResult {
        try OptionRules.check("runs", runs, in: 1...10_000)
        try OptionRules.check("warmup", warmup, in: 0...10_000)
        let photo = try ImageIO.read(image)
        let pipeline = FacePipeline(context: context)
        let faces = try pipeline.detector(DetectorFactory.defaultModel).detect(photo)
        guard !faces.isEmpty else { throw VisageError.invalidArgument("no face found in \(image); pick a photo with several faces") }
        let embedder = try pipeline.embedder(recognizer)
        let crops = try faces.map { try FaceAlignment.crop(photo, keypoints: $0.keypoints, template: embedder.profile.template).crop }
        var single: [Double] = [], batched: [Double] = []
        var one: [[Float]] = [], many: [[Float]?] = []
        for i in 0..<(warmup + runs) {
            try context.cancellation.check()
            var start = DispatchTime.now().uptimeNanoseconds
            one = try crops.map { try embedder.embed(alignedCrop: $0) }
            let s = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            start = DispatchTime.now().uptimeNanoseconds
            many = try embedder.embeddings(alignedCrops: crops)
            let b = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            if i >= warmup { single.append(s); batched.append(b) }
        }
        var worst: Float = 0
        for (a, b) in zip(one, many) { if let b { worst = max(worst, zip(a, b).map { abs($0 - $1) }.max() ?? 0) } }
        let n = Double(crops.count)
        let singleMs = Stats.percentile(single, 50) / n, batchedMs = Stats.percentile(batched, 50) / n
        return BenchEmbedResult(image: image, recognizer: recognizer, faces: crops.count, runs: runs, maxBatch: embedder.batches.maxBatch,
                                batches: embedder.batches.session(forBatch: 2) != nil, singleMsPerFace: Stats.r(singleMs),
                                batchedMsPerFace: Stats.r(batchedMs), speedup: Stats.r(singleMs / batchedMs), maxAbsDifference: Double(worst),
                                accelerator: embedder.session.plan.summary, singleMinMsPerFace: Stats.r(single.min()! / n),
                                batchedMinMsPerFace: Stats.r(batched.min()! / n), speedupMin: Stats.r(single.min()! / batched.min()!))
    }
}

public struct BenchEmbedResult: Codable, Sendable {
    public var benchmark = "embed"
    public var image: String
    public var recognizer: String
    public var faces: Int
    public var runs: Int
    public var maxBatch: Int
    /// False when the model could not take a batch (then both ways run one face at a time).
    public var batches: Bool
    /// Medians over the runs, per face.
    public var singleMsPerFace: Double
    public var batchedMsPerFace: Double
    /// singleMsPerFace / batchedMsPerFace.
    public var speedup: Double
    public var maxAbsDifference: Double
    public var accelerator: String
    /// Fastest run of each way, per face: on a shared, loaded machine the least disturbed figure.
    public var singleMinMsPerFace: Double
    public var batchedMinMsPerFace: Double
    public var speedupMin: Double
    public var cpu = Platform.cpuModel

    enum CodingKeys: String, CodingKey {
        case benchmark, image, recognizer, faces, runs, batches, speedup, accelerator, cpu
        case maxBatch = "max_batch", singleMsPerFace = "single_ms_per_face", batchedMsPerFace = "batched_ms_per_face"
        case maxAbsDifference = "max_abs_difference", singleMinMsPerFace = "single_min_ms_per_face"
        case batchedMinMsPerFace = "batched_min_ms_per_face", speedupMin = "speedup_min"
    }
}
