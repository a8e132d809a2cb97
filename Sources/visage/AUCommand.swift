import ArgumentParser
import Foundation
import VisageAU
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

/// 68 landmarks from our detector + PFLD, with tracking between detections (the `--landmarks pfld`
/// seam; OpenFace's CLNF will plug in beside it).
final class PFLDLandmarkSource: AULandmarkSource {
    let name = "pfld"
    let analyzer: FaceAnalyzer
    var timings = AnalysisTimings()
    /// Multi-face: people, not tracks, get face_ids. A track that starts is matched to someone
    /// no longer visible, by identity (SFace) or, when motion blur spoils the embedding, by
    /// continuity (lost moments ago, close by); two tracks on one face are merged.
    private let embedder: FaceEmbedder?
    private var personOfTrack: [Int: Int] = [:]
    private struct Person { var id: Int; var embeddings: [[Float]]; var lastFrame: Int; var lastBox: Box }
    private var people: [Person] = []

    init(store: ModelStore, config: SessionConfig, detector: String, detectEvery: Int, maxInputSide: Int,
         reidentify: Bool = false) throws {
        let faceDetector = try DetectorFactory.make(model: detector, store: store, options: DetectionOptions(maxInputSide: maxInputSide),
                                                    config: config)
        let landmarker = try PFLDLandmarker.make(store: store, config: config)
        analyzer = try FaceAnalyzer(detector: faceDetector, landmarker: landmarker, embedder: nil,
                                    options: AnalysisOptions(landmarks: true, pose: false, embeddings: false, detectEvery: detectEvery))
        embedder = reidentify ? try FaceEmbedder.make(store: store, config: config) : nil
    }

    func observe(_ frame: Image, index: Int) throws -> [AUFaceObservation] {
        var faces = try analyzer.analyzeNext(frame, timings: &timings).faces.filter { $0.landmarks != nil }
        guard let embedder else {
            return faces.map { AUFaceObservation(faceID: $0.id ?? 0, points: $0.landmarks!, confidence: Double($0.score)) }
        }
        // Two tracks on one face (a drifting track and a fresh detection): keep the newer one,
        // under the older one's person.
        faces.sort { ($0.id ?? 0) > ($1.id ?? 0) }
        var kept: [AnalyzedFace] = []
        for face in faces {
            if let twin = kept.first(where: { Self.iou($0.box, face.box) > 0.3 }) {
                if let track = twin.id, let older = face.id, let person = personOfTrack[older], personOfTrack[track] == nil {
                    personOfTrack[track] = person
                }
                continue
            }
            kept.append(face)
        }
        var present = Set<Int>()
        for face in kept.sorted(by: { ($0.id ?? 0) < ($1.id ?? 0) }) where face.id.flatMap({ personOfTrack[$0] }) != nil {
            present.insert(personOfTrack[face.id!]!)
        }
        var result: [AUFaceObservation] = []
        for face in kept.sorted(by: { ($0.id ?? 0) < ($1.id ?? 0) }) {
            let track = face.id ?? 0
            let person = try personOfTrack[track] ?? assign(face, in: frame, index: index, embedder: embedder, taken: present)
            personOfTrack[track] = person
            present.insert(person)
            if let k = people.firstIndex(where: { $0.id == person }) { people[k].lastFrame = index; people[k].lastBox = face.box }
            result.append(AUFaceObservation(faceID: person, points: face.landmarks!, confidence: Double(face.score)))
        }
        return result
    }

    private func assign(_ face: AnalyzedFace, in frame: Image, index: Int, embedder: FaceEmbedder, taken: Set<Int>) throws -> Int {
        let embedding = try embedder.embed(frame, keypoints: face.keypoints)
        let absent = people.indices.filter { !taken.contains(people[$0].id) }
        let byIdentity = absent.map { k in (k, people[k].embeddings.map { FaceEmbedder.similarity(embedding, $0) }.max() ?? -1) }
            .max { $0.1 < $1.1 }
        if let (k, similarity) = byIdentity, similarity >= embedder.profile.threshold {
            people[k].embeddings.append(embedding)
            return people[k].id
        }
        let size = max(face.box.width, face.box.height)
        let nearby = absent.filter { index - people[$0].lastFrame <= 30 }
            .map { k in (k, Self.distance(people[k].lastBox, face.box)) }
            .filter { $0.1 <= 2.5 * size }
            .min { $0.1 < $1.1 }
        if let (k, _) = nearby {
            people[k].embeddings.append(embedding)
            return people[k].id
        }
        let id = (people.map(\.id).max() ?? -1) + 1
        people.append(Person(id: id, embeddings: [embedding], lastFrame: index, lastBox: face.box))
        return id
    }

