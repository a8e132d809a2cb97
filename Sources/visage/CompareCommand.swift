import ArgumentParser
import Foundation
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Are these the same person? Cosine similarity of the main face of each image.")

    @Argument(help: "First image.") var first: String
    @Argument(help: "Second image.") var second: String

    @Option(help: "Recognition model: sface-2021dec-int8bq (default) or arcface-w600k-r50.")
    var model: String = FaceEmbedder.Profile.sface.modelID

    @Option(help: "Face detector model id.")
    var detector: String = DetectorFactory.defaultModel

    @Option(help: "Override the model's same-person threshold (cosine similarity).")
    var threshold: Float?

    @Flag(help: "Print JSON on stdout.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        for path in [first, second] { try ImageIO.checkReadableFile(path) }
        let config = try runtime.sessionConfig()
        let store = ModelStore()
        let faceDetector = try DetectorFactory.make(model: detector, store: store, config: config)
        let embedder = try FaceEmbedder.make(model: model, store: store, config: config)
        Banner.print(plan: embedder.session.plan)
        func embedding(_ path: String) throws -> (embedding: [Float], faces: Int) {
            let image = try ImageIO.read(path)
            let faces = try faceDetector.detect(image)
            // The main face: the largest among confident detections.
            guard let main = faces.max(by: { $0.box.area < $1.box.area }) else {
                throw VisageError.invalidImage(path: path, reason: "no face found to compare")
            }
            return (try embedder.embed(image, keypoints: main.keypoints), faces.count)
        }
        let a = try embedding(first), b = try embedding(second)
        let similarity = FaceEmbedder.similarity(a.embedding, b.embedding)
        let limit = threshold ?? embedder.profile.threshold
        let same = similarity >= limit
        if json {
            try JSONOutput.print(["first": first, "second": second, "similarity": JSONOutput.round(similarity, 4), "same": same,
                                  "model": embedder.profile.modelID, "threshold": JSONOutput.round(limit, 4),
                                  "faces": [a.faces, b.faces]])
        } else {
            print(String(format: "similarity %.3f → %@ (%@, threshold %.3f)", similarity, same ? "same person" : "different people",
                         embedder.profile.modelID, limit))
        }
    }
}
