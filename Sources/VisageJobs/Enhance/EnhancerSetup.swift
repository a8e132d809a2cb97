import Foundation
import Logging
import VisageCore
import VisageEnhance
import VisageFace
import VisageMedia
import VisageRuntime

/// A job that can restore the faces it makes (`SwapJob`, `BenchSwapJob`, `LiveJob`): the same five options under
/// the same names, so every front end sets them one way and every job builds its `EnhancerSetup` one way.
public protocol EnhancerOptionsJob {
    /// Catalogue id of the enhancer; nil: no enhancement.
    var enhancer: String? { get set }
    var enhancerModel: String? { get set }
    var enhanceBlend: Double { get set }
    var enhanceEvery: Int { get set }
    var enhanceMotion: Double { get set }
}

extension EnhancerOptionsJob {
    /// The enhancer options, when an enhancer was asked for.
    public var enhancerSetup: EnhancerSetup? {
        enhancer.map { EnhancerSetup(model: $0, modelPath: enhancerModel, blend: enhanceBlend, every: enhanceEvery, motion: enhanceMotion) }
    }
}

extension SwapJob: EnhancerOptionsJob {}
extension BenchSwapJob: EnhancerOptionsJob {}
extension LiveJob: EnhancerOptionsJob {}

/// The face-enhancer options that `EnhanceJob`, `SwapJob` and `LiveJob` share, named as both front ends
/// spell them (`enhancer`, `enhancer-model`, `enhance-blend`, `enhance-every`, `enhance-motion`), and how a
/// job turns them into an engine and a temporal cache. Declared once so the three jobs check the same
/// ranges and load the network the same way.
public struct EnhancerSetup: Sendable, Equatable {
    /// Catalogue id of the restoration model (`EnhancerFactory.supportedModels`).
    public var model: String
    /// A model file to use instead of the installed one (it must still be the model `model` names).
    public var modelPath: String?
    /// FaceFusion's blend with the original, 0…1 (0.8 is FaceFusion's default).
    public var blend: Double
    /// Videos and live: run the network every N frames and move the last restored face with each frame's
    /// alignment in between (1: every frame).
    public var every: Int
    /// Videos and live: also re-run the network when pose or expression moved more than this many pixels
    /// of a 512 crop since the key frame (0: only every N frames).
    public var motion: Double

    public init(model: String = EnhancerFactory.defaultModel, modelPath: String? = nil, blend: Double = EnhancerSetup.defaultBlend,
                every: Int = EnhancerSetup.defaultEvery, motion: Double = EnhancerSetup.defaultMotion) {
        self.model = model
        self.modelPath = modelPath
        self.blend = blend
        self.every = every
        self.motion = motion
    }

    public static let defaultBlend = 0.8
    /// The temporal cache's defaults (docs/ENHANCE.md has the measurements behind them).
    public static let defaultEvery = TemporalCachePolicy().interval
    public static let defaultMotion = TemporalCachePolicy().motionThreshold

    // Ranges, declared once for every job that takes them.
    public static let blendRange: ClosedRange<Double> = 0...1
    public static let everyRange = 1...100
    public static let motionRange: ClosedRange<Double> = 0...512

    /// Ranges and the model id, before anything loads.
    public func validateOptions() throws {
        guard EnhancerProfile.forModel(model) != nil else {
            throw VisageError.invalidArgument("enhancer '\(model)' is not a face enhancer Visage can run; use one of \(EnhancerFactory.supportedModels.joined(separator: ", "))")
        }
        try Self.checkRanges(blend: blend, every: every, motion: motion)
    }

    static func checkRanges(blend: Double, every: Int, motion: Double) throws {
        try OptionRules.check("enhance-blend", blend, in: blendRange)
        try OptionRules.check("enhance-every", every, in: everyRange)
        try OptionRules.check("enhance-motion", motion, in: motionRange)
    }

    /// The model file, when one was given, is readable.
    public func validateFiles() throws {
        if let modelPath { try ImageIO.checkReadableFile(modelPath) }
    }

    /// What a front end must install first: the catalogue model, unless a file was given.
    public var requiredModels: [String] { modelPath == nil ? [model] : [] }

