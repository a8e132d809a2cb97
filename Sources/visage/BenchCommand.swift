import ArgumentParser
import Foundation
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime
import VisageSwap

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Benchmarks with JSON output.", subcommands: [BenchDetect.self, BenchAnalyze.self, BenchSwap.self, BenchAU.self, BenchLive.self])
}

struct BenchDetect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detect", abstract: "Time face detection per stage: warm-up, then N runs.")

    @Option(help: "Detector model id or .onnx path.")
    var model: String = DetectorFactory.defaultModel

    @Option(help: "Image to detect on (default: the bundled sample).")
    var image: String?

    @Option(help: "Timed runs.")
    var runs: Int = 50

    @Option(help: "Untimed warm-up runs.")
    var warmup: Int = 5

    @Option(help: "Detector input size (square).")
    var inputSize: Int = 640

    @Flag(help: "Print JSON on stdout.")
    var json = false

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard runs > 0, warmup >= 0 else { throw ValidationError("--runs must be > 0 and --warmup >= 0") }
    }

    func run() throws {
        let path = try image ?? SampleFiles.defaultImage()
        let frame = try ImageIO.read(path)
        let options = DetectionOptions(inputWidth: inputSize, inputHeight: inputSize)
        let detector = try DetectorFactory.make(model: model, options: options, config: runtime.sessionConfig())
        let plan = detector.session.plan
        Banner.print(plan: plan)
        let effective = detector.inputSize(forFrameWidth: frame.width, height: frame.height)
        for _ in 0..<warmup { _ = try detector.detectTimed(frame) }
        var pre: [Double] = [], inf: [Double] = [], post: [Double] = [], total: [Double] = []
        var faces = 0
        for _ in 0..<runs {
            let (found, t) = try detector.detectTimed(frame)
            pre.append(t.preprocess); inf.append(t.inference); post.append(t.postprocess); total.append(t.total)
            faces = found.count
        }
        let stages: [(String, [Double])] = [("preprocess", pre), ("inference", inf), ("postprocess", post), ("total", total)]
        let medianTotal = Stats.percentile(total, 50)
        let result: [String: Any] = [
            "benchmark": "detect", "model": detector.modelID, "image": path, "image_size": [frame.width, frame.height],
            "input_size": [effective.width, effective.height], "runs": runs, "warmup": warmup, "faces": faces,
            "accelerator": plan.summary, "threads": runtime.threads,
            "stages_ms": Dictionary(uniqueKeysWithValues: stages.map { name, values in
                (name, ["min": Stats.r(values.min()!), "median": Stats.r(Stats.percentile(values, 50)), "p90": Stats.r(Stats.percentile(values, 90))])
            }),
            "fps": Stats.r(1000 / medianTotal),
            "peak_rss_mb": Stats.r(Double(Platform.peakResidentBytes) / 1_048_576),
            "cpu": Platform.cpuModel, "cores": Platform.logicalCores,
        ]
        if json { try JSONOutput.print(result); return }
        print("detect \(detector.modelID) @ \(effective.width)x\(effective.height) on \(URL(fileURLWithPath: path).lastPathComponent) (\(frame.width)x\(frame.height)), \(runs) runs after \(warmup) warm-up, \(plan.summary)")
        print("  stage            min  median     p90  (ms)")
        for (name, values) in stages {
            let label = name.padding(toLength: 12, withPad: " ", startingAt: 0)
            print("  " + label + String(format: " %7.2f %7.2f %7.2f", values.min()!, Stats.percentile(values, 50), Stats.percentile(values, 90)))
        }
        print(String(format: "  %.1f FPS, %d faces, peak RSS %.0f MB", 1000 / medianTotal, faces, Double(Platform.peakResidentBytes) / 1_048_576))
    }
}

enum Stats {
    /// Nearest-rank percentile.
    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    static func r(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
}

enum SampleFiles {
    /// The bundled public-domain portraits.
    static func portraits() throws -> [String] {
        let first = try defaultImage()
        let dir = URL(fileURLWithPath: first).deletingLastPathComponent()
        return [first, dir.appendingPathComponent("biden.jpg").path].filter(FileManager.default.fileExists)
    }

    /// The bundled public-domain sample, found next to the executable's package checkout or the working directory.
    static func defaultImage() throws -> String {
        var candidates = [FileManager.default.currentDirectoryPath + "/Samples/obama.jpg"]
        var dir = URL(fileURLWithPath: Platform.executablePath).deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(dir.appendingPathComponent("Samples/obama.jpg").path)
            dir = dir.deletingLastPathComponent()
        }
        if let found = candidates.first(where: FileManager.default.fileExists) { return found }
        throw VisageError.invalidArgument("no sample image found; pass --image <file>")
    }
}

