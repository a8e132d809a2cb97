import ArgumentParser
import Foundation
import VisageFace
import VisageJobs

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Are these the same person? Cosine similarity of the main face of each image.")

    @Argument(help: "First image.") var first: String
    @Argument(help: "Second image.") var second: String
    @Option(help: "Recognition model: sface-2021dec-int8bq (default) or arcface-w600k-r50.") var model: String = FaceEmbedder.Profile.sface.modelID
    @Option(help: "Face detector model id.") var detector: String = DetectorFactory.defaultModel
    @Option(parsing: .unconditional, help: "Override the model's same-person threshold (cosine similarity, -1 to 1).") var threshold: Float?
    @Option(parsing: .unconditional, help: "Which face of the first image (1-based, as `visage detect` lists them; default: the largest).") var face: Int?
    @Option(parsing: .unconditional, help: "Which face of the second image (default: the largest).") var secondFace: Int?
    @Flag(help: "Print JSON on stdout.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    var job: CompareJob {
        var job = CompareJob(first: first, second: second)
        job.model = model
        job.detector = detector
        job.threshold = threshold
        job.firstFace = face
        job.secondFace = secondFace
        return job
    }

    func validate() throws { try parseCheck { try job.validateOptions() } }

    func run() throws {
        let result = try CLIJob.run(job, runtime: runtime)
        Output.faceChoice(result.chosen[0], option: "--face")
        Output.faceChoice(result.chosen[1], option: "--second-face")
        if json {
            try Output.json(result)
        } else {
            print(String(format: "similarity %.3f → %@ (%@, threshold %.3f)", result.rawSimilarity, result.same ? "same person" : "different people",
                         result.model, result.rawThreshold))
        }
    }
}
