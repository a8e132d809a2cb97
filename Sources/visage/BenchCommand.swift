import ArgumentParser
import Foundation
import VisageCore
import VisageFace
import VisageJobs

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Benchmarks with JSON output.",
                                                    subcommands: [BenchDetect.self, BenchAnalyze.self, BenchSwap.self, BenchEnhance.self, BenchAU.self, BenchLive.self, BenchEmbed.self])
}

struct BenchDetect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detect", abstract: "Time face detection per stage: warm-up, then N runs.")

    @Option(help: "Detector model id or .onnx path.") var model: String = DetectorFactory.defaultModel
    @Option(help: "Image to detect on (default: the bundled sample).") var image: String?
    @Option(parsing: .unconditional, help: "Timed runs.") var runs: Int = 50
    @Option(parsing: .unconditional, help: "Untimed warm-up runs.") var warmup: Int = 5
    @Option(parsing: .unconditional, help: "Detector input size (square).") var inputSize: Int = 640
    @Flag(help: "Print JSON on stdout.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    var job: BenchDetectJob {
        var job = BenchDetectJob()
        job.model = model
        job.image = image
        job.runs = runs
        job.warmup = warmup
        job.inputSize = inputSize
        return job
    }

    func validate() throws { try parseCheck { try job.validate() } }

    func run() throws {
        let context = try runtime.context()
        try CLIJob.prepare(job.requiredModels, context: context)
        let r = try job.run(in: context)
        if json { try Output.json(r); return }
        print("detect \(r.model) @ \(r.inputSize[0])x\(r.inputSize[1]) on \(URL(fileURLWithPath: r.image).lastPathComponent) (\(r.imageSize[0])x\(r.imageSize[1])), \(r.runs) runs after \(r.warmup) warm-up, \(r.accelerator)")
        print("  stage            min  median     p90  (ms)")
        for name in BenchDetectResult.stageOrder {
            guard let ms = r.stagesMs[name] else { continue }
            print("  " + name.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: " %7.2f %7.2f %7.2f", ms.min, ms.median, ms.p90))
        }
        print(String(format: "  %.1f FPS, %d faces, peak RSS %.0f MB", r.fps, r.faces, r.peakRSSMB))
    }
}

struct BenchAnalyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze", abstract: "Per-stage ms (detect, landmarks, align, embed, pose) for 1 and 5 faces at 640x480 and 1280x720.")

    @Option(parsing: .unconditional, help: "Timed runs per case.") var runs: Int = 20
    @Option(parsing: .unconditional, help: "Untimed warm-up runs per case.") var warmup: Int = 3
    @Flag(help: "Print JSON on stdout.") var json = false
    @Option(help: "Face detector model id or .onnx path.") var detector: String = DetectorFactory.defaultModel
    @Option(help: "Recognition model for embeddings.") var recognizer: String = FaceEmbedder.Profile.sface.modelID
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        var job = BenchAnalyzeJob()
        job.runs = runs
        job.warmup = warmup
        job.detector = detector
        job.recognizer = recognizer
        let context = try runtime.context()
        try CLIJob.prepare(job.requiredModels, context: context)
        let r = try job.run(in: context)
        if json { try Output.json(r); return }
        print("analyze: median ms per stage (\(runs) runs after \(warmup) warm-up)")
        print("  frame      faces  detect  landmarks  align   embed   pose    total")
        for c in r.cases {
            let m = c.medianMs
            print(String(format: "  %4dx%-4d  %d (%d)  %6.2f  %9.2f  %5.2f  %6.2f  %5.2f  %7.2f", c.width, c.height, c.faces, c.found,
                         m["detect"] ?? 0, m["landmarks"] ?? 0, m["align"] ?? 0, m["embed"] ?? 0, m["pose"] ?? 0, m["total"] ?? 0))
        }
    }
}