struct BenchAnalyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Per-stage ms (detect, landmarks, align, embed, pose) for 1 and 5 faces at 640x480 and 1280x720.")

    @Option(help: "Timed runs per case.") var runs: Int = 20
    @Option(help: "Untimed warm-up runs per case.") var warmup: Int = 3
    @Flag(help: "Print JSON on stdout.") var json = false
    @OptionGroup var models: AnalysisModelOptions
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard runs > 0, warmup >= 0 else { throw ValidationError("--runs must be > 0 and --warmup >= 0") }
    }

    func run() throws {
        let analyzer = try models.makeAnalyzer(options: AnalysisOptions(embeddings: true), runtime: runtime, identity: true)
        let portraits = try SampleFiles.portraits().map { try ImageIO.read($0) }
        var cases: [[String: Any]] = []
        if !json { print("analyze: median ms per stage (\(runs) runs after \(warmup) warm-up)") }
        if !json { print("  frame      faces  detect  landmarks  align   embed   pose    total") }
        for (width, height) in [(640, 480), (1280, 720)] {
            for faces in [1, 5] {
                let frame = try BenchFrames.grid(of: portraits, count: faces, width: width, height: height)
                for _ in 0..<warmup { var t = AnalysisTimings(); _ = try analyzer.analyze(frame, timings: &t) }
                var stages: [String: [Double]] = [:]
                var found = 0
                for _ in 0..<runs {
                    var t = AnalysisTimings()
                    found = try analyzer.analyze(frame, timings: &t).count
                    for (name, value) in [("detect", t.detect), ("landmarks", t.landmarks), ("align", t.align), ("embed", t.embed),
                                          ("pose", t.pose), ("total", t.detect + t.landmarks + t.align + t.embed + t.pose)] {
                        stages[name, default: []].append(value)
                    }
                }
                let medians = stages.mapValues { Stats.r(Stats.percentile($0, 50)) }
                cases.append(["width": width, "height": height, "faces": faces, "found": found, "median_ms": medians])
                if !json {
                    print(String(format: "  %4dx%-4d  %d (%d)  %6.2f  %9.2f  %5.2f  %6.2f  %5.2f  %7.2f", width, height, faces, found,
                                 medians["detect"]!, medians["landmarks"]!, medians["align"]!, medians["embed"]!, medians["pose"]!, medians["total"]!))
                }
            }
        }
        if json {
            try JSONOutput.print(["benchmark": "analyze", "detector": analyzer.detector.modelID, "recognizer": analyzer.embedder?.profile.modelID ?? "",
                                  "runs": runs, "cases": cases, "cpu": Platform.cpuModel, "cores": Platform.logicalCores,
                                  "peak_rss_mb": Stats.r(Double(Platform.peakResidentBytes) / 1_048_576)])
        }
    }
}

/// Synthetic benchmark frames: portraits tiled in a grid on a grey background.
enum BenchFrames {
    static func grid(of portraits: [Image], count: Int, width: Int, height: Int) throws -> Image {
        let frame = Image(width: width, height: height, channels: 3)
        frame.baseAddress.initializeMemory(as: UInt8.self, repeating: 96, count: frame.stride * height)
        let columns = count == 1 ? 1 : 3, rows = (count + columns - 1) / columns
        let cellW = width / columns, cellH = height / rows
        for i in 0..<count {
            let portrait = portraits[i % portraits.count]
            let scale = min(Double(cellW) / Double(portrait.width), Double(cellH) / Double(portrait.height))
            let w = max(1, Int(Double(portrait.width) * scale)), h = max(1, Int(Double(portrait.height) * scale))
            let x = (i % columns) * cellW + (cellW - w) / 2, y = (i / columns) * cellH + (cellH - h) / 2
            try ImageOps.resize(portrait, into: frame.region(x: x, y: y, width: w, height: h)!, interpolation: .area)
        }
        return frame
    }
}

