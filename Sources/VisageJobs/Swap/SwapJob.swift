import Foundation
import VisageCore
import VisageEnhance
import VisageFace
import VisageMedia
import VisageRuntime
import VisageSwap

/// The face swap methods.
public enum Swapper: String, Sendable, Codable, CaseIterable {
    /// Landmark warp: no swap model, real time on a CPU.
    case landmark
    /// insightface's inswapper_128 with its ArcFace recogniser.
    case inswapper
}

/// Put the face from a source photo onto the faces of a target image or video (audio kept), or, with
/// `mapFaces`, each source onto the target faces that look like its reference photo.
public struct SwapJob: VisageJob {
    public static let kind = JobKind.swap

    /// One `--map-faces SOURCE=REFERENCE` pair.
    public struct FacePair: Codable, Sendable, Equatable {
        public var source: String
        public var reference: String
        public init(source: String, reference: String) { self.source = source; self.reference = reference }

        /// "SOURCE=REFERENCE", as the command line writes a pair.
        public init(parsing text: String) throws {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw VisageError.invalidArgument("map-faces takes SOURCE=REFERENCE pairs (got '\(text)')")
            }
            self.init(source: parts[0], reference: parts[1])
        }
    }

    public var source: String?
    public var mapFaces: [FacePair] = []
    public var target: String
    public var output: String
    /// Which face of the source photo (1-based); nil: the largest.
    public var sourceFace: Int?
    public var manyFaces = false
    public var mouthMask: Float = 0
    public var opacity: Float = 1
    /// Landmark swapper: LAB colour transfer.
    public var colorTransfer = true
    /// inswapper: match the swapped face's colours to the target's.
    public var colorCorrection = false
    public var sharpen: Float = 0
    public var keepAudio = true
    /// Videos: also keep every swapped frame as a PNG in OUTPUT_frames/.
    public var keepFrames = false
    /// A visible "AI-altered" mark besides the machine-readable label.
    public var watermark = false
    public var videoEncoder = "libx264"
    public var videoQuality = 18
    public var detectEvery = 5
    public var detector = DetectorFactory.defaultModel
    public var swapper = Swapper.landmark
    /// inswapper: model paths instead of the installed inswapper-128 / arcface-w600k-r50.
    public var swapModel: String?
    /// float16 use of the swap model alone (`visage bench swap --fp16`); nil: as the session config says.
    /// Not part of the job's JSON.
    public var swapModelFloat16: ModelOptimizationRequest.Float16Use?
    public var recognizerModel: String?
    /// A face enhancer run on the swapped faces after their paste-back, as Deep-Live-Cam does (nil: none,
    /// and the output is what it was before enhancers existed).
    public var enhancer: String?
    /// The enhancer's model file instead of the installed one.
    public var enhancerModel: String?
    public var enhanceBlend = EnhancerSetup.defaultBlend
    /// Videos: the temporal cache's key-frame interval (1: the network on every frame).
    public var enhanceEvery = EnhancerSetup.defaultEvery
    /// Videos: a key frame also when a face moves more than this (pixels of a 512 crop; 0: off).
    public var enhanceMotion = EnhancerSetup.defaultMotion

    public init(source: String?, target: String, output: String) {
        self.source = source
        self.target = target
        self.output = output
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case source, target, output, opacity, sharpen, watermark, detector, swapper
        case mapFaces = "map-faces", sourceFace = "source-face", manyFaces = "many-faces", mouthMask = "mouth-mask"
        case colorTransfer = "color-transfer", colorCorrection = "color-correction", keepAudio = "keep-audio"
        case keepFrames = "keep-frames", videoEncoder = "video-encoder", videoQuality = "video-quality"
        case detectEvery = "detect-every", swapModel = "swap-model", recognizerModel = "recognizer-model"
        case enhancer, enhancerModel = "enhancer-model", enhanceBlend = "enhance-blend", enhanceEvery = "enhance-every"
        case enhanceMotion = "enhance-motion"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(source: try c.decodeIfPresent(String.self, forKey: .source), target: try c.decode(String.self, forKey: .target),
                  output: try c.decode(String.self, forKey: .output))
        mapFaces = try c.decodeIfPresent([FacePair].self, forKey: .mapFaces) ?? []
        sourceFace = try c.decodeIfPresent(Int.self, forKey: .sourceFace)
        manyFaces = try c.decodeIfPresent(Bool.self, forKey: .manyFaces) ?? false
        mouthMask = try c.decodeIfPresent(Float.self, forKey: .mouthMask) ?? 0
        opacity = try c.decodeIfPresent(Float.self, forKey: .opacity) ?? 1
        colorTransfer = try c.decodeIfPresent(Bool.self, forKey: .colorTransfer) ?? true
        colorCorrection = try c.decodeIfPresent(Bool.self, forKey: .colorCorrection) ?? false
        sharpen = try c.decodeIfPresent(Float.self, forKey: .sharpen) ?? 0
        keepAudio = try c.decodeIfPresent(Bool.self, forKey: .keepAudio) ?? true
        keepFrames = try c.decodeIfPresent(Bool.self, forKey: .keepFrames) ?? false
        watermark = try c.decodeIfPresent(Bool.self, forKey: .watermark) ?? false
        videoEncoder = try c.decodeIfPresent(String.self, forKey: .videoEncoder) ?? "libx264"
        videoQuality = try c.decodeIfPresent(Int.self, forKey: .videoQuality) ?? 18
        detectEvery = try c.decodeIfPresent(Int.self, forKey: .detectEvery) ?? 5
        detector = try c.decodeIfPresent(String.self, forKey: .detector) ?? DetectorFactory.defaultModel
        swapper = try c.decodeIfPresent(Swapper.self, forKey: .swapper) ?? .landmark
        swapModel = try c.decodeIfPresent(String.self, forKey: .swapModel)
        recognizerModel = try c.decodeIfPresent(String.self, forKey: .recognizerModel)
        enhancer = try c.decodeIfPresent(String.self, forKey: .enhancer)
        enhancerModel = try c.decodeIfPresent(String.self, forKey: .enhancerModel)
        enhanceBlend = try c.decodeIfPresent(Double.self, forKey: .enhanceBlend) ?? EnhancerSetup.defaultBlend
        enhanceEvery = try c.decodeIfPresent(Int.self, forKey: .enhanceEvery) ?? EnhancerSetup.defaultEvery
        enhanceMotion = try c.decodeIfPresent(Double.self, forKey: .enhanceMotion) ?? EnhancerSetup.defaultMotion
    }


    var isVideo: Bool { MediaKind.isVideo(target) }

    /// Every file the job reads.
    public var inputs: [String] { [source].compactMap { $0 } + mapFaces.flatMap { [$0.source, $0.reference] } + [target] }

    public var requiredModels: [String] {
        var ids = FacePipeline.requiredModels(detector: detector, identity: mapFaces.isEmpty ? nil : FaceEmbedder.Profile.sface.modelID)
        if swapper == .inswapper {
            if swapModel == nil { ids.append("inswapper-128") }
            if recognizerModel == nil { ids.append("arcface-w600k-r50") }
        }
        if let enhancerSetup { ids += enhancerSetup.requiredModels }
        return ids
    }

    public var engineOptions: FaceSwapEngine.Options {
        FaceSwapEngine.Options(mouthMask: mouthMask, opacity: opacity, colorTransfer: colorTransfer, colorCorrection: colorCorrection,
                               sharpen: sharpen)
    }

    /// Everything knowable before the models load: options in range, inputs readable, the output writable,
    /// of the target's kind, and not one of the inputs.
    public func validateOptions() throws {
        if source == nil && mapFaces.isEmpty { throw VisageError.invalidArgument("give a source face, or source=reference pairs to map faces") }
        try OptionRules.check("mouth-mask", mouthMask, in: OptionRules.unit)
        try OptionRules.check("opacity", opacity, in: OptionRules.unit)
        try OptionRules.check("sharpen", sharpen, in: OptionRules.unit)
        try OptionRules.check("video-quality", videoQuality, in: OptionRules.videoQuality)
        try OptionRules.check("detect-every", detectEvery, in: OptionRules.detectEvery)
        if let sourceFace { try OptionRules.check("source-face", sourceFace, in: 1...10_000) }
        // The enhancer's ranges are checked even without an enhancer: a value out of range is a mistake either way.
        try EnhancerSetup.checkRanges(blend: enhanceBlend, every: enhanceEvery, motion: enhanceMotion)
        try enhancerSetup?.validateOptions()
        if enhancer == nil && enhancerModel != nil {
            throw VisageError.invalidArgument("enhancer-model needs an enhancer (e.g. enhancer gfpgan-1.4)")
        }
    }

    public func validate() throws {
        try validateOptions()
        for path in inputs + [swapModel, recognizerModel, enhancerModel].compactMap({ $0 }) { try ImageIO.checkReadableFile(path) }
        let outputKind: OutputCheck.Kind = isVideo ? .video : .image
        if isVideo != MediaKind.isVideo(output) {
            throw VisageError.invalidArgument(isVideo ? "the target is a video: the output must be a video file (.mp4, .mov, .mkv, .webm)"
                                                      : "the target is an image: the output must be an image file")
        }
        try OutputCheck.validate(output, kind: outputKind, inputs: inputs)
    }

    public func run(in context: JobContext) throws -> SwapResult {
        try validate()
        let pipeline = FacePipeline(context: context)
        let detection = isVideo ? DetectionOptions(maxInputSide: FacePipeline.videoDetectorSide) : DetectionOptions()
        let analyzer = try pipeline.analyzer(detector: detector, detection: detection,
                                             options: AnalysisOptions(landmarks: true, pose: false, embeddings: false, detectEvery: detectEvery))
        let assignment = try makeAssignment(analyzer: analyzer, pipeline: pipeline, context: context)
        var result = SwapResult(output: output, sourceFaces: assignment.sources.map(\.choice))
        result.accelerator = analyzer.detector.session.plan
        result.enhancement = enhancerSetup.map { EnhancementSummary(model: $0.model) }
        if isVideo {
            try swapVideo(analyzer: analyzer, assignment: assignment, context: context, result: &result)
        } else {
            let engine = try enhancerSetup?.engine(context: context)
            let frame = try ImageIO.read(target)
            var timings = AnalysisTimings()
            let faces = try analyzer.analyze(frame, timings: &timings)
            let swapped = try assignment.swapFaces(faces, in: frame)
            result.swappedFaces = swapped.count
            if let engine {
                // Only the swapped faces, after the swap's paste-back, at the target's keypoints (where the swap put them).
                let token = context.cancellation
                let report = try engine.enhance(frame, faces: EnhancerSetup.faces(swapped), shouldStop: { token.isCancelled })
                result.enhancement?.add(report)
                for skip in report.skipped { result.warnings.append("swapped face \(skip.index + 1) was not enhanced: \(skip.reason)") }
            }
            result.frames = 1
            result.swappedFrames = result.swappedFaces > 0 ? 1 : 0
            if watermark { SyntheticMediaMark.draw(on: frame) }
            try context.cancellation.check()
            try ImageIO.writeLabelled(frame, to: output, operation: "face swap")
            if result.swappedFaces == 0 { result.warnings.append(noSwapWarning(faces: faces.count, assignment: assignment, video: false)) }
        }
        return result
    }

    /// The sources (each with its engine) and the rule that gives them target faces.
    func makeAssignment(analyzer: FaceAnalyzer, pipeline: FacePipeline, context: JobContext) throws -> SwapAssignment {
        // Source and reference photos go through the target's analyzer as still images (no tracking), so a
        // video's sources are found with the same detector settings as its frames.
        let still = analyzer
        let neural = try loadNetworks(context: context)
        let pairs = mapFaces.isEmpty ? [FacePair(source: source!, reference: "")] : mapFaces
        var sources: [SwapSource] = []
        for pair in pairs {
            try context.cancellation.check()
            sources.append(try SwapSource(path: pair.source, photo: try ImageIO.read(pair.source), analyzer: still,
                                          choice: FaceChoice(number: mapFaces.isEmpty ? sourceFace : nil), options: engineOptions,
                                          inswapper: neural?.0, embedder: neural?.1))
        }
        guard !mapFaces.isEmpty else { return SwapAssignment(sources: sources, rule: manyFaces ? .everyFace : .largestFace) }
        // --map-faces: who is who in the target is decided by SFace similarity to the reference photos.
        let recognizer = try pipeline.embedder()
        for (i, pair) in mapFaces.enumerated() {
            let photo = try ImageIO.read(pair.reference)
            var timings = AnalysisTimings()
            let faces = try still.analyze(photo, timings: &timings)
            let (face, _) = try FaceChoice().pick(faces, box: \.box, in: pair.reference)
            sources[i].reference = try recognizer.embed(photo, keypoints: face.keypoints)
        }
        return SwapAssignment(sources: sources, rule: .byReference(recognizer))
    }

    /// inswapper_128 and its ArcFace recogniser (nil for the landmark swapper), loaded once per process.
    func loadNetworks(context: JobContext) throws -> (INSwapper, FaceEmbedder)? {
        guard swapper == .inswapper else { return nil }
        let session = ModelRegistry.sessionKey(context.session)
        let modelPath = try swapModel ?? context.store.path(for: "inswapper-128")
        let arcfacePath = try recognizerModel ?? context.store.path(for: "arcface-w600k-r50")
        for path in [swapModel, recognizerModel].compactMap({ $0 }) { try ImageIO.checkReadableFile(path) }
        var swapConfig = context.session
        if let precision = swapModelFloat16 { swapConfig.modelOptimization.float16 = precision }
        let model = try context.models.shared("inswapper/\(modelPath)/\(ModelRegistry.sessionKey(swapConfig))") {
            try INSwapper(modelPath: modelPath, config: swapConfig)
        }
        let arcface = try context.models.shared("arcface/\(arcfacePath)/\(session)") {
            try FaceEmbedder(profile: .arcface, modelPath: arcfacePath, config: context.session, derivedModels: context.store.derivedDirectory)
        }
        return (model, arcface)
    }

    private func noSwapWarning(faces: Int, assignment: SwapAssignment, video: Bool) -> String {
        if faces > 0, case .byReference = assignment.rule {
            return "no face in \(target) matched the reference photo\(mapFaces.count == 1 ? "" : "s"); the output is an unchanged copy"
        }
        return video ? "no face found in \(target); the video was copied through unchanged"
                     : "no face in \(target); the output is an unchanged copy"
    }

    /// decode ∥ detect/track ∥ swap ∥ encode: each on its own thread with a short queue, so frame N+1 is
    /// detected while frame N is swapped and frame N-1 is encoded.
    private func swapVideo(analyzer: FaceAnalyzer, assignment: SwapAssignment, context: JobContext, result: inout SwapResult) throws {
        let pass = FaceVideoPass(input: target, output: output, videoEncoder: videoEncoder, videoQuality: videoQuality, keepAudio: keepAudio,
                                 operation: "face swap", stage: "swap")
        let temporal = try enhancerSetup?.temporal(context: context)
        let token = context.cancellation
        var framesDirectory: URL?
        let outcome: FaceVideoPass.Outcome
        do {
            let keptFrames = keepFrames ? try Self.makeFramesDirectory(for: URL(fileURLWithPath: output).standardizedFileURL) : nil
            framesDirectory = keptFrames
            outcome = try pass.run(analyzer: analyzer, context: context) { frame, faces, index in
                let swapped = try assignment.swapFaces(faces, in: frame)
                result.swappedFaces += swapped.count
                if !swapped.isEmpty { result.swappedFrames += 1 }
                if let temporal {
                    // Every frame goes through the cache, with or without faces: a track that is absent for a
                    // frame gets a fresh key frame when it comes back.
                    let decisions = try temporal.enhance(frame, faces: EnhancerSetup.faces(swapped), shouldStop: { token.isCancelled })
                    result.enhancement?.addSkipped(decisions)
                }
                if watermark { SyntheticMediaMark.draw(on: frame) }
                if let keptFrames {
                    try ImageIO.writeLabelled(frame, to: keptFrames.appendingPathComponent(String(format: "%06d.png", index + 1)).path,
                                              operation: "face swap")
                }
            }
        } catch {
            // Frames kept beside an output that was not made would be an orphaned half-result.
            if let framesDirectory { try? FileManager.default.removeItem(at: framesDirectory) }
            throw error
        }
        result.frames = outcome.frames
        if let temporal {
            let skipped = result.enhancement?.skipped ?? 0
            result.enhancement?.take(temporal.statistics)
            result.enhancement?.skipped = skipped
            if skipped > 0 { result.warnings.append("\(skipped) swapped face-frames were too small for the enhancer's template and were not enhanced") }
        }
        if result.swappedFrames == 0 { result.warnings.append(noSwapWarning(faces: outcome.facesSeen, assignment: assignment, video: true)) }
        if let damage = outcome.damage { result.warnings.append(damage) }
        result.framesDirectory = framesDirectory?.path
    }

    /// OUTPUT_frames/ beside the output; refuses to mix with frames of an earlier run.
    static func makeFramesDirectory(for output: URL) throws -> URL {
        let url = output.deletingLastPathComponent().appendingPathComponent(output.deletingPathExtension().lastPathComponent + "_frames")
        if FileManager.default.fileExists(atPath: url.path),
           let existing = try? FileManager.default.contentsOfDirectory(atPath: url.path), !existing.isEmpty {
            throw VisageError.writeFailed(path: url.path, reason: "the frames folder already has files; remove it or choose another output")
        }
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw VisageError.writeFailed(path: url.path, reason: AtomicFile.describe(error))
        }
        return url
    }
}

