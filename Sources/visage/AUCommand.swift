import ArgumentParser
import Foundation
import VisageFace
import VisageJobs

struct AU: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "au",
        abstract: "Facial action units exactly as OpenFace 2.2's FeatureExtraction computes them, in its CSV format.",
        discussion: """
        Input: a video, an image, a folder (videos are processed in parallel, one CSV each; images form one
        sequence), or --camera N. Needs the OpenFace 2.2 model files (`visage models install openface-2.2.0
        --accept-license`; OpenFace's licence is academic/non-commercial).
        """)

    @Argument(help: "Video, image or folder.") var input: String?
    @Option(parsing: .unconditional, help: "Camera index instead of a file (online AU rules).") var camera: Int?
    @Option(name: [.short, .customLong("output")], help: "CSV to write (a folder for folder input, made if missing). Default: <input name>.csv here.")
    var output: String?
    @Flag(help: "OpenFace's online rules (as for a webcam) instead of the offline post-processing files get.") var online = false
    @Flag(help: "One track per person, each with its own face_id and neutral-face estimate.") var multiFace = false
    @Option(help: "Draw AU intensity over time into this PNG.") var plot: String?
    @Flag(help: "Also print one JSON line per row on stdout.") var jsonl = false
    @Option(help: "Landmark source: clnf (OpenFace's own MTCNN + CLNF fitting: its numbers) or pfld (our detector + PFLD: faster, less OpenFace-like).")
    var landmarks: AULandmarks = .clnf
    @Option(help: "Take the 68 landmarks from an OpenFace CSV (x_0..x_67, y_0..y_67) instead of detecting them.") var landmarksFrom: String?
    @Flag(help: "With --landmarks-from: use the CSV's landmarks exactly as written (0.1 px) instead of restoring them from its p_* columns.")
    var keepCSVLandmarks = false
    @Option(parsing: .unconditional, help: "pfld: run the face detector every N frames (1 to 100) and track with landmarks in between.") var detectEvery: Int = 5
    @Option(help: "pfld: face detector model id.") var detector: String = DetectorFactory.defaultModel
    @Option(parsing: .unconditional, help: "Folder input: videos processed at once (0: half the cores, at least 1).") var jobs: Int = 0
    @Option(parsing: .unconditional, help: "Stop after this many frames (cameras run until Ctrl-C otherwise).") var maxFrames: Int?
    @OptionGroup var runtime: RuntimeOptions

    /// The CSV: -o, else <input name>.csv here (camera<N>.csv for a camera); none with --jsonl alone.
    var csvPath: String? {
        if let output { return output }
        if jsonl { return nil }
        if let camera { return "camera\(camera).csv" }
        return input.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent + ".csv" }
    }

    var job: AUJob {
        var job = AUJob(input: input, output: csvPath)
        job.camera = camera
        job.online = online || camera != nil
        job.multiFace = multiFace
        job.plot = plot
        job.landmarks = landmarks
        job.landmarksFrom = landmarksFrom
        job.keepCSVLandmarks = keepCSVLandmarks
        job.detectEvery = detectEvery
        job.detector = detector
        job.jobs = jobs
        job.maxFrames = maxFrames
        return job
    }

    func validate() throws {
        try parseCheck { try job.validateOptions() }
    }

    func run() throws {
        let result = try job.run(in: try CLIJob.prepare(job, runtime: runtime, banner: false))
        for warning in result.warnings { Output.warning(warning) }
        if jsonl {
            for row in AURowRecord.rows(result.persons, intensityNames: result.intensityNames, presenceNames: result.presenceNames) {
                try Output.json(row, pretty: false)
            }
        }
        for file in result.files {
            let summary = "\(file.frames) frames, \(file.faceIDs) face id\(file.faceIDs == 1 ? "" : "s"), \(String(format: "%.1f", file.fps)) fps"
            if let csv = file.csv { print("\(csv): \(summary)") } else if !jsonl { print(summary) }
            else { FileHandle.standardError.write(Data((summary + "\n").utf8)) }
        }
        if !result.failures.isEmpty { throw PartialFailure(failures: result.failures, total: result.files.count + result.failures.count) }
    }
}