struct BenchSwap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swap",
        abstract: "Per-stage ms of a 960x540 one-face frame through detect, landmarks, swap, paste-back and encode hand-off.")

    @OptionGroup var swapModels: SwapperOptions
    @Option(help: "Timed frames.") var runs: Int = 30
    @Option(help: "Untimed warm-up frames.") var warmup: Int = 3
    @Option(help: "Run the detector every N frames and track with landmarks in between, as `visage swap` does on videos.")
    var detectEvery: Int = 5
    @Option(help: "Longest side the detector sees (videos: 640 keeps detection cheap).") var detectorSide: Int = 640
    @Flag(help: "Print JSON on stdout.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        let config = try runtime.sessionConfig()
        let store = ModelStore()
        let detector = try DetectorFactory.make(model: DetectorFactory.defaultModel, store: store,
                                                options: DetectionOptions(maxInputSide: detectorSide), config: config)
        let landmarker = try PFLDLandmarker.make(store: store, config: config)
        let analyzer = try FaceAnalyzer(detector: detector, landmarker: landmarker, embedder: nil,
                                        options: AnalysisOptions(pose: false, detectEvery: detectEvery))
        let portraits = try SampleFiles.portraits().map { try ImageIO.read($0) }
        let source = portraits[0]
        let frame = try BenchFrames.grid(of: [portraits.count > 1 ? portraits[1] : portraits[0]], count: 1, width: 960, height: 540)
        guard let sourceFace = try detector.detect(source).first, let targetFace = try detector.detect(frame).first else {
            throw VisageError.invalidArgument("the bench frames have no face")
        }
        let sourceLandmarks = try landmarker.landmarks(in: source, boxes: [sourceFace.box])[0]
        var neural: (INSwapper, [Float])?
        var sourceEmbeddingMs = 0.0
        if let (model, arcface) = try swapModels.loadNetworks(store: store, config: config) {
            let once = StageTimes()
            // `visage swap` embeds each source face once per run; no frame pays for it again.
            let latent = try once.measure("embed") { try model.latent(for: try arcface.embed(source, keypoints: sourceFace.keypoints)) }
            sourceEmbeddingMs = once.milliseconds["embed"] ?? 0
            neural = (model, latent)
        }
        let landmarkSwapper = LandmarkSwapper()
        let encodePath = FileManager.default.temporaryDirectory.appendingPathComponent("visage-bench-swap-\(UUID().uuidString).mp4").path
        let writer = try VideoWriter(path: encodePath, width: frame.width, height: frame.height, fps: 30)
        defer { writer.cancel() }
        var stages: [String: [Double]] = [:]
        var order: [String] = []
        let times = StageTimes()
        for i in 0..<(warmup + runs) {
            let work = frame.copy()
            times.reset()
            var timings = AnalysisTimings()
            let analyzed = try analyzer.analyzeNext(work, timings: &timings).faces.first
            times.add("detect_track", timings.detect)
            times.add("landmarks", timings.landmarks)
            let face = analyzed.map { DetectedFace(box: $0.box, score: $0.score, keypoints: $0.keypoints) } ?? targetFace
            let landmarks = try analyzed?.landmarks ?? landmarker.landmarks(in: work, boxes: [face.box])[0]
            if let (model, latent) = neural {
                let swapped = try model.swapCrop(work, targetKeypoints: face.keypoints, latent: latent, times: times)
                try times.measure("colour") { try FaceRetouch.matchColour(of: swapped.crop, to: swapped.aligned) }
                try INSwapperPasteBack.paste(swapped.crop, into: work, transform: swapped.transform, times: times)
            } else {
                try landmarkSwapper.swap(source: source, sourceLandmarks: sourceLandmarks, into: work, targetLandmarks: landmarks, times: times)
            }
            try times.measure("encode_handoff") { try writer.write(work) }
            guard i >= warmup else { continue }
            for name in times.order {
                if stages[name] == nil { order.append(name) }
                stages[name, default: []].append(times.milliseconds[name]!)
            }
        }
        let medians = stages.mapValues { Stats.r(Stats.percentile($0, 50)) }
        // Means over the run: with detection every N frames the per-frame cost is an average, not a median.
        let means = stages.mapValues { Stats.r($0.reduce(0, +) / Double($0.count)) }
        let perFrame = means.values.reduce(0, +)
        // The swap itself: inswapper's network, or the landmark swapper's warp and Poisson blend.
        let modelStages: Set<String> = ["swap_model", "warp", "blend"]
        let outside = means.filter { !modelStages.contains($0.key) }.values.reduce(0, +)
        let pasteMaskColour = ["paste_back", "mask", "colour"].compactMap { medians[$0] }.reduce(0, +)
        if json {
            try JSONOutput.print(["benchmark": "swap", "swapper": swapModels.swapper, "frame": [960, 540], "runs": runs, "detect_every": detectEvery,
                                  "median_ms": medians, "mean_ms": means, "outside_swap_model_mean_ms": Stats.r(outside),
                                  "paste_mask_colour_median_ms": Stats.r(pasteMaskColour),
                                  "source_embedding_once_ms": Stats.r(sourceEmbeddingMs),
                                  "fps": Stats.r(1000 / perFrame), "cpu": Platform.cpuModel])
        } else {
            print("swap (\(swapModels.swapper)) 960x540, 1 face, \(runs) frames, detection every \(detectEvery): ms per stage (median / mean)")
            for name in order {
                print("  " + name.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%8.2f %8.2f", medians[name]!, means[name]!))
            }
            print(String(format: "  paste-back + mask + colour: %.2f ms (median)", pasteMaskColour))
            print(String(format: "  outside the swap model: %.2f ms per frame (mean); end to end ≈ %.1f FPS", outside, 1000 / perFrame))
            if neural != nil { print(String(format: "  source embedding, once per run (first call): %.1f ms", sourceEmbeddingMs)) }
        }
    }
}
