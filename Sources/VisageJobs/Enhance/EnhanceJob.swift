import Foundation
import VisageCore
import VisageEnhance
import VisageFace
import VisageMedia
import VisageRuntime

/// Which faces of an image or frame to enhance.
public enum FaceSelection: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Every face found.
    case all
    /// The largest face of each image or frame.
    case largest
    /// One face of a photo, numbered 1… as `visage detect` lists them.
    case number(Int)

    /// "all", "largest" or a face number.
    public init?(_ text: String) {
        switch text.lowercased() {
        case "all": self = .all
        case "largest": self = .largest
        default:
            guard let n = Int(text) else { return nil }
            self = .number(n)
        }
    }

    public var description: String {
        switch self {
        case .all: return "all"
        case .largest: return "largest"
        case .number(let n): return String(n)
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        // A manifest may write a face number as a JSON number.
        if let n = try? container.decode(Int.self) { self = .number(n); return }
        let text = try container.decode(String.self)
        guard let value = FaceSelection(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "faces is all, largest or a face number, got '\(text)'"))
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// The chosen faces of one image (indices into `faces`).
    func pick(_ faces: [AnalyzedFace], in path: String) throws -> [AnalyzedFace] {
        switch self {
        case .all: return faces
        case .largest: return faces.max { $0.box.area < $1.box.area }.map { [$0] } ?? []
        case .number(let n): return faces.isEmpty ? [] : [try FaceChoice(number: n).pick(faces, box: \.box, in: path).face]
        }
    }
}

/// Restore the faces of a photo or a video with GFPGAN 1.4, GPEN-BFR or CodeFormer: align to the model's
/// template, run the network, paste back with facexlib's soft mask and blend with the original. Videos keep
/// their audio and timestamps and use the temporal cache (the network every `every` frames, the restored
/// face moved with each frame's alignment in between).
public struct EnhanceJob: VisageJob {
    public static let kind = JobKind.enhance

    public var input: String
    public var output: String
    /// Catalogue id of the restoration model.
    public var model = EnhancerFactory.defaultModel
    /// A model file instead of the installed one.
    public var enhancerModel: String?
    public var faces = FaceSelection.all
    public var blend = EnhancerSetup.defaultBlend
    public var every = EnhancerSetup.defaultEvery
    public var motion = EnhancerSetup.defaultMotion
    public var keepAudio = true
    public var videoEncoder = "libx264"
    public var videoQuality = 18
    public var detectEvery = 5
    public var detector = DetectorFactory.defaultModel

    public init(input: String, output: String) {
        self.input = input
        self.output = output
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case input, output, model, faces, detector
        case enhancerModel = "enhancer-model", blend = "enhance-blend", every = "enhance-every", motion = "enhance-motion"
        case keepAudio = "keep-audio", videoEncoder = "video-encoder", videoQuality = "video-quality", detectEvery = "detect-every"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(input: try c.decode(String.self, forKey: .input), output: try c.decode(String.self, forKey: .output))
        model = try c.decodeIfPresent(String.self, forKey: .model) ?? EnhancerFactory.defaultModel
        enhancerModel = try c.decodeIfPresent(String.self, forKey: .enhancerModel)
        faces = try c.decodeIfPresent(FaceSelection.self, forKey: .faces) ?? .all
        blend = try c.decodeIfPresent(Double.self, forKey: .blend) ?? EnhancerSetup.defaultBlend
        every = try c.decodeIfPresent(Int.self, forKey: .every) ?? EnhancerSetup.defaultEvery
        motion = try c.decodeIfPresent(Double.self, forKey: .motion) ?? EnhancerSetup.defaultMotion
        keepAudio = try c.decodeIfPresent(Bool.self, forKey: .keepAudio) ?? true
        videoEncoder = try c.decodeIfPresent(String.self, forKey: .videoEncoder) ?? "libx264"
        videoQuality = try c.decodeIfPresent(Int.self, forKey: .videoQuality) ?? 18
        detectEvery = try c.decodeIfPresent(Int.self, forKey: .detectEvery) ?? 5
        detector = try c.decodeIfPresent(String.self, forKey: .detector) ?? DetectorFactory.defaultModel
    }

    public var setup: EnhancerSetup {
        EnhancerSetup(model: model, modelPath: enhancerModel, blend: blend, every: every, motion: motion)
    }

    var isVideo: Bool { MediaKind.isVideo(input) }

    public var requiredModels: [String] { FacePipeline.requiredModels(detector: detector) + setup.requiredModels }