    private static func iou(_ a: Box, _ b: Box) -> Float {
        let w = max(0, min(a.x2, b.x2) - max(a.x1, b.x1)), h = max(0, min(a.y2, b.y2) - max(a.y1, b.y1))
        let inter = w * h
        return inter / max(a.area + b.area - inter, 1e-6)
    }

    private static func distance(_ a: Box, _ b: Box) -> Float {
        let dx = (a.x1 + a.x2 - b.x1 - b.x2) / 2, dy = (a.y1 + a.y2 - b.y1 - b.y2) / 2
        return (dx * dx + dy * dy).squareRoot()
    }
}

/// Everything `visage au` and `visage bench au` need to run the AU stage on one input.
struct AUJob {
    let models: AUModels
    let makeSource: () throws -> AULandmarkSource
    let online: Bool
    let multiFace: Bool

    struct Result {
        var frames = 0
        var seconds = 0.0
        var persons: [AURecorder.PersonSeries] = []
        var times: [String: Double] = [:]
        var order: [String] = []
    }

    /// decode ∥ landmarks ∥ AU features + CSV, frames in order.
    func runVideo(_ reader: VideoReader, csv: URL?, pipelined: Bool = true, progressLabel: String?,
                  maxFrames: Int? = nil, onRecorder: ((AURecorder) -> Void)? = nil) throws -> Result {
        let camera = Geometry3D.Camera.openFaceDefault(width: reader.width, height: reader.height)
        let recorder = try AURecorder(models: models, options: AURecorder.Options(camera: camera, online: online, multiFace: multiFace), csv: csv)
        onRecorder?(recorder)
        let source = try makeSource()
        let landmarkTimes = StageTimes()
        let fps = reader.fps > 0 ? reader.fps : 30
        let start = ContinuousClock.now
        var next: () throws -> (Int, Image, [AUFaceObservation])?
        var index = 0
        var stop: () -> Void = {}
        if pipelined {
            let decoder = FramePrefetcher(reader)
            nonisolated(unsafe) let src = source
            nonisolated(unsafe) var counter = 0
            let stage = AsyncStage<(Int, Image, [AUFaceObservation])>(name: "visage.landmarks", depth: 3) {
                guard let frame = try decoder.next() else { return nil }
                defer { counter += 1 }
                if let maxFrames, counter >= maxFrames { return nil }
                let faces = try landmarkTimes.measure("landmarks") { try src.observe(frame, index: counter) }
                return (counter, frame, faces)
            }
            next = { try stage.next() }
            stop = { stage.stop(); decoder.stop() }
        } else {
            next = {
                guard maxFrames.map({ index < $0 }) ?? true, let frame = try landmarkTimes.measure("decode", { try reader.read() }) else { return nil }
                let faces = try landmarkTimes.measure("landmarks") { try source.observe(frame, index: index) }
                return (index, frame, faces)
            }
        }
        defer { stop() }
        let progress = progressLabel.map { Progress(total: maxFrames ?? reader.frameCount, label: $0) }
        var result = Result()
        do {
            while let (i, frame, faces) = try next() {
                try Interrupt.check()
                // OpenFace's timestamps for files are frame / fps; cameras get wall-clock time.
                let timestamp = reader.frameCount == 0 && reader.path.hasPrefix("camera")
                    ? (ContinuousClock.now - start).seconds : Double(i) / fps
                try recorder.add(frame: frame, index: i, timestamp: timestamp, faces: faces)
                index = i + 1
                result.frames += 1
                progress?.update(result.frames)
            }
            result.persons = try recorder.finish()
        } catch {
            recorder.abandon()
            throw error
        }
        progress?.done()
        result.seconds = (ContinuousClock.now - start).seconds
        if let pfld = source as? PFLDLandmarkSource {
            landmarkTimes.add("detect", pfld.timings.detect)
            landmarkTimes.add("pfld", pfld.timings.landmarks)
        }
        for (name, ms) in landmarkTimes.milliseconds { result.times[name] = ms; result.order.append(name) }
        for name in recorder.times.order { result.times[name] = recorder.times.milliseconds[name]; result.order.append(name) }
        return result
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

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

    @Option(help: "Landmark source: pfld (detector + PFLD) or clnf (OpenFace's own fitting; not ported yet).")
    var landmarks: String = "pfld"

    @Option(help: "Take the 68 landmarks from an OpenFace CSV (x_0..x_67, y_0..y_67) instead of detecting them.")
    var landmarksFrom: String?

    @Option(help: "Run the face detector every N frames and track with landmarks in between.")
    var detectEvery: Int = 5

    @Option(help: "Face detector model id.")
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
    }

