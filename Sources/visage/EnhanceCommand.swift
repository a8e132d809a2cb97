import ArgumentParser
import Foundation
import VisageEnhance
import VisageFace
import VisageJobs
import VisageMedia
import VisageRuntime

/// `visage enhance`: options → `EnhanceJob` → one line (or JSON).
struct Enhance: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore the faces of a photo or a video with GFPGAN 1.4, GPEN-BFR or CodeFormer (videos keep their audio).")

    @Option(name: [.short, .customLong("input")], help: "Photo or video whose faces are restored.") var input: String
    @Option(name: [.short, .customLong("output")], help: "Output file (.png/.jpg for photos; .mp4, .mov, .mkv or .webm for videos).") var output: String
    @Option(help: "Enhancer model: \(EnhancerFactory.supportedModels.joined(separator: ", ")).") var model: String = EnhancerFactory.defaultModel
    @Option(help: "Path of the model file instead of the installed one.") var enhancerModel: String?
    @Option(help: "Which faces: all, largest, or a face number of a photo (1-based, as `visage detect` lists them).") var faces: String = "all"
    @Option(parsing: .unconditional, help: "How much of the restored face to keep, 0 to 1 (FaceFusion's default 0.8).") var enhanceBlend: Double = EnhancerSetup.defaultBlend
    @Option(parsing: .unconditional, help: "Videos: run the network every N frames (1 to 100) and move the restored face with the head in between (1: every frame).")
    var enhanceEvery: Int = EnhancerSetup.defaultEvery
    @Option(parsing: .unconditional, help: "Videos: also rerun the network when pose or expression moves more than this many pixels of a 512 crop (0: only every N frames).")
    var enhanceMotion: Double = EnhancerSetup.defaultMotion
    @Flag(inversion: .prefixedNo, help: "Copy the video's audio into the output.") var keepAudio = true
    @Option(help: "FFmpeg video encoder: libx264, libx265, libvpx-vp9, h264_nvenc, ...") var videoEncoder: String = "libx264"
    @Option(parsing: .unconditional, help: "Video quality, CRF-like: 0 (best) to 51.") var videoQuality: Int = 18
    @Option(parsing: .unconditional, help: "Videos: run the detector every N frames (1 to 100), track with landmarks in between.") var detectEvery: Int = 5
    @Option(help: "Face detector model id.") var detector: String = DetectorFactory.defaultModel
    @Flag(help: "Accept the model's licence (CodeFormer: S-Lab, non-commercial; or set VISAGE_ACCEPT_LICENSES=1).") var acceptLicense = false
    @Flag(help: "Print the result as JSON on stdout.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    var job: EnhanceJob {
        var job = EnhanceJob(input: input, output: output)
        job.model = model
        job.enhancerModel = enhancerModel
        job.faces = FaceSelection(faces) ?? .all
        job.blend = enhanceBlend
        job.every = enhanceEvery
        job.motion = enhanceMotion
        job.keepAudio = keepAudio
        job.videoEncoder = videoEncoder
        job.videoQuality = videoQuality
        job.detectEvery = detectEvery
        job.detector = detector
        return job
    }

    func validate() throws {
        if FaceSelection(faces) == nil { throw ValidationError("--faces is all, largest or a face number (got '\(faces)')") }
        try parseCheck { try job.validateOptions() }
    }

    func run() throws {
        let result = try CLIJob.run(job, runtime: runtime, store: EnhancerOptions.store(acceptLicense: acceptLicense))
        if json { try Output.json(result); return }
        for warning in result.warnings { Output.warning(warning) }
        print("\(output): \(result.enhancement.summaryLine)" + (result.frames > 1 ? " in \(result.frames) frames" : ""))
    }
}

/// `--enhancer` and its settings, shared by `visage swap` and `visage live`.
struct EnhancerOptions: ParsableArguments {
    @Option(help: "Restore the swapped faces after the swap: \(EnhancerFactory.supportedModels.joined(separator: ", ")) (default: none).")
    var enhancer: String?
    @Option(help: "Path of the enhancer model instead of the installed one.") var enhancerModel: String?
    @Option(parsing: .unconditional, help: "How much of the restored face to keep, 0 to 1.") var enhanceBlend: Double = EnhancerSetup.defaultBlend
    @Option(parsing: .unconditional, help: "Videos and live: run the enhancer every N frames (1 to 100) and move the restored face with the head in between.")
    var enhanceEvery: Int = EnhancerSetup.defaultEvery
    @Option(parsing: .unconditional, help: "Videos and live: also rerun it when pose or expression moves more than this many pixels of a 512 crop (0: off).")
    var enhanceMotion: Double = EnhancerSetup.defaultMotion
    @Flag(help: "Accept the enhancer model's licence (CodeFormer: S-Lab, non-commercial; or set VISAGE_ACCEPT_LICENSES=1).") var acceptLicense = false

