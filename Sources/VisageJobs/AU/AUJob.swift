import Foundation
import VisageAU
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

/// Facial action units exactly as OpenFace 2.2's FeatureExtraction computes them, in its CSV format, for a
/// video, a photo, a folder (videos in parallel, one CSV each; photos as one sequence), or a camera.
public struct AUJob: VisageJob {
    public static let kind = JobKind.au
    /// A video, an image or a folder; nil with `camera`.
    public var input: String?
    public var camera: Int?
    /// The CSV (a folder for folder input); nil: no CSV (rows only in the result).
    public var output: String?
    /// OpenFace's online rules (as for a webcam) instead of the offline post-processing files get.
    public var online = false
    public var multiFace = false
    /// AU intensity over time, drawn into this PNG.
    public var plot: String?
    public var landmarks = AULandmarks.clnf
    /// 68 landmarks from an OpenFace CSV instead of fitting them.
    public var landmarksFrom: String?
    /// With `landmarksFrom`: use the CSV's landmarks as written (0.1 px) instead of restoring them.
    public var keepCSVLandmarks = false
    public var detectEvery = 5
    public var detector = DetectorFactory.defaultModel
    /// Folder input: videos at once (0: half the cores, at least 1).
    public var jobs = 0
    public var maxFrames: Int?

    public static let openFaceModel = "openface-2.2.0"
    public static let jobsRange = 0...256

    public init(input: String?, output: String?) { self.input = input; self.output = output }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case input, camera, output, online, plot, landmarks, detector, jobs
        case multiFace = "multi-face", landmarksFrom = "landmarks-from", keepCSVLandmarks = "keep-csv-landmarks"
        case detectEvery = "detect-every", maxFrames = "max-frames"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(input: try c.decodeIfPresent(String.self, forKey: .input), output: try c.decodeIfPresent(String.self, forKey: .output))
        camera = try c.decodeIfPresent(Int.self, forKey: .camera)
        online = try c.decodeIfPresent(Bool.self, forKey: .online) ?? false
        multiFace = try c.decodeIfPresent(Bool.self, forKey: .multiFace) ?? false
        plot = try c.decodeIfPresent(String.self, forKey: .plot)
        landmarks = try c.decodeIfPresent(AULandmarks.self, forKey: .landmarks) ?? .clnf
        landmarksFrom = try c.decodeIfPresent(String.self, forKey: .landmarksFrom)
        keepCSVLandmarks = try c.decodeIfPresent(Bool.self, forKey: .keepCSVLandmarks) ?? false
        detectEvery = try c.decodeIfPresent(Int.self, forKey: .detectEvery) ?? 5
        detector = try c.decodeIfPresent(String.self, forKey: .detector) ?? DetectorFactory.defaultModel
        jobs = try c.decodeIfPresent(Int.self, forKey: .jobs) ?? 0
        maxFrames = try c.decodeIfPresent(Int.self, forKey: .maxFrames)
    }

    public var requiredModels: [String] {
        var ids = [Self.openFaceModel]
        if landmarksFrom == nil && landmarks == .pfld { ids += FacePipeline.requiredModels(detector: detector) }
        if multiFace { ids.append(FaceEmbedder.Profile.sface.modelID) }
        return ids
    }

    var isFolder: Bool {
        var isDir: ObjCBool = false
        return input.map { FileManager.default.fileExists(atPath: $0, isDirectory: &isDir) && isDir.boolValue } ?? false
    }

    /// Options and paths, before any model loads: a wrong plot or output path fails now, not after the run.
    public func validateOptions() throws {
        if (input == nil) == (camera == nil) { throw VisageError.invalidArgument("give an input file or folder, or a camera") }
        try OptionRules.check("detect-every", detectEvery, in: OptionRules.detectEvery)
        try OptionRules.check("jobs", jobs, in: Self.jobsRange)
        if let maxFrames { try OptionRules.check("max-frames", maxFrames, in: 1...Int.max) }
        if let camera { try OptionRules.check("camera", camera, in: 0...255) }
        if landmarksFrom != nil && multiFace { throw VisageError.invalidArgument("landmarks-from replays the CSV's face ids; drop multi-face") }
        if landmarksFrom != nil && camera != nil { throw VisageError.invalidArgument("landmarks-from replays a recorded file; it cannot go with a camera") }
        if keepCSVLandmarks && landmarksFrom == nil { throw VisageError.invalidArgument("keep-csv-landmarks only applies with landmarks-from") }
    }

    public func validate() throws {
        try validateOptions()
        let inputs = [input, landmarksFrom].compactMap { $0 }
        if let input {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDir) else { throw VisageError.fileNotFound(path: input) }
            if isDir.boolValue, landmarksFrom != nil {
                throw VisageError.invalidArgument("landmarks-from belongs to one video or image; \(input) is a folder")
            }
            if !isDir.boolValue { try ImageIO.checkReadableFile(input) }
        }
        if let landmarksFrom { try ImageIO.checkReadableFile(landmarksFrom) }
        if let output, !isFolder { try OutputCheck.validate(output, kind: .csv, inputs: inputs) }
        if let plot { try OutputCheck.validate(plot, kind: .plot, inputs: inputs, role: "plot") }
    }

    public func run(in context: JobContext) throws -> AUResult {
        try validate()
        // Probing a video and starting its decoder are other processes (ffprobe, ffmpeg): they run while the
        // models are checked and loaded instead of before.
        let video = camera == nil && !isFolder ? input.flatMap { path in
            MediaKind.isVideo(path) ? BackgroundWork(name: "visage.open-video") { try VideoReader(path: path) } : nil
        } : nil
        let root = try context.store.installedDirectory(for: Self.openFaceModel)
        let models = try AUModels.shared(root: root, context: context)
        var factory = AULandmarkSourceFactory(context: context, openFaceRoot: root, kind: landmarks, multiFace: multiFace,
                                              detector: detector, detectEvery: detectEvery)
        var result = AUResult(layout: models.layout)
        if let camera {
            let reader = try VideoReader(camera: camera)
            context.logger.info("camera \(camera): \(reader.width)x\(reader.height) at \(reader.fps) fps (as the driver reports)")
            let runner = AURunner(models: models, sources: factory, online: true, multiFace: multiFace)
            let outcome = try runner.runVideo(opening: { reader }, csv: csvURL, context: context, progressStage: "au", maxFrames: maxFrames)
            result.add(outcome, csv: csvURL?.path)
        } else if isFolder {
            result = try AUFolderRunner(job: self, models: models, factory: factory, context: context).run()
        } else {
            let path = input!
            if let landmarksFrom {
                factory.replay = try Self.landmarkSource(csv: landmarksFrom, pdm: models.pdm, keepAsWritten: keepCSVLandmarks, logger: context)
            }
            let runner = AURunner(models: models, sources: factory, online: online, multiFace: multiFace)
            let outcome = try video.map { opening in
                try runner.runVideo(opening: { try opening.value() }, csv: csvURL, context: context, progressStage: "au", maxFrames: maxFrames)
            } ?? runner.runImages([path], csv: csvURL, context: context)
            result.add(outcome, csv: csvURL?.path)
        }
        if let plot, !isFolder { try AUPlotWriter.write(result.persons, layout: models.layout, to: plot) }
        if !isFolder && result.persons.allSatisfy({ !$0.success.contains(true) }) {
            result.warnings.append("no face found in any frame; rows have success = 0")
        }
        return result
    }

    var csvURL: URL? { output.map { URL(fileURLWithPath: $0).standardizedFileURL } }

    /// `landmarksFrom`: the CSV's rows, restored from its own PDM parameters where it has them.
    static func landmarkSource(csv path: String, pdm: PointDistributionModel, keepAsWritten: Bool, logger context: JobContext) throws -> CSVLandmarkSource {
        let source = try CSVLandmarkSource(contentsOf: path, recovery: keepAsWritten ? nil : OpenFaceShapeRecovery(pdm: pdm))
        if keepAsWritten {
            context.logger.info("landmarks: \(path), \(source.rowCount) rows, used as written (0.1 px)")
        } else {
            context.logger.info("landmarks: \(path), \(source.recoveredRows) of \(source.rowCount) rows restored from the CSV's p_* parameters (below its 0.1 px rounding); the rest used as written")
        }
        return source
    }
}