/// What `SwapJob` made.
public struct SwapResult: Codable, Sendable {
    public var output: String
    public var frames = 0
    /// Frames in which at least one face was swapped.
    public var swappedFrames = 0
    public var swappedFaces = 0
    /// The face used in each source photo (when a photo has several, front ends say which).
    public var sourceFaces: [FaceChoice.Made]
    public var framesDirectory: String?
    /// Things the user should know (no face found, no face matched), without option names.
    public var warnings: [String] = []
    public var accelerator: AcceleratorPlan?
    /// What the face enhancer did (nil: no enhancer was asked for).
    public var enhancement: EnhancementSummary?

    init(output: String, sourceFaces: [FaceChoice.Made]) { self.output = output; self.sourceFaces = sourceFaces }

    enum CodingKeys: String, CodingKey {
        case output, frames, warnings, enhancement
        case swappedFrames = "swapped_frames", swappedFaces = "swapped_faces", sourceFaces = "source_faces"
        case framesDirectory = "frames_directory"
    }
}

/// A job that swaps faces (`SwapJob`, `BenchSwapJob`, `LiveJob`): the swap method and, for inswapper, its two
/// networks, under the same names in every front end.
public protocol SwapModelOptionsJob {
    var swapper: Swapper { get set }
    var swapModel: String? { get set }
    var recognizerModel: String? { get set }
}

extension SwapJob: SwapModelOptionsJob {}
extension BenchSwapJob: SwapModelOptionsJob {}
extension LiveJob: SwapModelOptionsJob {}
