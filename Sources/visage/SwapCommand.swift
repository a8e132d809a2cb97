import ArgumentParser
import Foundation
import VisageFace
import VisageJobs
import VisageMedia

struct Swap: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put the face from a source photo onto the faces of a target image or video (audio kept).")

    @Option(name: [.short, .customLong("source")], help: "Photo with the face to use (optional with --map-faces).") var source: String?
    @Option(parsing: .unconditional, help: "Which face of the source photo (1-based, as `visage detect` lists them; default: the largest).") var sourceFace: Int?
    @Option(parsing: .upToNextOption, help: "SOURCE=REFERENCE pairs: target faces that look like the person in REFERENCE get the face from SOURCE (others are left alone).")
    var mapFaces: [String] = []
    @Option(name: [.short, .customLong("target")], help: "Image or video whose faces are replaced.") var target: String
    @Option(name: [.short, .customLong("output")], help: "Output file (.png/.jpg for images; .mp4, .mov, .mkv or .webm for videos).") var output: String
    @Flag(help: "Swap every face (default: the largest).") var manyFaces = false
    @Option(parsing: .unconditional, help: "Keep the target's mouth: 0 (off) to 1 (generous).") var mouthMask: Float = 0
    @Option(parsing: .unconditional, help: "Blend strength of the swapped face, 0 to 1.") var opacity: Float = 1
    @Flag(help: "Skip the LAB colour transfer (landmark swapper).") var noColorCorrection = false
    @Flag(help: "inswapper: match the swapped face's colours to the target face (LAB).") var colorCorrection = false
    @Option(parsing: .unconditional, help: "Sharpen the swapped face: 0 (off) to 1.") var sharpen: Float = 0
    @Flag(inversion: .prefixedNo, help: "Copy the target video's audio into the output.") var keepAudio = true
    @Flag(name: .customLong("no-audio"), help: "Write the video without sound (same as --no-keep-audio).") var noAudio = false
    @Flag(help: "Videos: also keep every swapped frame as a PNG in OUTPUT_frames/ (for editing or inspection).") var keepFrames = false
    @Flag(help: "Also draw a visible \"AI-altered\" mark (every output always carries a machine-readable synthetic-media label).")
    var watermark = false
    @Option(help: "FFmpeg video encoder: libx264, libx265, libvpx-vp9, h264_nvenc, hevc_videotoolbox, ...") var videoEncoder: String = "libx264"
    @Option(parsing: .unconditional, help: "Video quality, CRF-like: 0 (best) to 51.") var videoQuality: Int = 18
    @Option(parsing: .unconditional, help: "Videos: run the detector every N frames (1 to 100), track with landmarks in between.") var detectEvery: Int = 5
    @Option(help: "Face detector model id.") var detector: String = DetectorFactory.defaultModel
    @OptionGroup var swapModels: SwapperOptions
    @OptionGroup var enhance: EnhancerOptions
    @OptionGroup var runtime: RuntimeOptions

    var job: SwapJob {
        var job = SwapJob(source: source, target: target, output: output)
        job.mapFaces = mapFaces.compactMap { try? SwapJob.FacePair(parsing: $0) }
        job.sourceFace = sourceFace
        job.manyFaces = manyFaces
        job.mouthMask = mouthMask
        job.opacity = opacity
        job.colorTransfer = !noColorCorrection
        job.colorCorrection = colorCorrection
        job.sharpen = sharpen
        job.keepAudio = keepAudio && !noAudio
        job.keepFrames = keepFrames
        job.watermark = watermark
        job.videoEncoder = videoEncoder
        job.videoQuality = videoQuality
        job.detectEvery = detectEvery
        job.detector = detector
        swapModels.apply(to: &job)
        enhance.apply(to: &job)
        return job
    }

    func validate() throws {
        if source == nil && mapFaces.isEmpty { throw ValidationError("give a source face with -s or pairs with --map-faces SRC=REF") }
        try parseCheck {
            for pair in mapFaces { _ = try SwapJob.FacePair(parsing: pair) }
            try job.validateOptions()
        }
    }

    func run() throws {
        let result = try CLIJob.run(job, runtime: runtime, store: enhance.store)
        for made in result.sourceFaces { Output.faceChoice(made, option: "--source-face") }
        for warning in result.warnings { Output.warning(warning) }
        if MediaKind.isVideo(target) {
            print("\(output): \(result.frames) frames, faces swapped in \(result.swappedFrames)")
        } else {
            print("\(output): swapped \(result.swappedFaces) face\(result.swappedFaces == 1 ? "" : "s")")
        }
        if let e = result.enhancement { print(e.summaryLine) }
    }
}

/// `--swapper`, `--swap-model`, `--recognizer-model`: the swap method and, for inswapper, its two networks.
struct SwapperOptions: ParsableArguments {
    @Option(help: "landmark (no swap model, CPU real-time) or inswapper (insightface inswapper_128; needs inswapper-128 and arcface-w600k-r50).")
    var swapper: Swapper = .landmark
    @Option(help: "inswapper: path of the swap model instead of the installed inswapper-128.") var swapModel: String?
    @Option(help: "inswapper: path of the ArcFace model instead of the installed arcface-w600k-r50.") var recognizerModel: String?

    func apply<Job: SwapModelOptionsJob>(to job: inout Job) {
        job.swapper = swapper
        job.swapModel = swapModel
        job.recognizerModel = recognizerModel
    }
}