struct BenchSwap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swap",
        abstract: "Per-stage ms of the real swap path (the same engine and options as `visage swap`) on a synthetic frame: detect, landmarks, swap, paste-back, encode hand-off.")

    @OptionGroup var swapModels: SwapperOptions
    @Option(parsing: .unconditional, help: "Timed frames.") var runs: Int = 30
    @Option(parsing: .unconditional, help: "Untimed warm-up frames.") var warmup: Int = 3
    @Option(parsing: .unconditional, help: "Run the detector every N frames and track with landmarks in between, as `visage swap` does on videos.")
    var detectEvery: Int = 5
    @Option(parsing: .unconditional, help: "Longest side the detector sees (videos: 640 keeps detection cheap).") var detectorSide: Int = 640
    @Option(help: "Frame size, WIDTHxHEIGHT.") var size: String = "960x540"
    @Option(parsing: .unconditional, help: "Faces in the frame (all are swapped).") var faces: Int = 1
    @Option(parsing: .unconditional, help: "As `visage swap`: keep the target's mouth, 0 to 1.") var mouthMask: Float = 0
    @Option(parsing: .unconditional, help: "As `visage swap`: blend strength, 0 to 1.") var opacity: Float = 1
    @Flag(help: "As `visage swap`: inswapper colour correction.") var colorCorrection = false
    @Option(parsing: .unconditional, help: "As `visage swap`: sharpen, 0 to 1.") var sharpen: Float = 0
    @OptionGroup var enhance: EnhancerOptions
    @Flag(help: "Run the swap model converted to float16.") var fp16 = false
    @Flag(help: "Fresh tensors for every model run instead of bound, reused buffers (IO binding); also no CUDA graph.") var noIoBinding = false
    @Flag(help: "No CUDA graphs (on by default when the plan is CUDA and shapes are static).") var noCudaGraph = false
    @Flag(help: "Leave out the hand-off to the video encoder (also left out when ffmpeg is not on PATH).") var noEncode = false
    @Flag(help: "Print JSON on stdout.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        var job = BenchSwapJob()
        swapModels.apply(to: &job)
        job.runs = runs
        job.warmup = warmup
        job.detectEvery = detectEvery
        job.detectorSide = detectorSide
        (job.width, job.height) = try OptionRules.frameSize(size)
        job.faces = faces
        job.mouthMask = mouthMask
        job.opacity = opacity
        job.colorCorrection = colorCorrection
        job.sharpen = sharpen
        job.fp16 = fp16
        job.ioBinding = !noIoBinding
        job.cudaGraph = !noCudaGraph
        job.encode = !noEncode
        enhance.apply(to: &job)
        let context = try runtime.context(store: enhance.store)
        try CLIJob.prepare(job.requiredModels, context: context)
        let r = try job.run(in: context)
        if json { try Output.json(r); return }
        if let a = r.allocationsPerFrame { print("allocations per frame: \(String(format: "%.1f", a)) (io binding \(r.ioBinding ? "on" : "off"))") }
        print("swap (\(r.swapper)) \(r.frame[0])x\(r.frame[1]), \(r.faces) face\(r.faces == 1 ? "" : "s"), \(r.runs) frames, detection every \(r.detectEvery): ms per stage (median / mean)")
        for name in r.order {
            print("  " + name.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%8.2f %8.2f", r.medianMs[name] ?? 0, r.meanMs[name] ?? 0))
        }
        print(String(format: "  paste-back + mask + colour: %.2f ms (median)", r.pasteMaskColourMedianMs))
        print(String(format: "  outside the swap model: %.2f ms per frame (mean); end to end ≈ %.1f FPS", r.outsideSwapModelMeanMs, r.fps))
        print(String(format: "  source face and engine, once per run: %.1f ms", r.sourceOnceMs))
        if let e = r.enhancement { print("  " + e.summaryLine) }
    }
}

struct BenchAU: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "au",
        abstract: "Per-stage ms of the AU pipeline and end-to-end FPS: AU stage alone (landmarks given), single-threaded, all cores.")

    @Option(help: "Video to run (OpenFace's default.wmv is the reference clip).") var video: String
    @Option(help: "OpenFace CSV with the video's landmarks, to time the AU stage alone (as PyfaceAU's AU-stage figure is).") var landmarksFrom: String?
    @Option(help: "Landmark source for the end-to-end runs: clnf (OpenFace's, the default of `visage au`) or pfld.") var landmarks: AULandmarks = .clnf
    @Option(parsing: .unconditional, help: "Run the detector every N frames (pfld landmarks).") var detectEvery: Int = 5
    @Flag(help: "Print JSON on stdout.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        var job = BenchAUJob(video: video)
        job.landmarksFrom = landmarksFrom
        job.landmarks = landmarks
        job.detectEvery = detectEvery
        let context = try runtime.context()
        try CLIJob.prepare(job.requiredModels, context: context, banner: false)
        let r = try job.run(in: context)
        if json { try Output.json(r); return }
        for run in [r.auStageGivenLandmarks, r.singleThread, r.allCores].compactMap({ $0 }) {
            print("\(run.name): \(run.frames) frames, \(String(format: "%.1f", run.fps)) fps end to end; AU stage \(String(format: "%.3f", run.auStageMsPerFace)) ms/face (\(String(format: "%.0f", run.auStageFPS)) fps)")
            print("  ms per frame: " + run.order.map { "\($0) \(String(format: "%.3f", run.msPerFrame[$0] ?? 0))" }.joined(separator: ", "))
        }
    }
}

struct BenchEmbed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed", abstract: "Embeddings of every face of a photo: one face per model run against batches (ms per face, speed-up, largest difference).")

    @Option(help: "Photo with several faces.") var image: String
    @Option(help: "Recognition model.") var recognizer: String = FaceEmbedder.Profile.sface.modelID
    @Option(parsing: .unconditional, help: "Timed runs (each embeds every face both ways).") var runs: Int = 5
    @Option(parsing: .unconditional, help: "Untimed warm-up runs.") var warmup: Int = 1
    @Flag(help: "Print JSON on stdout.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        var job = BenchEmbedJob(image: image)
        job.recognizer = recognizer
        job.runs = runs
        job.warmup = warmup
        let context = try runtime.context()
        try CLIJob.prepare(job.requiredModels, context: context)
        let r = try job.run(in: context)
        if json { try Output.json(r); return }
        print("embed \(r.recognizer) on \(r.faces) faces of \(URL(fileURLWithPath: r.image).lastPathComponent), \(r.accelerator), batches of up to \(r.maxBatch)\(r.batches ? "" : " (model cannot batch)")")
        print(String(format: "  one at a time %.2f ms/face, batched %.2f ms/face: %.2fx (fastest runs: %.2f vs %.2f, %.2fx); largest difference %.1e",
                     r.singleMsPerFace, r.batchedMsPerFace, r.speedup, r.singleMinMsPerFace, r.batchedMinMsPerFace, r.speedupMin, r.maxAbsDifference))
    }
}