    public func validateOptions() throws {
        try setup.validateOptions()
        try OptionRules.check("video-quality", videoQuality, in: OptionRules.videoQuality)
        try OptionRules.check("detect-every", detectEvery, in: OptionRules.detectEvery)
        if case .number(let n) = faces { try OptionRules.check("faces", n, in: 1...10_000) }
        if isVideo, case .number = faces {
            throw VisageError.invalidArgument("faces takes a face number for photos only; for a video use all or largest")
        }
    }

    public func validate() throws {
        try validateOptions()
        try ImageIO.checkReadableFile(input)
        try setup.validateFiles()
        if isVideo != MediaKind.isVideo(output) {
            throw VisageError.invalidArgument(isVideo ? "the input is a video: the output must be a video file (.mp4, .mov, .mkv, .webm)"
                                                      : "the input is an image: the output must be an image file")
        }
        try OutputCheck.validate(output, kind: isVideo ? .video : .image, inputs: [input])
    }

    public func run(in context: JobContext) throws -> EnhanceResult {
        try validate()
        let pipeline = FacePipeline(context: context)
        let detection = isVideo ? DetectionOptions(maxInputSide: FacePipeline.videoDetectorSide) : DetectionOptions()
        let analyzer = try pipeline.analyzer(detector: detector, detection: detection,
                                             options: AnalysisOptions(landmarks: true, pose: false, embeddings: false, detectEvery: detectEvery))
        var result = EnhanceResult(output: output, enhancement: EnhancementSummary(model: model))
        result.accelerator = analyzer.detector.session.plan
        let token = context.cancellation
        if isVideo {
            try enhanceVideo(analyzer: analyzer, context: context, result: &result)
        } else {
            let engine = try setup.engine(context: context)
            let frame = try ImageIO.read(input)
            var timings = AnalysisTimings()
            let found = try analyzer.analyze(frame, timings: &timings)
            let chosen = try faces.pick(found, in: input)
            let report = try engine.enhance(frame, faces: EnhancerSetup.faces(chosen), shouldStop: { token.isCancelled })
            result.enhancement.add(report)
            result.frames = 1
            result.enhancedFrames = report.enhanced.isEmpty ? 0 : 1
            for skip in report.skipped { result.warnings.append("face \(skip.index + 1) was left as it is: \(skip.reason)") }
            try context.cancellation.check()
            try ImageIO.writeLabelled(frame, to: output, operation: "face enhancement")
            if found.isEmpty { result.warnings.append("no face in \(input); the output is an unchanged copy") }
        }
        return result
    }

    /// decode ∥ detect/track ∥ enhance + encode, as the swap job's video path; the temporal cache keeps
    /// the restored face of each track between key frames.
    private func enhanceVideo(analyzer: FaceAnalyzer, context: JobContext, result: inout EnhanceResult) throws {
        let temporal = try setup.temporal(context: context)
        let pass = FaceVideoPass(input: input, output: output, videoEncoder: videoEncoder, videoQuality: videoQuality, keepAudio: keepAudio,
                                 operation: "face enhancement", stage: "enhance")
        let token = context.cancellation
        let outcome = try pass.run(analyzer: analyzer, context: context) { frame, found, _ in
            let chosen = try faces.pick(found, in: input)
            let decisions = try temporal.enhance(frame, faces: EnhancerSetup.faces(chosen), shouldStop: { token.isCancelled })
            result.enhancement.addSkipped(decisions)
            if decisions.contains(where: { $0 != .skipped }) { result.enhancedFrames += 1 }
        }
        result.frames = outcome.frames
        let skipped = result.enhancement.skipped
        result.enhancement.take(temporal.statistics)
        result.enhancement.skipped = skipped
        if outcome.facesSeen == 0 { result.warnings.append("no face found in \(input); the video was copied through unchanged") }
        if skipped > 0 { result.warnings.append("\(skipped) face-frames were too small for \(model)'s template and were left as they are") }
        if let damage = outcome.damage { result.warnings.append(damage) }
    }
}

/// What `EnhanceJob` made.
public struct EnhanceResult: Codable, Sendable {
    public var output: String
    public var frames = 0
    /// Frames with at least one enhanced face.
    public var enhancedFrames = 0
    public var enhancement: EnhancementSummary
    /// Things the user should know (no face, faces too small), without option names.
    public var warnings: [String] = []
    public var accelerator: AcceleratorPlan?

    init(output: String, enhancement: EnhancementSummary) {
        self.output = output
        self.enhancement = enhancement
    }

    enum CodingKeys: String, CodingKey {
        case output, frames, enhancement, warnings
        case enhancedFrames = "enhanced_frames"
    }
}
