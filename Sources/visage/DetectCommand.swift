import ArgumentParser
import Foundation
import VisageFace
import VisageJobs

struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Find faces (box, score, 5 keypoints) in images.")

    @Argument(help: "Image files.") var images: [String]
    @Option(help: "Detector: \(DetectorFactory.supportedModels.joined(separator: ", ")) or a path to an .onnx file.")
    var model: String = DetectorFactory.defaultModel
    @Flag(help: "Print JSON on stdout.") var json = false
    @Option(help: "Write an annotated copy of the (single) input image here (.png/.jpg).") var draw: String?
    @Option(parsing: .unconditional, help: "Minimum score, 0 to 1 (default: the model's own, 0.5 SCRFD, 0.7 YuNet).") var threshold: Float?
    @Option(parsing: .unconditional, help: "Keep at most this many faces, highest scores first (0: all).") var maxFaces: Int = 0
    @Option(parsing: .unconditional, help: "Detector input size in pixels (square, a multiple of 32 from 32 to 4096).") var inputSize: Int = 640
    @OptionGroup var runtime: RuntimeOptions

    var job: DetectJob {
        var job = DetectJob(images: images)
        job.model = model
        job.draw = draw
        job.threshold = threshold
        job.maxFaces = maxFaces
        job.inputSize = inputSize
        return job
    }

    func validate() throws { try parseCheck { try job.validateOptions() } }

    func run() throws {
        let result = try CLIJob.run(job, runtime: runtime)
        if json {
            try Output.json(result)
        } else {
            for image in result.results {
                print("\(image.image): \(image.faces.count) face\(image.faces.count == 1 ? "" : "s") (\(result.model), \(String(format: "%.1f", image.timings.total)) ms)")
                for (i, face) in image.faces.enumerated() {
                    let b = face.box
                    print(String(format: "  #%d score %.3f box (%.0f, %.0f)-(%.0f, %.0f) %.0fx%.0f", i + 1, face.score, b[0], b[1], b[2], b[3],
                                 b[2] - b[0], b[3] - b[1]))
                }
            }
            if let draw { print("wrote \(draw)") }
        }
        if !result.failures.isEmpty { throw PartialFailure(failures: result.failures, total: images.count) }
    }
}
