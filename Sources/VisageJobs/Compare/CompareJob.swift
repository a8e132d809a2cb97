import Foundation
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

/// Are these the same person? Cosine similarity of one face of each image (the largest unless numbered).
public struct CompareJob: VisageJob {
    public static let kind = JobKind.compare
    public var first: String
    public var second: String
    /// Recognition model.
    public var model = FaceEmbedder.Profile.sface.modelID
    public var detector = DetectorFactory.defaultModel
    /// Overrides the model's same-person threshold.
    public var threshold: Float?
    /// Which face of each photo (1-based, as `visage detect` numbers them); nil: the largest.
    public var firstFace: Int?
    public var secondFace: Int?

    public init(first: String, second: String) { self.first = first; self.second = second }

    enum CodingKeys: String, CodingKey {
        case first, second, model, detector, threshold
        case firstFace = "first-face", secondFace = "second-face"
    }

    public var requiredModels: [String] { FacePipeline.requiredModels(detector: detector, landmarks: false, identity: model) }

    public func validateOptions() throws {
        if let threshold { try OptionRules.check("threshold", threshold, in: -1...1) }
        for number in [firstFace, secondFace].compactMap({ $0 }) { try OptionRules.check("face", number, in: 1...10_000) }
    }

    public func validate() throws {
        try validateOptions()
        for path in [first, second] { try ImageIO.checkReadableFile(path) }
    }

    public func run(in context: JobContext) throws -> CompareResult {
        try validate()
        let pipeline = FacePipeline(context: context)
        let faceDetector = try pipeline.detector(detector)
        let embedder = try pipeline.embedder(model)
        func embedding(_ path: String, choice: FaceChoice) throws -> (embedding: [Float], made: FaceChoice.Made) {
            let image = try ImageIO.read(path)
            let faces = try faceDetector.detect(image)
            do {
                let (face, made) = try choice.pick(faces, box: \.box, in: path)
                return (try embedder.embed(image, keypoints: face.keypoints), made)
            } catch VisageError.invalidImage(let p, _) {
                throw VisageError.invalidImage(path: p, reason: "no face found to compare")
            }
        }
        let a = try embedding(first, choice: FaceChoice(number: firstFace))
        try context.cancellation.check()
        let b = try embedding(second, choice: FaceChoice(number: secondFace))
        let similarity = FaceEmbedder.similarity(a.embedding, b.embedding)
        let limit = threshold ?? embedder.profile.threshold
        return CompareResult(first: first, second: second, similarity: JobJSON.round(similarity, 4), same: similarity >= limit,
                             model: embedder.profile.modelID, threshold: JobJSON.round(limit, 4),
                             faces: [a.made.faceCount, b.made.faceCount], chosen: [a.made, b.made],
                             rawSimilarity: similarity, rawThreshold: limit, accelerator: embedder.session.plan)
    }
}

public struct CompareResult: Codable, Sendable {
    public var first: String
    public var second: String
    public var similarity: Double
    public var same: Bool
    public var model: String
    public var threshold: Double
    /// Faces found in each photo.
    public var faces: [Int]
    /// Which face of each photo was compared.
    public var chosen: [FaceChoice.Made]
    /// Unrounded, for the human summary.
    public var rawSimilarity: Float = 0
    public var rawThreshold: Float = 0
    public var accelerator: AcceleratorPlan?

    enum CodingKeys: String, CodingKey { case first, second, similarity, same, model, threshold, faces, chosen }
}
