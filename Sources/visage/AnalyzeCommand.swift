import ArgumentParser
import Foundation
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

/// Options shared by commands that run the analysis models.
struct AnalysisModelOptions: ParsableArguments {
    @Option(help: "Face detector model id or .onnx path.")
    var detector: String = DetectorFactory.defaultModel

    @Option(help: "Recognition model for embeddings: sface-2021dec-int8bq or arcface-w600k-r50.")
    var recognizer: String = FaceEmbedder.Profile.sface.modelID

    func makeAnalyzer(options: AnalysisOptions, runtime: RuntimeOptions, identity: Bool) throws -> FaceAnalyzer {
        let config = try runtime.sessionConfig()
        let store = ModelStore()
        let detector = try DetectorFactory.make(model: detector, store: store, config: config)
        Banner.print(plan: detector.session.plan)
        let landmarker = options.landmarks || options.pose ? try PFLDLandmarker.make(store: store, config: config) : nil
        let embedder = identity ? try FaceEmbedder.make(model: recognizer, store: store, config: config) : nil
        let analyzer = try FaceAnalyzer(detector: detector, landmarker: landmarker, embedder: embedder, options: options)
        // insightface's 106-point model joins in when the user installed it (non-commercial weights).
        if let entry = try? ModelCatalog.entry("insightface-2d106det"), store.isInstalled(entry) {
            analyzer.landmarker106 = try Insightface106Landmarker(modelPath: store.location(of: entry.primaryFile, in: entry).path, config: config)
        }
        return analyzer
    }
}

enum MediaKind {
    static let videoExtensions: Set<String> = ["mp4", "mov", "avi", "wmv", "mkv", "webm", "m4v", "mpg", "mpeg", "flv"]
    static func isVideo(_ path: String) -> Bool { videoExtensions.contains(URL(fileURLWithPath: path).pathExtension.lowercased()) }
}

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per face: id, box, score, 5 keypoints, 68 landmarks, head pose, optional identity embedding — for an image or a video.")

    @Argument(help: "An image or a video file.")
    var input: String

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    @Flag(help: "Print one JSON line per frame (videos) on stdout, plus track start/end events.")
    var jsonl = false

    @Option(help: "Write an annotated copy: .png/.jpg for images, .mp4 for videos (audio kept).")
    var draw: String?

    @Flag(help: "Include identity embeddings.")
    var embeddings = false

    @Option(help: "Videos: run the detector every N frames, track with landmarks in between.")
    var detectEvery: Int = 5

    @Option(help: "Videos: frames a face may go undetected before its track ends.")
    var maxLost: Int = 15

    @Option(help: "Videos: stop after this many frames (0: all).")
    var maxFrames: Int = 0

    @OptionGroup var models: AnalysisModelOptions
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if json && jsonl { throw ValidationError("choose --json or --jsonl") }
        guard detectEvery >= 1, maxLost >= 0, maxFrames >= 0 else { throw ValidationError("--detect-every ≥ 1, --max-lost ≥ 0, --max-frames ≥ 0") }
    }

    func run() throws {
        if runtime.verbose { VisageLog.setLevel(.debug) }
        try ImageIO.checkReadableFile(input)
        let video = MediaKind.isVideo(input)
        if let draw {
            let ext = URL(fileURLWithPath: draw).pathExtension.lowercased()
            if video && ext != "mp4" && ext != "mov" { throw VisageError.invalidArgument("--draw for a video must be an .mp4 or .mov file") }
            if !video && MediaKind.isVideo(draw) { throw VisageError.invalidArgument("--draw for an image must be an image file (.png/.jpg)") }
        }
        let options = AnalysisOptions(embeddings: embeddings, detectEvery: detectEvery, maxLost: maxLost)
        if video { try analyzeVideo(options) } else { try analyzeImage(options) }
    }

    private func analyzeImage(_ options: AnalysisOptions) throws {
        let image = try ImageIO.read(input)
        let analyzer = try models.makeAnalyzer(options: options, runtime: runtime, identity: embeddings)
        var timings = AnalysisTimings()
        let faces = try analyzer.analyze(image, timings: &timings)
        if json || jsonl {
            try JSONOutput.print(["input": input, "width": image.width, "height": image.height, "faces": faces.map(FaceJSON.encode)])
        } else {
            print("\(input): \(faces.count) face\(faces.count == 1 ? "" : "s")")
            for (i, face) in faces.enumerated() { print("  #\(i + 1) " + FaceJSON.summary(face)) }
        }
        if let draw {
            let annotated = image.copy()
            AnalysisDrawing.draw(faces, on: annotated)
            try ImageIO.write(annotated, to: draw)
            if !json && !jsonl { print("wrote \(draw)") }
        }
    }

    private func analyzeVideo(_ options: AnalysisOptions) throws {
        let reader = try VideoReader(path: input)
        let analyzer = try models.makeAnalyzer(options: options, runtime: runtime, identity: true)
        let writer = try draw.map { try VideoWriter(path: $0, width: reader.width, height: reader.height, fps: reader.fps > 0 ? reader.fps : 25, audioFrom: input) }
        var frames: [[String: Any]] = [], events: [[String: Any]] = []
        var timings = AnalysisTimings()
        var index = 0, ids = Set<Int>()
        let progress = Progress(total: maxFrames > 0 ? min(maxFrames, reader.frameCount) : reader.frameCount, label: "analyze")
        do {
            while maxFrames == 0 || index < maxFrames, let frame = try reader.read() {
                try Interrupt.check()
                let (faces, frameEvents) = try analyzer.analyzeNext(frame, timings: &timings)
                faces.compactMap(\.id).forEach { ids.insert($0) }
                let record: [String: Any] = ["frame": index, "time": reader.fps > 0 ? Double(index) / reader.fps : 0, "faces": faces.map(FaceJSON.encode)]
                let eventRecords = frameEvents.map(FaceJSON.encode)
                if jsonl {
                    try JSONOutput.printLine(record)
                    for e in eventRecords { try JSONOutput.printLine(e) }
                } else if json {
                    frames.append(record)
                    events += eventRecords
                }
                if let writer {
                    let annotated = frame.copy()
                    AnalysisDrawing.draw(faces, on: annotated)
                    try writer.write(annotated)
                }
                index += 1
                progress.update(index)
            }
            let last = analyzer.finish().map(FaceJSON.encode)
            if jsonl { for e in last { try JSONOutput.printLine(e) } } else { events += last }
            try writer?.finish()
        } catch {
            writer?.cancel()
            throw error
        }
        progress.done()
        if json {
            try JSONOutput.print(["input": input, "width": reader.width, "height": reader.height, "fps": reader.fps,
                                  "frames": frames, "events": events, "tracks": ids.count])
        } else if !jsonl {
            print("\(input): \(index) frames, \(ids.count) track\(ids.count == 1 ? "" : "s")")
            for e in events { print("  \(e["event"]!) track \(e["id"]!) at frame \(e["frame"]!)") }
            if let draw { print("wrote \(draw)") }
        }
    }
}

