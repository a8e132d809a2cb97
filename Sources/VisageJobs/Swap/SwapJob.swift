import Foundation
import VisageCore
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
    public var recognizerModel: String?

    public init(source: String?, target: String, output: String) {
        self.source = source
        self.target = target
        self.output = output
    }

    enum CodingKeys: String, CodingKey {
        case source, target, output, opacity, sharpen, watermark, detector, swapper
        case mapFaces = "map-faces", sourceFace = "source-face", manyFaces = "many-faces", mouthMask = "mouth-mask"
        case colorTransfer = "color-transfer", colorCorrection = "color-correction", keepAudio = "keep-audio"
        case keepFrames = "keep-frames", videoEncoder = "video-encoder", videoQuality = "video-quality"
        case detectEvery = "detect-every", swapModel = "swap-model", recognizerModel = "recognizer-model"
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
    }

    public func validate() throws {
        try validateOptions()
        for path in inputs + [swapModel, recognizerModel].compactMap({ $0 }) { try ImageIO.checkReadableFile(path) }
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
        if isVideo {
            try swapVideo(analyzer: analyzer, assignment: assignment, context: context, result: &result)
        } else {
            let frame = try ImageIO.read(target)
            var timings = AnalysisTimings()
            let faces = try analyzer.analyze(frame, timings: &timings)
            result.swappedFaces = try assignment.swap(faces, in: frame)
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
        let model = try context.models.shared("inswapper/\(modelPath)/\(session)") { try INSwapper(modelPath: modelPath, config: context.session) }
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
        let reader = try VideoReader(path: target)
        // The source's own time base and timestamps: start offsets and variable frame rates survive, and the
        // copied audio stays in sync.
        let writer = try VideoWriter(path: output, width: reader.width, height: reader.height, fps: reader.fps > 0 ? reader.fps : 25,
                                     encoder: videoEncoder, quality: videoQuality, audioFrom: keepAudio ? target : nil,
                                     label: SyntheticMediaLabel.text(operation: "face swap"), timeBase: reader.timeBase)
        var framesDirectory: URL?
        var facesSeen = 0
        do {
            framesDirectory = keepFrames ? try Self.makeFramesDirectory(for: URL(fileURLWithPath: output).standardizedFileURL) : nil
            let meter = ProgressMeter(stage: "swap", total: reader.frameCount, sink: context.progress)
            let decoder = FramePrefetcher(reader)
            defer { decoder.stop() }
            let analysis = AsyncStage<(VideoFrame, [AnalyzedFace])>(name: "visage.detect", depth: 2) {
                guard let decoded = try decoder.nextFrame() else { return nil }
                var stageTimings = AnalysisTimings()
                return (decoded, try analyzer.analyzeNext(decoded.image, timings: &stageTimings).faces)
            }
            defer { analysis.stop() }
            while let (decoded, faces) = try analysis.next() {
                try context.cancellation.check()
                let frame = decoded.image
                facesSeen += faces.count
                let swapped = try assignment.swap(faces, in: frame)
                result.swappedFaces += swapped
                if swapped > 0 { result.swappedFrames += 1 }
                if watermark { SyntheticMediaMark.draw(on: frame) }
                try writer.write(frame, timestamp: decoded.timestamp)
                result.frames += 1
                if let framesDirectory {
                    try ImageIO.writeLabelled(frame, to: framesDirectory.appendingPathComponent(String(format: "%06d.png", result.frames)).path,
                                              operation: "face swap")
                }
                meter.advance()
            }
            try writer.finish()
            meter.finish()
        } catch {
            writer.cancel()
            // Frames kept beside an output that was not made would be an orphaned half-result.
            if let framesDirectory { try? FileManager.default.removeItem(at: framesDirectory) }
            throw error
        }
        if result.swappedFrames == 0 { result.warnings.append(noSwapWarning(faces: facesSeen, assignment: assignment, video: true)) }
        if let damage = reader.decodeReport.summary { result.warnings.append("\(target): \(damage)") }
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

    init(output: String, sourceFaces: [FaceChoice.Made]) { self.output = output; self.sourceFaces = sourceFaces }

    enum CodingKeys: String, CodingKey {
        case output, frames, warnings
        case swappedFrames = "swapped_frames", swappedFaces = "swapped_faces", sourceFaces = "source_faces"
        case framesDirectory = "frames_directory"
    }
}
