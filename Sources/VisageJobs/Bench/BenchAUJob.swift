import Foundation
import VisageAU
import VisageCore
import VisageFace
import VisageMedia

/// Per-stage ms of the AU pipeline and end-to-end FPS: the AU stage alone (landmarks given), one thread
/// with no overlap, and all cores (decode ∥ landmarks ∥ AU) — each decoding the video and writing the CSV.
public struct BenchAUJob: Codable, Sendable {
    public var video: String
    /// An OpenFace CSV with the video's landmarks, to time the AU stage alone (as PyfaceAU's figure is).
    public var landmarksFrom: String?
    public var landmarks = AULandmarks.clnf
    public var detectEvery = 5

    public init(video: String) { self.video = video }

    /// The stages that make up "the AU stage" (everything after the 68 landmarks); pose_3d (solvePnP for
    /// the CSV's pose columns) is reported but is not part of the AU computation.
    public static let auStages = ["calc_params", "align", "fhog", "geometry", "median_and_svr"]

    public var requiredModels: [String] {
        [AUJob.openFaceModel] + (landmarks == .pfld ? FacePipeline.requiredModels(detector: DetectorFactory.defaultModel) : [])
    }

    public func run(in context: JobContext) throws -> BenchAUResult {
        try ImageIO.checkReadableFile(video)
        let root = try context.store.installedDirectory(for: AUJob.openFaceModel)
        let models = try AUModels.shared(root: root, context: context)
        var result = BenchAUResult(video: video, landmarks: landmarks.rawValue)
        func factory(_ config: JobContext) -> AULandmarkSourceFactory {
            // A model of its own per timed run: each run pays for its response covariances, as OpenFace does.
            var f = AULandmarkSourceFactory(context: config, openFaceRoot: root, kind: landmarks, multiFace: false,
                                            detector: DetectorFactory.defaultModel, detectEvery: detectEvery)
            f.shareCLNFModel = false
            return f
        }
        if let landmarksFrom {
            var f = factory(context)
            f.replay = try AUJob.landmarkSource(csv: landmarksFrom, pdm: models.pdm, keepAsWritten: false, logger: context)
            let runner = AURunner(models: models, sources: f, online: false, multiFace: false)
            _ = try runner.runVideo(opening: { try VideoReader(path: video) }, csv: nil, pipelined: false, context: context, progressStage: nil, maxFrames: 30)
            result.auStageGivenLandmarks = BenchAUResult.Run(try runner.runVideo(opening: { try VideoReader(path: video) }, csv: nil, pipelined: false,
                                                                                 context: context, progressStage: nil),
                                                             name: "AU stage, landmarks from CSV, one thread")
        }
        var single = context
        single.session.intraOpThreads = 1
        // End to end means decode to CSV: the CSV is written (to a temporary file) as `visage au` writes it.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("visage-bench-au-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let serial = AURunner(models: models, sources: factory(single), online: false, multiFace: false)
        result.singleThread = BenchAUResult.Run(try serial.runVideo(opening: { try VideoReader(path: video) }, csv: scratch, pipelined: false,
                                                                    context: single, progressStage: nil),
                                                name: "\(landmarks.rawValue) landmarks, one thread, no overlap")
        try context.cancellation.check()
        let pipelined = AURunner(models: models, sources: factory(context), online: false, multiFace: false)
        result.allCores = BenchAUResult.Run(try pipelined.runVideo(opening: { try VideoReader(path: video) }, csv: scratch, pipelined: true,
                                                                   context: context, progressStage: nil),
                                            name: "\(landmarks.rawValue) landmarks, all cores, decode ∥ landmarks ∥ AU")
        return result
    }
}

public struct BenchAUResult: Codable, Sendable {
    public var benchmark = "au"
    public var video: String
    public var landmarks: String
    public var cpu = Platform.cpuModel
    public var cores = ProcessInfo.processInfo.activeProcessorCount
    public var auStageGivenLandmarks: Run?
    public var singleThread: Run?
    public var allCores: Run?

    init(video: String, landmarks: String) { self.video = video; self.landmarks = landmarks }

    /// One timed run.
    public struct Run: Codable, Sendable {
        public var name: String
        public var frames: Int
        public var seconds: Double
        public var fps: Double
        public var auStageMsPerFace: Double
        public var auStageFPS: Double
        public var msPerFrame: [String: Double]
        /// Stage names in the order they ran.
        public var order: [String]

        init(_ r: AURunner.Outcome, name: String) {
            self.name = name
            frames = r.frames
            seconds = Stats.r(r.seconds)
            fps = Stats.r(Double(r.frames) / max(r.seconds, 1e-9))
            let auMs = BenchAUJob.auStages.compactMap { r.times[$0] }.reduce(0, +) / Double(max(r.frames, 1))
            auStageMsPerFace = Stats.r(auMs)
            auStageFPS = Stats.r(1000 / max(auMs, 1e-9))
            msPerFrame = r.times.mapValues { Stats.r($0 / Double(max(r.frames, 1))) }
            order = r.order
        }

        enum CodingKeys: String, CodingKey {
            case name, frames, seconds, fps, order
            case auStageMsPerFace = "au_stage_ms_per_face", auStageFPS = "au_stage_fps", msPerFrame = "ms_per_frame"
        }
    }

    enum CodingKeys: String, CodingKey {
        case benchmark, video, landmarks, cpu, cores
        case auStageGivenLandmarks = "au_stage_given_landmarks", singleThread = "single_thread", allCores = "all_cores"
    }
}