/// What `AUJob` produced.
public struct AUResult: Codable, Sendable {
    /// One per CSV written (one for a file or camera; one per video, plus one for the photos, for a folder).
    public var files: [AUFileResult] = []
    /// Inputs of a folder that failed while the others went on.
    public var failures: [InputFailure] = []
    /// Every person's series (single input), for JSON lines, plots and charts.
    public var persons: [AURecorder.PersonSeries] = []
    /// The AU names of the series (intensities then presences).
    public var intensityNames: [String]
    public var presenceNames: [String]
    public var warnings: [String] = []

    public var frames: Int { files.map(\.frames).reduce(0, +) }

    init(layout: OpenFaceCSVLayout) {
        intensityNames = layout.intensityNames
        presenceNames = layout.presenceNames
    }

    mutating func add(_ outcome: AURunner.Outcome, csv: String?, input: String? = nil) {
        files.append(AUFileResult(input: input, csv: csv, frames: outcome.frames, faceIDs: outcome.persons.count, seconds: outcome.seconds))
        persons += outcome.persons
        if let damage = outcome.decodeReport { warnings.append(damage) }
    }

    enum CodingKeys: String, CodingKey {
        case files, failures, persons, warnings
        case intensityNames = "intensity_names", presenceNames = "presence_names"
    }
}

/// One CSV of an AU run.
public struct AUFileResult: Codable, Sendable {
    public var input: String?
    public var csv: String?
    public var frames: Int
    /// People (face ids) in it.
    public var faceIDs: Int
    public var seconds: Double
    public var fps: Double { Double(frames) / max(seconds, 1e-9) }

    enum CodingKeys: String, CodingKey {
        case input, csv, frames, seconds
        case faceIDs = "face_ids"
    }
}

/// The AU plot (intensity over time per AU, a line per person).
enum AUPlotWriter {
    static func write(_ persons: [AURecorder.PersonSeries], layout: OpenFaceCSVLayout, to path: String) throws {
        let series = persons.map { person in
            AUPlot.Series(faceID: person.faceID, timestamps: person.timestamps,
                          intensities: layout.intensityNames.indices.map { k in person.intensities.map { $0[k] } },
                          success: person.success)
        }
        try ImageIO.write(AUPlot.render(names: layout.intensityNames, series: series), to: path)
    }
}