/// Progress on stderr for long work, at most a few times a second.
final class Progress {
    let total: Int
    let label: String
    private let start = Date()
    private var last = Date.distantPast
    private let interactive = isatty(STDERR_FILENO) != 0

    init(total: Int, label: String) { self.total = total; self.label = label }

    func update(_ done: Int) {
        let now = Date()
        guard now.timeIntervalSince(last) > (interactive ? 0.25 : 5) else { return }
        last = now
        let fps = Double(done) / max(now.timeIntervalSince(start), 1e-3)
        let part = total > 0 ? String(format: " / %d (%.0f%%)", total, 100 * Double(done) / Double(total)) : ""
        let line = String(format: "%@: frame %d%@, %.1f fps", label, done, part, fps)
        FileHandle.standardError.write(Data(((interactive ? "\r" : "") + line + (interactive ? "" : "\n")).utf8))
    }

    func done() { if interactive { FileHandle.standardError.write(Data("\n".utf8)) } }
}

enum FaceJSON {
    static func encode(_ face: AnalyzedFace) -> [String: Any] {
        var out: [String: Any] = [
            "box": [face.box.x1, face.box.y1, face.box.x2, face.box.y2].map { JSONOutput.round($0) },
            "score": JSONOutput.round(face.score, 4),
            "kps": face.keypoints.map { [JSONOutput.round($0.x), JSONOutput.round($0.y)] },
        ]
        if let id = face.id { out["id"] = id; out["tracked"] = face.tracked }
        if let l = face.landmarks { out["landmarks"] = l.map { [JSONOutput.round($0.x), JSONOutput.round($0.y)] } }
        if let l = face.landmarks106 { out["landmarks_106"] = l.map { [JSONOutput.round($0.x), JSONOutput.round($0.y)] } }
        if let p = face.pose {
            out["pose"] = ["yaw": JSONOutput.round(p.yaw), "pitch": JSONOutput.round(p.pitch), "roll": JSONOutput.round(p.roll),
                           "translation_mm": p.translation.map { JSONOutput.round($0, 1) }]
        }
        if let e = face.embedding { out["embedding"] = e.map { JSONOutput.round($0, 6) } }
        return out
    }

    static func encode(_ event: FaceTracker.Event) -> [String: Any] {
        switch event {
        case .started(let id, let frame): return ["event": "track_start", "id": id, "frame": frame]
        case .ended(let id, let frame, let lastSeen): return ["event": "track_end", "id": id, "frame": frame, "last_seen": lastSeen]
        }
    }

    static func summary(_ face: AnalyzedFace) -> String {
        var text = String(format: "score %.3f box (%.0f, %.0f)-(%.0f, %.0f)", face.score, face.box.x1, face.box.y1, face.box.x2, face.box.y2)
        if let p = face.pose { text += String(format: " yaw %.1f° pitch %.1f° roll %.1f°", p.yaw, p.pitch, p.roll) }
        if let l = face.landmarks { text += " \(l.count) landmarks" }
        if let e = face.embedding { text += " embedding[\(e.count)]" }
        return text
    }
}

enum AnalysisDrawing {
    static func draw(_ faces: [AnalyzedFace], on image: Image) {
        let thickness = max(1, min(image.width, image.height) / 400)
        for face in faces {
            Drawing.rectangle(image, face.box, color: face.tracked ? .cyan : .green, thickness: thickness)
            for p in face.landmarks ?? [] { Drawing.circle(image, p, radius: thickness, color: .yellow) }
            var label = face.id.map { "#\($0)" } ?? String(format: "%.2f", face.score)
            if let pose = face.pose { label += String(format: " y%.0f p%.0f r%.0f", pose.yaw, pose.pitch, pose.roll) }
            Drawing.text(image, label, at: Point(face.box.x1, max(12, face.box.y1 - 4)), scale: 0.4 * Double(thickness + 1),
                         color: .green, thickness: thickness)
        }
    }
}
