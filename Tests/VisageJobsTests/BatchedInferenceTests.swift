import Foundation
import Testing
import VisageCore
import VisageFace
import VisageJobs
import VisageMedia
import VisageRuntime
import VisageSwap

/// Several faces per model run give what one face at a time gives (real models, real faces: dlib's
/// 24-face bald_guys.jpg), within float rounding: embeddings 1e-5 per value, PFLD landmarks 1e-3 px,
/// inswapper crops 1 grey level. And `visage diagnose` measures a model end to end and saves its
/// recommendation where `auto` looks for it.
@Suite("Batched inference", .serialized)
struct BatchedInferenceTests {
    static let crowd = JobFixtures.media("images/dlib_faces/bald_guys.jpg")

    static func faces(_ context: JobContext, in image: Image) throws -> [DetectedFace] {
        let detector = try FacePipeline(context: context).detector(DetectorFactory.defaultModel, options: DetectionOptions())
        return try detector.detect(image)
    }

    @Test func batchedEmbeddingsEqualOneAtATime() throws {
        let context = try JobFixtures.context(FacePipeline.requiredModels(detector: DetectorFactory.defaultModel) + [FaceEmbedder.Profile.sface.modelID])
        let image = try ImageIO.read(Self.crowd)
        let faces = try Self.faces(context, in: image)
        try #require(faces.count >= 16, "bald_guys.jpg has 24 faces; found \(faces.count)")
        let embedder = try FaceEmbedder.make(model: FaceEmbedder.Profile.sface.modelID, store: context.store, config: context.session)
        #expect(embedder.batches.session(forBatch: 8) != nil, "SFace should batch: \(embedder.batches.unavailableReason ?? "")")
        let crops = try faces.map { try FaceAlignment.crop(image, keypoints: $0.keypoints, template: embedder.profile.template).crop }
        let batched = try embedder.embeddings(alignedCrops: crops)
        var worst: Float = 0
        for (crop, b) in zip(crops, batched) {
            let single = try embedder.embed(alignedCrop: crop)
            let values = try #require(b)
            worst = max(worst, zip(single, values).map { abs($0 - $1) }.max() ?? 0)
        }
        #expect(worst <= 1e-5, "largest difference \(worst)")
    }

