import ArgumentParser
import Foundation
import VisageFace
import VisageJobs

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per face: id, box, score, 5 keypoints, 68 landmarks, head pose, optional identity embedding — for an image or a video.")

    @Argument(help: "An image or a video file.") var input: String
    @Flag(help: "Print one JSON document on stdout.") var json = false
    @Flag(help: "Print one JSON line per frame (videos) on stdout, plus track start/end events.") var jsonl = false
    @Option(help: "Write an annotated copy: .png/.jpg for images, .mp4 for videos (audio kept).") var draw: String?
    @Flag(help: "Include identity embeddings.") var embeddings = false
    @Option(parsing: .unconditional, help: "Videos: run the detector every N frames (1 to 100), track with landmarks in between.") var detectEvery: Int = 5
    @Option(parsing: .unconditional, help: "Videos: frames a face may go undetected before its track ends.") var maxLost: Int = 15
    @Option(parsing: .unconditional, help: "Videos: stop after this many frames (0: all).") var maxFrames: Int = 0
    @Option(help: "Face detector model id or .onnx path.") var detector: String = DetectorFactory.defaultModel
    @Option(help: "Recognition model for embeddings: sface-2021dec-int8bq or arcface-w600k-r50.")
    var recognizer: String = FaceEmbedder.Profile.sface.modelID
    @OptionGroup var runtime: RuntimeOptions

    var job: AnalyzeJob {
        var job = AnalyzeJob(input: input)
        job.draw = draw
        job.embeddings = embeddings
        job.detectEvery = detectEvery
        job.maxLost = maxLost
        job.maxFrames = maxFrames
        job.detector = detector
        job.recognizer = recognizer
        job.collectFrames = json
        return job
    }

    func validate() throws {
        if json && jsonl { throw ValidationError("choose --json or --jsonl") }
        try parseCheck { try job.validateOptions() }
    }

    func run() throws {
        let job = self.job
        let streaming = jsonl
        let result = try job.run(in: try CLIJob.prepare(job, runtime: runtime)) { record, events in
            guard streaming else { return }
            if let record { try Output.json(record, pretty: false) }
            for e in events { try Output.json(e, pretty: false) }
        }
        for warning in result.warnings { Output.warning(warning) }
        if result.isVideo {
            if json {
                try Output.json(result)
            } else if !jsonl {
                print("\(input): \(result.frameCount ?? 0) frames, \(result.tracks ?? 0) track\(result.tracks == 1 ? "" : "s")")
                for e in result.events { print("  \(e.event) track \(e.id) at frame \(e.frame)") }
                if let draw { print("wrote \(draw)") }
            }
        } else if json || jsonl {
            try Output.json(result)
        } else {
            let faces = result.faces ?? []
            print("\(input): \(faces.count) face\(faces.count == 1 ? "" : "s")")
            for (i, face) in faces.enumerated() { print("  #\(i + 1) " + face.summary) }
            if let draw { print("wrote \(draw)") }
        }
    }
}