    /// The temporal cache's rule for these options (`every == 1`: the network on every frame).
    public var policy: TemporalCachePolicy {
        every == 1 ? .everyFrame : TemporalCachePolicy(enabled: true, interval: every, adaptive: motion > 0, motionThreshold: motion)
    }

    /// The network, loaded once per process for each model, file and session (shared by concurrent jobs:
    /// `ONNXFaceEnhancer.restore` is thread-safe), wrapped in a new engine (per-stream buffers). A model
    /// whose licence must be accepted (CodeFormer) is refused with its licence text unless it was, even when
    /// installed or given as a file: having the file is not consent.
    public func engine(context: JobContext) throws -> FaceEnhancementEngine {
        try context.store.checkLicense(try ModelCatalog.entry(model))
        let key = "enhancer/\(model)/\(modelPath ?? "-")/\(ModelRegistry.sessionKey(context.session))"
        let enhancer = try context.models.shared(key) {
            try EnhancerFactory.make(model: model, store: context.store, modelPath: modelPath, config: context.session)
        }
        context.logger.info("face enhancer: \(model) (\(modelPath ?? "installed model")), blend \(blend)")
        return try FaceEnhancementEngine(enhancer: enhancer, options: EnhanceOptions(blend: blend))
    }

    /// A temporal cache for one stream (a video, a live session).
    public func temporal(context: JobContext) throws -> TemporalFaceEnhancer {
        let temporal = try TemporalFaceEnhancer(engine: try engine(context: context), policy: policy)
        let rule = every == 1 ? "the network on every frame"
            : "the network every \(every) frames" + (motion > 0 ? String(format: " or when a face moves more than %.0f px (512 crop)", motion) : "")
        context.logger.info("temporal cache: \(rule)")
        return temporal
    }

    /// Analysed faces as the enhancer takes them (keypoints, box, landmarks for the motion rule, track id).
    public static func faces(_ analyzed: [AnalyzedFace]) -> [EnhanceFace] {
        analyzed.map { EnhanceFace(keypoints: $0.keypoints, box: $0.box, landmarks: $0.landmarks, trackID: $0.id) }
    }
}

/// What the enhancer did over a job, for results (both front ends encode it the same way).
public struct EnhancementSummary: Codable, Sendable, Equatable {
    public var model: String
    /// Faces enhanced (fresh or from the temporal cache), summed over frames.
    public var faces = 0
    /// Network runs.
    public var modelRuns = 0
    /// Faces skipped as too small for the model's template.
    public var skipped = 0
    /// Fraction of enhanced faces that reused the cache instead of running the network.
    public var savedFraction = 0.0
    /// Why each face was (re)enhanced or reused: `CacheDecision` names → counts (videos).
    public var decisions: [String: Int]?

    public init(model: String) { self.model = model }

    /// "enhanced 3 faces with gfpgan-1.4 (1 network run, 67% from the temporal cache)".
    public var summaryLine: String {
        var text = "enhanced \(faces) face\(faces == 1 ? "" : "s") with \(model) (\(modelRuns) network run\(modelRuns == 1 ? "" : "s")"
        if decisions != nil { text += String(format: ", %.0f%% from the temporal cache", 100 * savedFraction) }
        if skipped > 0 { text += ", \(skipped) too small" }
        return text + ")"
    }

    mutating func add(_ report: EnhanceReport) {
        faces += report.enhanced.count
        modelRuns += report.modelRuns
        skipped += report.skipped.count
    }

    /// Counts the faces a temporal cache skipped on one frame (its statistics leave them out).
    mutating func addSkipped(_ frame: [CacheDecision]) {
        skipped += frame.filter { $0 == .skipped }.count
    }

    mutating func take(_ statistics: TemporalFaceEnhancer.Statistics) {
        faces = statistics.faces
        modelRuns = statistics.modelRuns
        savedFraction = JobJSON.round(statistics.savedFraction, 4)
        decisions = statistics.decisions
    }

    enum CodingKeys: String, CodingKey {
        case model, faces, skipped, decisions
        case modelRuns = "model_runs", savedFraction = "saved_fraction"
    }
}