    /// Runs padded to the batch bound (what GPU plans do, so a batch session sees one shape): the 24 faces run
    /// as 16 + 8 padded to 16, and every face still gets its own embedding and landmarks.
    @Test func paddedBatchesEqualOneAtATime() throws {
        let context = try JobFixtures.context(FacePipeline.requiredModels(detector: DetectorFactory.defaultModel)
                                              + [FaceEmbedder.Profile.sface.modelID, "pfld-68"])
        var config = context.session
        config.padBatches = true
        config.maxBatch = 16
        let image = try ImageIO.read(Self.crowd)
        let faces = try Self.faces(context, in: image)
        try #require(faces.count > 16 && faces.count % 16 != 0, "bald_guys.jpg has 24 faces; found \(faces.count)")
        let embedder = try FaceEmbedder.make(model: FaceEmbedder.Profile.sface.modelID, store: context.store, config: config)
        #expect(embedder.batches.padsBatches)
        var runs: [(count: Int, batch: Int)] = []
        try embedder.batches.forEachRun(faces.count) { runs.append(($0.count, $0.batch)) }
        #expect(runs.map(\.count) == [16, faces.count - 16] && runs.allSatisfy { $0.batch == 16 }, "\(runs)")
        let crops = try faces.map { try FaceAlignment.crop(image, keypoints: $0.keypoints, template: embedder.profile.template).crop }
        let padded = try embedder.embeddings(alignedCrops: crops)
        var worst: Float = 0
        for (crop, b) in zip(crops, padded) {
            worst = max(worst, zip(try embedder.embed(alignedCrop: crop), try #require(b)).map { abs($0 - $1) }.max() ?? 0)
        }
        #expect(worst <= 1e-5, "largest embedding difference \(worst)")

        let pfld = try PFLDLandmarker.make(store: context.store, config: config)
        let boxes = faces.map(\.box)
        let together = try pfld.landmarks(in: image, boxes: boxes)
        var worstPoint: Float = 0
        for (box, points) in zip(boxes, together) {
            let alone = try pfld.landmarks(in: image, boxes: [box])[0]
            worstPoint = max(worstPoint, zip(alone, points).map { max(abs($0.x - $1.x), abs($0.y - $1.y)) }.max() ?? 0)
        }
        #expect(together.count == boxes.count && worstPoint <= 1e-3, "largest landmark difference \(worstPoint) px")
    }

    @Test func batchedLandmarksEqualOneAtATime() throws {
        let context = try JobFixtures.context(FacePipeline.requiredModels(detector: DetectorFactory.defaultModel) + ["pfld-68"])
        let image = try ImageIO.read(Self.crowd)
        let boxes = try Self.faces(context, in: image).map(\.box)
        try #require(boxes.count >= 16)
        let pfld = try PFLDLandmarker.make(store: context.store, config: context.session)
        let together = try pfld.landmarks(in: image, boxes: boxes)
        var worst: Float = 0
        for (box, points) in zip(boxes, together) {
            let alone = try pfld.landmarks(in: image, boxes: [box])[0]
            worst = max(worst, zip(alone, points).map { max(abs($0.x - $1.x), abs($0.y - $1.y)) }.max() ?? 0)
        }
        #expect(worst <= 1e-3, "largest difference \(worst) px")
    }

    @Test func batchedSwapCropsEqualOneAtATime() throws {
        let twin = JobFixtures.repository.appendingPathComponent(".deps/twins/inswapper_128_twin.onnx").path
        try #require(FileManager.default.fileExists(atPath: twin), "run scripts/setup-twins.sh (make test does)")
        let context = try JobFixtures.context(FacePipeline.requiredModels(detector: DetectorFactory.defaultModel))
        let image = try ImageIO.read(Self.crowd)
        let targets = Array(try Self.faces(context, in: image).prefix(2)).map(\.keypoints)
        let swapper = try INSwapper(modelPath: twin, config: context.session)
        let latents = (0..<targets.count).map { k in (0..<512).map { j in sin(Float(j * (k + 3)) * 0.01) / 16 } }
        let together = try swapper.swapCrops(image, targets: targets, latents: latents)
        #expect(swapper.batches.session(forBatch: 2) != nil, "inswapper should batch: \(swapper.batches.unavailableReason ?? "")")
        var worst = 0
        for i in targets.indices {
            let alone = try swapper.swapCrop(image, targetKeypoints: targets[i], latent: latents[i])
            for y in 0..<128 {
                let a = alone.crop.baseAddress.advanced(by: y * alone.crop.stride).assumingMemoryBound(to: UInt8.self)
                let b = together[i].crop.baseAddress.advanced(by: y * together[i].crop.stride).assumingMemoryBound(to: UInt8.self)
                for x in 0..<(128 * 3) { worst = max(worst, abs(Int(a[x]) - Int(b[x]))) }
            }
        }
        #expect(worst <= 1, "largest difference \(worst) grey levels")
    }

    @Test func diagnoseMeasuresAModelAndSavesTheRecommendation() throws {
        let context = try JobFixtures.context(["pfld-68"])
        var job = DiagnoseJob()
        job.models = ["pfld-68"]
        job.accelerators = [.cpu]
        job.runs = 3
        job.batches = [1, 2]
        job.secondsPerBatch = 2
        let report = try job.run(in: context)
        let pfld = try #require(report.results.first)
        #expect(report.results.count == 1 && pfld.accelerator == "cpu")
        #expect(pfld.sweep.map(\.batch) == [1, 2])
        #expect(pfld.sweep.allSatisfy { $0.itemsPerSecond > 0 && $0.gflopPerSecond ?? 0 > 0 })
        // PFLD at 112x112 is a few hundred MFLOP of convolutions.
        let gflop = try #require(pfld.gflopPerItem)
        #expect(gflop > 0.05 && gflop < 5)
        let steady = try #require(pfld.steadyMs)
        #expect(steady.min > 0 && steady.min <= steady.median && steady.median <= steady.p90)
        let recommendation = try #require(report.recommendation)
        #expect(recommendation.accelerator == .cpu && [1, 2].contains(recommendation.batch))
        let saved = try #require(AcceleratorRecommendation.load(from: context.store))
        #expect(saved.batch == recommendation.batch && report.recommendationFile == saved.file)
        let html = DiagnoseHTML.render(report)
        #expect(html.contains("<svg") && html.contains("pfld-68") && !html.contains("<script"))
    }
}
