import ArgumentParser
import Foundation
import VisageAU
import VisageCLNF
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

struct BenchAU: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "au",
        abstract: "Per-stage ms of the AU pipeline and end-to-end FPS: AU stage alone (landmarks given), single-threaded, all cores.")

    @Option(help: "Video to run (OpenFace's default.wmv is the reference clip).")
    var video: String

    @Option(help: "OpenFace CSV with the video's landmarks, to time the AU stage alone (as PyfaceAU's AU-stage figure is).")
    var landmarksFrom: String?

    @Option(help: "Landmark source for the end-to-end runs: clnf (OpenFace's, the default of `visage au`) or pfld.")
    var landmarks: String = "clnf"

    @Option(help: "Run the detector every N frames (pfld landmarks).")
    var detectEvery: Int = 5

    @Flag(help: "Print JSON on stdout.")
    var json = false

    @OptionGroup var runtime: RuntimeOptions

    /// The stages that make up "the AU stage" (everything after the 68 landmarks).
    // pose_3d (solvePnP for the CSV's pose columns) is reported but is not part of the AU computation.
    static let auStages = ["calc_params", "align", "fhog", "geometry", "median_and_svr"]

    func validate() throws {
        guard ["clnf", "pfld"].contains(landmarks) else { throw ValidationError("--landmarks is clnf or pfld") }
    }

    func run() throws {
        let store = ModelStore()
        let models = try AUModels(root: try AU.openFaceRoot(store: store))
        var report: [String: Any] = ["benchmark": "au", "video": video, "cpu": Platform.cpuModel, "cores": ProcessInfo.processInfo.activeProcessorCount]
        var lines: [String] = []

        func summarise(_ name: String, _ r: AUJob.Result) -> [String: Any] {
            let perFrame = r.times.mapValues { Stats.r($0 / Double(max(r.frames, 1))) }
            let auMs = Self.auStages.compactMap { r.times[$0] }.reduce(0, +) / Double(max(r.frames, 1))
            let fps = Double(r.frames) / max(r.seconds, 1e-9)
            lines.append("\(name): \(r.frames) frames, \(String(format: "%.1f", fps)) fps end to end; AU stage \(String(format: "%.3f", auMs)) ms/face (\(String(format: "%.0f", 1000 / max(auMs, 1e-9))) fps)")
            lines.append("  ms per frame: " + r.order.map { "\($0) \(String(format: "%.3f", perFrame[$0] ?? 0))" }.joined(separator: ", "))
            return ["frames": r.frames, "seconds": Stats.r(r.seconds), "fps": Stats.r(fps), "au_stage_ms_per_face": Stats.r(auMs),
                    "au_stage_fps": Stats.r(1000 / max(auMs, 1e-9)), "ms_per_frame": perFrame]
        }

        if let landmarksFrom {
            let csv = try AU.landmarkSource(csv: landmarksFrom, pdm: models.pdm, keepAsWritten: false)
            let job = AUJob(models: models, makeSource: { csv }, online: false, multiFace: false)
            _ = try job.runVideo(try VideoReader(path: video), csv: nil, pipelined: false, progressLabel: nil, maxFrames: 30)   // warm-up
            report["au_stage_given_landmarks"] = summarise("AU stage, landmarks from CSV, one thread",
                                                           try job.runVideo(try VideoReader(path: video), csv: nil, pipelined: false, progressLabel: nil))
        }
        var single = try runtime.sessionConfig()
        single.intraOpThreads = 1
        let every = detectEvery, kind = landmarks, root = models.root
        func source(_ config: SessionConfig) throws -> AULandmarkSource {
            // A model of its own per timed run: each run pays for its response covariances, as OpenFace does.
            if kind == "clnf" { return try CLNFPersonSource(openFaceRoot: root, store: store, config: config, multiFace: false) }
            return try PFLDLandmarkSource(store: store, config: config, detector: DetectorFactory.defaultModel, detectEvery: every, maxInputSide: 640)
        }
        // End to end means decode to CSV: the CSV is written (to a temporary file) as `visage au` writes it.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("visage-bench-au-\(ProcessInfo.processInfo.processIdentifier).csv")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let serial = AUJob(models: models, makeSource: { try source(single) }, online: false, multiFace: false)
        report["landmarks"] = kind
        report["single_thread"] = summarise("\(kind) landmarks, one thread, no overlap",
                                            try serial.runVideo(try VideoReader(path: video), csv: scratch, pipelined: false, progressLabel: nil))
        let all = try runtime.sessionConfig()
        let pipelined = AUJob(models: models, makeSource: { try source(all) }, online: false, multiFace: false)
        report["all_cores"] = summarise("\(kind) landmarks, all cores, decode ∥ landmarks ∥ AU",
                                        try pipelined.runVideo(try VideoReader(path: video), csv: scratch, pipelined: true, progressLabel: nil))
        if json { try JSONOutput.print(report) } else { lines.forEach { print($0) } }
    }
}
