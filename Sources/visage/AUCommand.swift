import ArgumentParser
import Foundation
import VisageAU
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

struct AU: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "au",
        abstract: "Facial action units exactly as OpenFace 2.2's FeatureExtraction computes them, in its CSV format.",
        discussion: """
        Input: a video, an image, a folder (videos are processed in parallel, one CSV each; images form one
        sequence), or --camera N. Needs the OpenFace 2.2 model files (`visage models install openface-2.2.0
        --accept-license`; OpenFace's licence is academic/non-commercial).
        """)

    @Argument(help: "Video, image or folder.")
    var input: String?

    @Option(help: "Camera index instead of a file (online AU rules).")
    var camera: Int?

    @Option(name: [.short, .customLong("output")], help: "CSV to write (a folder for folder input). Default: <input name>.csv here.")
    var output: String?

    @Flag(help: "OpenFace's online rules (as for a webcam) instead of the offline post-processing files get.")
    var online = false

    @Flag(help: "One track per person, each with its own face_id and neutral-face estimate.")
    var multiFace = false

    @Option(help: "Draw AU intensity over time into this PNG.")
    var plot: String?

    @Flag(help: "Also print one JSON line per row on stdout.")
    var jsonl = false

    @Option(help: "Landmark source: clnf (OpenFace's own MTCNN + CLNF fitting: its numbers) or pfld (our detector + PFLD: faster, less OpenFace-like).")
    var landmarks: String = "clnf"

    @Option(help: "Take the 68 landmarks from an OpenFace CSV (x_0..x_67, y_0..y_67) instead of detecting them.")
    var landmarksFrom: String?

    @Flag(help: "With --landmarks-from: use the CSV's landmarks exactly as written (0.1 px) instead of restoring them from its p_* columns.")
    var keepCSVLandmarks = false

    @Option(help: "pfld: run the face detector every N frames and track with landmarks in between.")
    var detectEvery: Int = 5

    @Option(help: "pfld: face detector model id.")
    var detector: String = DetectorFactory.defaultModel

    @Option(help: "Folder input: videos processed at once (0: half the cores, at least 1).")
    var jobs: Int = 0

    @Option(help: "Stop after this many frames (cameras run until Ctrl-C otherwise).")
    var maxFrames: Int?

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if (input == nil) == (camera == nil) { throw ValidationError("give an input file or folder, or --camera N") }
        guard ["pfld", "clnf"].contains(landmarks) else { throw ValidationError("--landmarks is pfld or clnf") }
        guard detectEvery >= 1, jobs >= 0 else { throw ValidationError("--detect-every ≥ 1 and --jobs ≥ 0") }
        if landmarksFrom != nil && multiFace { throw ValidationError("--landmarks-from replays the CSV's face ids; drop --multi-face") }
        if landmarksFrom != nil && camera != nil { throw ValidationError("--landmarks-from replays a recorded file; it cannot go with --camera") }
        if keepCSVLandmarks && landmarksFrom == nil { throw ValidationError("--keep-csv-landmarks only applies with --landmarks-from") }
    }

    func run() throws {
        if runtime.verbose { VisageLog.setLevel(.debug) }
        let store = ModelStore()
        let root = try AU.openFaceRoot(store: store)
        let models = try AUModels(root: root)
        let config = try runtime.sessionConfig()
        let log = VisageLog.logger("au")
        let clnfModel = SharedCLNFModel(openFaceRoot: root)

        if let camera {
            let reader = try VideoReader(camera: camera)
            log.info("camera \(camera): \(reader.width)x\(reader.height) at \(reader.fps) fps (as the driver reports)")
            let csv = try outputURL(defaultName: "camera\(camera).csv")
            let job = makeJob(models: models, root: root, clnfModel: clnfModel, store: store, config: config, online: true, landmarkCSV: nil)
            let result = try job.runVideo(reader, csv: csv, progressLabel: "au", maxFrames: maxFrames)
            try finish(result, csv: csv, layout: models.layout)
            return
        }
        let path = input!
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw VisageError.fileNotFound(path: path) }
        if isDir.boolValue {
            if landmarksFrom != nil { throw VisageError.invalidArgument("--landmarks-from belongs to one video or image; \(path) is a folder") }
            try runFolder(path, models: models, root: root, clnfModel: clnfModel, store: store, config: config)
            return
        }
        let landmarkCSV = try landmarksFrom.map { try Self.landmarkSource(csv: $0, pdm: models.pdm, keepAsWritten: keepCSVLandmarks) }
        let csv = try outputURL(defaultName: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent + ".csv")
        if let csv, csv.standardizedFileURL.path == URL(fileURLWithPath: path).standardizedFileURL.path {
            throw VisageError.invalidArgument("the output \(csv.path) is the input; choose another path")
        }
        let job = makeJob(models: models, root: root, clnfModel: clnfModel, store: store, config: config, online: online, landmarkCSV: landmarkCSV)
        let result: AUJob.Result
        if MediaKind.isVideo(path) {
            result = try job.runVideo(try VideoReader(path: path), csv: csv, progressLabel: "au")
        } else {
            result = try runImages([path], job: job, csv: csv)
        }
        try finish(result, csv: csv, layout: models.layout)
    }

    /// `--landmarks-from`: the CSV's rows, restored from its own PDM parameters where it has them.
    static func landmarkSource(csv path: String, pdm: PointDistributionModel, keepAsWritten: Bool) throws -> CSVLandmarkSource {
        let source = try CSVLandmarkSource(contentsOf: path, recovery: keepAsWritten ? nil : OpenFaceShapeRecovery(pdm: pdm))
        let log = VisageLog.logger("au")
        if keepAsWritten {
            log.info("landmarks: \(path), \(source.rowCount) rows, used as written (0.1 px)")
        } else {
            log.info("landmarks: \(path), \(source.recoveredRows) of \(source.rowCount) rows restored from the CSV's p_* parameters (below its 0.1 px rounding); the rest used as written")
        }
        return source
    }

    /// The installed OpenFace files (installing them from the mirror or OpenFace's repository
    /// when the licence has been accepted).
    static func openFaceRoot(store: ModelStore) throws -> URL {
        let entry = try ModelCatalog.entry("openface-2.2.0")
        if !store.isInstalled(entry) { try store.install(entry) }
        return store.directory(for: entry)
    }

    func makeJob(models: AUModels, root: URL, clnfModel: SharedCLNFModel, store: ModelStore, config: SessionConfig, online: Bool,
                 landmarkCSV: CSVLandmarkSource?) -> AUJob {
        let detector = self.detector, every = detectEvery, multi = multiFace, kind = landmarks
        return AUJob(models: models, makeSource: {
            if let landmarkCSV { return landmarkCSV }
            if kind == "clnf" {
                return try CLNFPersonSource(openFaceRoot: root, store: store, config: config, multiFace: multi, model: clnfModel.get())
            }
            return try PFLDLandmarkSource(store: store, config: config, detector: detector, detectEvery: every, maxInputSide: 640,
                                          reidentify: multi)
        }, online: online, multiFace: multiFace)
    }

    func outputURL(defaultName: String) throws -> URL? {
        let path = output ?? defaultName
        if jsonl && output == nil { return nil }   // --jsonl alone: no CSV
        return URL(fileURLWithPath: path).standardizedFileURL
    }

    /// An image, or a folder of images, as one sequence (OpenFace's -fdir).
    func runImages(_ paths: [String], job: AUJob, csv: URL?) throws -> AUJob.Result {
        let first = try ImageIO.read(paths[0])
        let camera = Geometry3D.Camera.openFaceDefault(width: first.width, height: first.height)
        let recorder = try AURecorder(models: job.models, options: AURecorder.Options(camera: camera, online: job.online,
                                                                                      multiFace: job.multiFace), csv: csv)
        let source = try job.makeSource()
        var result = AUJob.Result()
        let start = ContinuousClock.now
        do {
            for (i, path) in paths.enumerated() {
                try Interrupt.check()
                let image = i == 0 ? first : try ImageIO.read(path)
                if let pfld = source as? PFLDLandmarkSource {
                    // Independent photos: detect in each, never track across them.
                    var timings = AnalysisTimings()
                    let faces = try pfld.analyzer.analyze(image, timings: &timings).enumerated().compactMap { k, face in
                        face.landmarks.map { AUFaceObservation(faceID: k, points: $0, confidence: Double(face.score)) }
                    }
                    try recorder.add(frame: image, index: i, timestamp: 0, faces: faces)
                } else if let clnf = source as? CLNFPersonSource {
                    try recorder.add(frame: image, index: i, timestamp: 0, faces: try clnf.photos.observations(image))
                } else {
                    try recorder.add(frame: image, index: i, timestamp: 0, faces: try source.observe(image, index: i))
                }
                result.frames += 1
            }
            result.persons = try recorder.finish()
        } catch {
            recorder.abandon()
            throw error
        }
        result.seconds = (ContinuousClock.now - start).seconds
        return result
    }

    func runFolder(_ folder: String, models: AUModels, root: URL, clnfModel: SharedCLNFModel, store: ModelStore, config: SessionConfig) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted().filter { !$0.hasPrefix(".") }
        let videos = names.filter(MediaKind.isVideo).map { folder + "/" + $0 }
        let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "bmp", "tif", "tiff", "webp", "ppm", "pgm"]
        let images = names.filter { imageExtensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }.map { folder + "/" + $0 }
        guard !videos.isEmpty || !images.isEmpty else {
            throw VisageError.invalidArgument("\(folder) has no videos or images")
        }
        let outDir = URL(fileURLWithPath: output ?? ".").standardizedFileURL
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: outDir.path, isDirectory: &isDir), isDir.boolValue else {
            throw VisageError.writeFailed(path: outDir.path, reason: "folder input writes one CSV per video into -o FOLDER, which must exist")
        }
        if !images.isEmpty {
            let job = makeJob(models: models, root: root, clnfModel: clnfModel, store: store, config: config, online: online, landmarkCSV: nil)
            let csv = outDir.appendingPathComponent(URL(fileURLWithPath: folder).lastPathComponent + ".csv")
            let result = try runImages(images, job: job, csv: csv)
            print("\(csv.path): \(result.frames) images")
        }
        // A bounded pool: each video has its own decode/landmark threads already.
        let workers = jobs > 0 ? jobs : max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = workers
        let failures = FolderFailures()
        for video in videos {
            // Each operation owns its job (own landmark fitters, detectors and state); only the read-only CLNF
            // model and its covariance cache are shared.
            nonisolated(unsafe) let job = makeJob(models: models, root: root, clnfModel: clnfModel, store: store, config: config, online: online, landmarkCSV: nil)
            let csv = outDir.appendingPathComponent(URL(fileURLWithPath: video).deletingPathExtension().lastPathComponent + ".csv")
            queue.addOperation {
                do {
                    let result = try job.runVideo(try VideoReader(path: video), csv: csv, progressLabel: nil)
                    print("\(csv.path): \(result.frames) frames, \(String(format: "%.1f", Double(result.frames) / max(result.seconds, 1e-9))) fps")
                } catch {
                    failures.add("\(video): \(error)")
                }
            }
        }
        queue.waitUntilAllOperationsAreFinished()
        try Interrupt.check()
        if !failures.all.isEmpty {
            throw VisageError.invalidArgument("\(failures.all.count) of \(videos.count) videos failed:\n  " + failures.all.joined(separator: "\n  "))
        }
    }

    func finish(_ result: AUJob.Result, csv: URL?, layout: OpenFaceCSVLayout) throws {
        let tracked = result.persons.map { $0.success.filter { $0 }.count }.reduce(0, +)
        if tracked == 0 {
            FileHandle.standardError.write(Data("visage: warning: no face found in any frame; rows have success = 0\n".utf8))
        }
        if jsonl { try printJSONLines(result.persons, layout: layout) }
        if let plot {
            let series = result.persons.map { person in
                AUPlot.Series(faceID: person.faceID, timestamps: person.timestamps,
                              intensities: layout.intensityNames.indices.map { k in person.intensities.map { $0[k] } },
                              success: person.success)
            }
            try ImageIO.write(AUPlot.render(names: layout.intensityNames, series: series), to: plot)
        }
        let fps = Double(result.frames) / max(result.seconds, 1e-9)
        let summary = "\(result.frames) frames, \(result.persons.count) face id\(result.persons.count == 1 ? "" : "s"), \(String(format: "%.1f", fps)) fps"
        if let csv { print("\(csv.path): \(summary)") } else if !jsonl { print(summary) }
        else { FileHandle.standardError.write(Data((summary + "\n").utf8)) }
    }

    func printJSONLines(_ persons: [AURecorder.PersonSeries], layout: OpenFaceCSVLayout) throws {
        var rows: [(frame: Int, face: Int, line: String)] = []
        for p in persons {
            for i in p.timestamps.indices {
                var fields = ["\"frame\":\(p.frames[i])", "\"face_id\":\(p.faceID)", "\"timestamp\":\(FixedDecimal.string(p.timestamps[i], decimals: 3))",
                              "\"success\":\(p.success[i] ? 1 : 0)"]
                for (k, name) in layout.intensityNames.enumerated() { fields.append("\"\(name)_r\":\(FixedDecimal.string(p.intensities[i][k], decimals: 2))") }
                for (k, name) in layout.presenceNames.enumerated() { fields.append("\"\(name)_c\":\(FixedDecimal.string(p.presences[i][k], decimals: 0))") }
                rows.append((p.frames[i], p.faceID, "{" + fields.joined(separator: ",") + "}"))
            }
        }
        rows.sort { ($0.frame, $0.face) < ($1.frame, $1.face) }
        FileHandle.standardOutput.write(Data(rows.map(\.line).joined(separator: "\n").utf8 + (rows.isEmpty ? [] : [10])))
    }
}

private final class FolderFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ m: String) { lock.lock(); messages.append(m); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return messages }
}