    var store: ModelStore { Self.store(acceptLicense: acceptLicense) }

    static func store(acceptLicense: Bool) -> ModelStore {
        var store = ModelStore()
        if acceptLicense { store.acceptLicenses = true }
        return store
    }

    func apply<Job: EnhancerOptionsJob>(to job: inout Job) {
        job.enhancer = enhancer
        job.enhancerModel = enhancerModel
        job.enhanceBlend = enhanceBlend
        job.enhanceEvery = enhanceEvery
        job.enhanceMotion = enhanceMotion
    }
}

/// `visage bench enhance`: options → `BenchEnhanceJob` → a table (or JSON).
struct BenchEnhance: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enhance",
        abstract: "Per-stage ms of the face enhancer (align, model, paste-back, blend) on one face of a 960x540 frame, and the model's GFLOP/s.")

    @Option(help: "Enhancer model: \(EnhancerFactory.supportedModels.joined(separator: ", ")).") var model: String = EnhancerFactory.defaultModel
    @Option(help: "Path of the model file instead of the installed one.") var enhancerModel: String?
    @Option(help: "Photo with a face, scaled into the frame (default: the bundled sample).") var image: String?
    @Option(help: "Frame size, WIDTHxHEIGHT.") var size: String = "960x540"
    @Option(parsing: .unconditional, help: "Timed network runs (after one warm-up).") var runs: Int = 3
    @Option(parsing: .unconditional, help: "Timed paste-back + blend runs.") var compositeRuns: Int = 100
    @Option(parsing: .unconditional, help: "Blend with the original, 0 to 1.") var enhanceBlend: Double = EnhancerSetup.defaultBlend
    @Option(parsing: .unconditional, help: "OpenCV threads for align, paste-back and blend (1: one core).") var opencvThreads: Int = 1
    @Flag(help: "Accept the model's licence (CodeFormer).") var acceptLicense = false
    @Flag(help: "Print JSON on stdout.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    var job: BenchEnhanceJob {
        var job = BenchEnhanceJob()
        job.model = model
        job.enhancerModel = enhancerModel
        job.image = image
        if let dims = try? OptionRules.frameSize(size) { (job.width, job.height) = dims }
        job.runs = runs
        job.compositeRuns = compositeRuns
        job.blend = enhanceBlend
        job.openCVThreads = opencvThreads
        return job
    }

    func validate() throws {
        try parseCheck {
            _ = try OptionRules.frameSize(size)
            try job.validate()
        }
    }

    func run() throws {
        let job = self.job
        let context = try runtime.context(store: EnhancerOptions.store(acceptLicense: acceptLicense))
        try CLIJob.prepare(job.requiredModels, context: context)
        let r = try job.run(in: context)
        if json { try Output.json(r); return }
        let s = r.stages
        print("enhance \(s.modelID) on \(s.frameWidth)x\(s.frameHeight), face eyes \(String(format: "%.0f", s.eyeDistance)) px apart, \(r.accelerator); OpenCV on \(s.openCVThreads) thread(s)")
        print("  stage                  min  median     p90  (ms)")
        for (name, v) in [("align (CPU)", s.alignCPU), ("model (wall)", s.modelWall), ("model (process CPU)", s.modelProcessCPU),
                          ("paste-back (CPU)", s.pasteBackCPU), ("blend (CPU)", s.blendCPU), ("paste-back + blend (CPU)", s.compositeCPU),
                          ("paste-back + blend (wall)", s.compositeWall)] {
            print("  " + name.padding(toLength: 26, withPad: " ", startingAt: 0) + String(format: "%8.2f %8.2f %8.2f", v.min, v.median, v.p90))
        }
        if let g = s.gflop, let wall = s.gflopPerSecondWall, let cpu = s.gflopPerCPUSecond {
            print(String(format: "  model: %.1f GFLOP per run, %.1f GFLOP/s (wall), %.1f GFLOP per CPU-second", g, wall, cpu))
        }
    }
}