    func run() throws {
        if runtime.verbose { VisageLog.setLevel(.debug) }
        if landmarks == "clnf" {
            throw VisageError.invalidArgument("--landmarks clnf (OpenFace's CLNF fitting) is not ported yet; use pfld or --landmarks-from an OpenFace CSV")
        }
        let store = ModelStore()
        let root = try AU.openFaceRoot(store: store)
        let models = try AUModels(root: root)
        let config = try runtime.sessionConfig()
        let log = VisageLog.logger("au")

        if let camera {
            let reader = try VideoReader(camera: camera)
            log.info("camera \(camera): \(reader.width)x\(reader.height) at \(reader.fps) fps (as the driver reports)")
            let csv = try outputURL(defaultName: "camera\(camera).csv")
            let job = makeJob(models: models, store: store, config: config, online: true, landmarkCSV: nil)
            let result = try job.runVideo(reader, csv: csv, progressLabel: "au", maxFrames: maxFrames)
            try finish(result, csv: csv, layout: models.layout)
            return
        }
        let path = input!
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw VisageError.fileNotFound(path: path) }
        if isDir.boolValue {
            try runFolder(path, models: models, store: store, config: config)
            return
        }
        let landmarkCSV = try landmarksFrom.map { try CSVLandmarkSource(contentsOf: $0) }
        let csv = try outputURL(defaultName: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent + ".csv")
        if let csv, csv.standardizedFileURL.path == URL(fileURLWithPath: path).standardizedFileURL.path {
            throw VisageError.invalidArgument("the output \(csv.path) is the input; choose another path")
        }
        let job = makeJob(models: models, store: store, config: config, online: online, landmarkCSV: landmarkCSV)
        let result: AUJob.Result
        if MediaKind.isVideo(path) {
            result = try job.runVideo(try VideoReader(path: path), csv: csv, progressLabel: "au")
        } else {
            result = try runImages([path], job: job, csv: csv)
        }
        try finish(result, csv: csv, layout: models.layout)
    }

    /// The installed OpenFace files (installing them from the mirror or OpenFace's repository
    /// when the licence has been accepted).
    static func openFaceRoot(store: ModelStore) throws -> URL {
        let entry = try ModelCatalog.entry("openface-2.2.0")
        if !store.isInstalled(entry) { try store.install(entry) }
        return store.directory(for: entry)
    }

    func makeJob(models: AUModels, store: ModelStore, config: SessionConfig, online: Bool, landmarkCSV: CSVLandmarkSource?) -> AUJob {
        let detector = self.detector, every = detectEvery, multi = multiFace
        return AUJob(models: models, makeSource: {
            if let landmarkCSV { return landmarkCSV }
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

    func runFolder(_ folder: String, models: AUModels, store: ModelStore, config: SessionConfig) throws {
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
            let job = makeJob(models: models, store: store, config: config, online: online, landmarkCSV: nil)
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
            // Each operation owns its job (own landmark models and state); nothing is shared between them.
            nonisolated(unsafe) let job = makeJob(models: models, store: store, config: config, online: online, landmarkCSV: nil)
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
