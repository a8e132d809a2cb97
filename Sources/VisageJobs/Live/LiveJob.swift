import Foundation
import Logging
import VisageAU
import VisageCore
import VisageEnhance
import VisageFace
import VisageLive
import VisageMedia
import VisageRuntime
import VisageSwap

/// The real-time pipeline: camera, video or image folder → detect/track → swap and/or AUs → outputs
/// (recording, virtual camera, preview window, and frames for network viewers through a publisher).
public struct LiveJob: VisageJob {
    public static let kind = JobKind.live
    /// A camera index or /dev/videoN, a video file, or a folder of images.
    public var input: String
    /// Play a file or folder at its frame rate (as a camera would deliver it).
    public var realtime = false
    public var loop = false
    /// Frame rate of an image folder.
    public var folderFps: Double = 30
    public var mode = LiveModeName.balanced
    public var targetFps: Double?
    /// Let the adaptive controller change the settings.
    public var adapt = true
    /// Every stage on one thread, one frame at a time (for comparison).
    public var sequential = false
    /// Photo whose face is put on the faces in the input (enables swapping).
    public var swapFace: String?
    public var swapper = Swapper.landmark
    public var swapModel: String?
    public var recognizerModel: String?
    public var manyFaces = false
    public var mouthMask: Float = 0
    public var opacity: Float = 1
    /// OpenFace AUs (online rules) into this CSV.
    public var auCsv: String?
    public var multiFace = false
    /// Record the output to this video.
    public var record: String?
    /// A v4l2loopback device to feed.
    public var virtualCamera: String?
    public var preview = false
    public var watermark = false
    public var maxFrames: Int?
    public var duration: Double?
    public var detector = DetectorFactory.defaultModel
    /// A face enhancer on the swapped faces (or on the faces, without a swap); nil: none.
    public var enhancer: String?
    public var enhancerModel: String?
    public var enhanceBlend = EnhancerSetup.defaultBlend
    /// The temporal cache's key-frame interval at the mode's settings; the adaptive controller raises it
    /// under load, and the quality mode turns the cache off.
    public var enhanceEvery = EnhancerSetup.defaultEvery
    public var enhanceMotion = EnhancerSetup.defaultMotion

    public init(input: String) { self.input = input }


    enum CodingKeys: String, CodingKey, CaseIterable {
        case input, realtime, loop, mode, adapt, sequential, swapper, opacity, record, preview, watermark, duration, detector
        case folderFps = "folder-fps", targetFps = "target-fps", swapFace = "swap-face", swapModel = "swap-model"
        case recognizerModel = "recognizer-model", manyFaces = "many-faces", mouthMask = "mouth-mask", auCsv = "au-csv"
        case multiFace = "multi-face", virtualCamera = "virtual-camera", maxFrames = "max-frames"
        case enhancer, enhancerModel = "enhancer-model", enhanceBlend = "enhance-blend", enhanceEvery = "enhance-every"
        case enhanceMotion = "enhance-motion"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        input = try c.decodeIfPresent(String.self, forKey: .input) ?? ""
        realtime = try c.decodeIfPresent(Bool.self, forKey: .realtime) ?? false
        loop = try c.decodeIfPresent(Bool.self, forKey: .loop) ?? false
        folderFps = try c.decodeIfPresent(Double.self, forKey: .folderFps) ?? 30
        mode = try c.decodeIfPresent(LiveModeName.self, forKey: .mode) ?? .balanced
        targetFps = try c.decodeIfPresent(Double.self, forKey: .targetFps)
        adapt = try c.decodeIfPresent(Bool.self, forKey: .adapt) ?? true
        sequential = try c.decodeIfPresent(Bool.self, forKey: .sequential) ?? false
        swapFace = try c.decodeIfPresent(String.self, forKey: .swapFace)
        swapper = try c.decodeIfPresent(Swapper.self, forKey: .swapper) ?? .landmark
        swapModel = try c.decodeIfPresent(String.self, forKey: .swapModel)
        recognizerModel = try c.decodeIfPresent(String.self, forKey: .recognizerModel)
        manyFaces = try c.decodeIfPresent(Bool.self, forKey: .manyFaces) ?? false
        mouthMask = try c.decodeIfPresent(Float.self, forKey: .mouthMask) ?? 0
        opacity = try c.decodeIfPresent(Float.self, forKey: .opacity) ?? 1
        auCsv = try c.decodeIfPresent(String.self, forKey: .auCsv)
        multiFace = try c.decodeIfPresent(Bool.self, forKey: .multiFace) ?? false
        record = try c.decodeIfPresent(String.self, forKey: .record)
        virtualCamera = try c.decodeIfPresent(String.self, forKey: .virtualCamera)
        preview = try c.decodeIfPresent(Bool.self, forKey: .preview) ?? false
        watermark = try c.decodeIfPresent(Bool.self, forKey: .watermark) ?? false
        maxFrames = try c.decodeIfPresent(Int.self, forKey: .maxFrames)
        duration = try c.decodeIfPresent(Double.self, forKey: .duration)
        detector = try c.decodeIfPresent(String.self, forKey: .detector) ?? DetectorFactory.defaultModel
        enhancer = try c.decodeIfPresent(String.self, forKey: .enhancer)
        enhancerModel = try c.decodeIfPresent(String.self, forKey: .enhancerModel)
        enhanceBlend = try c.decodeIfPresent(type(of: EnhancerSetup.defaultBlend), forKey: .enhanceBlend) ?? EnhancerSetup.defaultBlend
        enhanceEvery = try c.decodeIfPresent(type(of: EnhancerSetup.defaultEvery), forKey: .enhanceEvery) ?? EnhancerSetup.defaultEvery
        enhanceMotion = try c.decodeIfPresent(type(of: EnhancerSetup.defaultMotion), forKey: .enhanceMotion) ?? EnhancerSetup.defaultMotion
    }

    /// Every option name (as the command line and the server spell them).
    public static var optionNames: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }

    public var requiredModels: [String] {
        var ids = FacePipeline.requiredModels(detector: detector)
        if swapFace != nil, swapper == .inswapper {
            if swapModel == nil { ids.append("inswapper-128") }
            if recognizerModel == nil { ids.append("arcface-w600k-r50") }
        }
        if auCsv != nil { ids.append(AUJob.openFaceModel) }
        if let enhancerSetup { ids += enhancerSetup.requiredModels }
        return ids
    }

    public func validateOptions() throws {
        try OptionRules.check("mouth-mask", mouthMask, in: OptionRules.unit)
        try OptionRules.check("opacity", opacity, in: OptionRules.unit)
        if let targetFps { try OptionRules.check("target-fps", targetFps, in: 0.1...1000) }
        try OptionRules.check("folder-fps", folderFps, in: 0.1...1000)
        if let maxFrames { try OptionRules.check("max-frames", maxFrames, in: 1...Int.max) }
        if let duration { try OptionRules.check("duration", duration, in: 0.001...1e9) }
        try EnhancerSetup.checkRanges(blend: enhanceBlend, every: enhanceEvery, motion: enhanceMotion)
        try enhancerSetup?.validateOptions()
    }

    public func validate() throws {
        try validateOptions()
        if let swapFace { try ImageIO.checkReadableFile(swapFace) }
        try enhancerSetup?.validateFiles()
        let inputs = [input, swapFace].compactMap { $0 }
        if let record { try OutputCheck.validate(record, kind: .video, inputs: inputs) }
        if let auCsv { try OutputCheck.validate(auCsv, kind: .csv, inputs: inputs, role: "au-csv") }
    }

    /// Runs until the source ends, a limit is reached or the job is cancelled.
    /// - Parameters:
    ///   - publisher: where encoded frames for network viewers go (the front end serves them), if anywhere.
    ///   - onStats: about once a second, the pipeline's stats.
    ///   - onStart: once everything is set up, just before capture starts (what was built, in words).
    public func run(in context: JobContext, publisher: LiveFramePublisher?, onStats: ((LiveStats.Snapshot) -> Void)? = nil,
                    onStart: ((LiveSetupSummary) -> Void)? = nil) throws -> LiveResult {
        try validate()
        let source = try Self.openSource(input, realtime: realtime, loop: loop, fps: folderFps, mode: mode.mode)
        return try run(in: context, source: source, publisher: publisher, onStats: onStats, onStart: onStart)
    }

    /// Runs on a source the front end made (frames a network client sends, `PushedFrameSource`); `input`
    /// is then only the source's name.
    public func run(in context: JobContext, source: LiveSource, publisher: LiveFramePublisher?,
                    onStats: ((LiveStats.Snapshot) -> Void)? = nil, onStart: ((LiveSetupSummary) -> Void)? = nil) throws -> LiveResult {
        try validate()
        let liveMode = mode.mode
        let size = LivePipeline.outputSize(of: source, mode: liveMode)
        let fps = source.fps > 0 ? min(source.fps, targetFps ?? liveMode.targetFPS) : (targetFps ?? liveMode.targetFPS)
        let label = swapFace != nil ? SyntheticMediaLabel.text(operation: "live face swap")
            : enhancer != nil ? SyntheticMediaLabel.text(operation: "live face enhancement") : nil
        var outputs: [LiveOutput] = []
        if let publisher { outputs.append(StreamOutput(publisher: publisher, label: label)) }
        if let virtualCamera { outputs.append(try VirtualCameraOutput(device: virtualCamera, width: size.width, height: size.height, fps: fps)) }
        if preview { outputs.append(try PreviewOutput(width: size.width, height: size.height, fps: fps)) }
        let recording = try record.map {
            try RecordingOutput(path: $0, width: size.width, height: size.height, fps: source.fps > 0 ? source.fps : fps, label: label)
        }
        if let recording { outputs.append(recording) }

        var liveContext = context
        liveContext.session = Self.sessionConfig(context.session, mode: liveMode)
        let work = try makeWork(mode: liveMode, sourceWidth: source.width, sourceHeight: source.height, context: liveContext)
        let summary = LiveSetupSummary(source: "\(source.name) \(source.width)x\(source.height) at \(String(format: "%.1f", source.fps)) fps",
                                       size: "\(size.width)x\(size.height)", work: work.name, mode: liveMode.name,
                                       targetFPS: targetFps ?? liveMode.targetFPS, pipelined: !sequential, outputs: outputs.map(\.name),
                                       accelerator: work.tracking.detector.session.plan)
        onStart?(summary)
        let configuration = LiveConfiguration(mode: liveMode, targetFPS: targetFps, pipelined: !sequential, adaptive: adapt,
                                              maxFrames: maxFrames, duration: duration)
        let token = context.cancellation
        let pipeline = LivePipeline(source: source, work: work, outputs: outputs, configuration: configuration,
                                    shouldStop: { token.isCancelled }, onStats: onStats)
        let report: LiveReport
        do { report = try pipeline.run() } catch {
            recording?.cancel()
            throw error
        }
        return LiveResult(report, recorded: recording?.frames, recording: recording?.path, auCsv: auCsv)
    }

    public func run(in context: JobContext) throws -> LiveResult { try run(in: context, publisher: nil) }

    /// `input`: a camera index or /dev/videoN, a video file, or a folder of images.
    static func openSource(_ input: String, realtime: Bool, loop: Bool, fps: Double, mode: LiveMode) throws -> LiveSource {
        if let index = CameraDiscovery.index(of: input), !FileManager.default.fileExists(atPath: input) || input.hasPrefix("/dev/") {
            return try CameraSource(index: index, width: mode.maxWidth, height: mode.maxHeight, fps: mode.targetFPS)
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDir) else { throw VisageError.fileNotFound(path: input) }
        if isDir.boolValue { return try ImageFolderSource(folder: input, fps: fps, realtime: realtime, loop: loop) }
        return try VideoFileSource(path: input, realtime: realtime, loop: loop)
    }

    /// The session settings a mode allows (battery: CPU only; its thread count unless threads were given).
    public static func sessionConfig(_ base: SessionConfig, mode: LiveMode) -> SessionConfig {
        var config = base
        if !mode.acceleratorAllowed { config.accelerator = .cpu }
        if base.intraOpThreads == 0 { config.intraOpThreads = mode.threads }
        return config
    }

    /// Detect/track, the optional swap with its source face computed once, the optional AU recorder (its CSV
    /// in the source's pixels).
    func makeWork(mode: LiveMode, sourceWidth: Int, sourceHeight: Int, context: JobContext) throws -> FaceWork {
        try makeWork(mode: mode, settings: QualitySettings.ladder(for: mode)[0], sourceWidth: sourceWidth, sourceHeight: sourceHeight,
                     auCSV: auCsv.map { URL(fileURLWithPath: $0).standardizedFileURL }, context: context)
    }

    func makeWork(mode: LiveMode, settings: QualitySettings, sourceWidth: Int, sourceHeight: Int, auCSV: URL?, context: JobContext) throws -> FaceWork {
        let pipeline = FacePipeline(context: context)
        let model = detector
        let switchable = try SwitchableDetector(side: settings.detectorSide) { side in
            try pipeline.detector(model, options: DetectionOptions(maxInputSide: side))
        }
        let tracking = try FaceTrackingStage(detector: switchable, landmarker: try pipeline.landmarker(), detectEvery: settings.detectEvery)
        var engine: FaceSwapEngine?
        if let swapFace {
            // The source face: found once at full resolution, never again per frame.
            let still = try pipeline.analyzer(detector: detector, options: AnalysisOptions(landmarks: true, pose: false))
            var options = FaceSwapEngine.Options(mouthMask: mouthMask, opacity: opacity)
            if mode.enhancer && options.sharpen == 0 { options.sharpen = 0.3 }
            var swap = SwapJob(source: swapFace, target: swapFace, output: "")
            swap.swapper = swapper
            swap.swapModel = swapModel
            swap.recognizerModel = recognizerModel
            let neural = try swap.loadNetworks(context: context)
            engine = try SwapSource(path: swapFace, photo: try ImageIO.read(swapFace), analyzer: still, choice: FaceChoice(), options: options,
                                    inswapper: neural?.0, embedder: neural?.1).engine
        }
        var recorder: AURecorder?
        if let auCSV {
            let models = try AUModels.shared(root: try context.store.installedDirectory(for: AUJob.openFaceModel), context: context)
            let camera = Geometry3D.Camera.openFaceDefault(width: sourceWidth, height: sourceHeight)
            // Live AUs follow OpenFace's online rules: each row is final when it is written.
            recorder = try AURecorder(models: models, options: AURecorder.Options(camera: camera, online: true, multiFace: multiFace), csv: auCSV)
        }
        let enhancement = try enhancerSetup.map {
            LiveEnhancement(temporal: try $0.temporal(context: context), baseDetectEvery: settings.detectEvery, cache: self.mode != .quality)
        }
        if enhancement != nil {
            context.logger.info(self.mode == .quality ? "quality mode: the enhancer runs on every frame (temporal cache off)"
                                                      : "the enhancer's interval grows when the adaptive controller backs off (at most \(LiveEnhancement.maxInterval))")
        }
        return FaceWork(tracking: tracking, swapper: engine, au: recorder, manyFaces: manyFaces,
                        watermark: watermark && (engine != nil || enhancement != nil), sourceWidth: sourceWidth, enhancement: enhancement)
    }
}

/// The named performance modes, as options spell them.
public enum LiveModeName: String, Sendable, Codable, CaseIterable {
    case performance, balanced, quality, battery
    public var mode: LiveMode { LiveMode.all.first { $0.name == rawValue }! }
}

/// What a live run was set up with, said once before capture starts.
public struct LiveSetupSummary: Sendable {
    public var source: String
    public var size: String
    public var work: String
    public var mode: String
    public var targetFPS: Double
    public var pipelined: Bool
    public var outputs: [String]
    public var accelerator: AcceleratorPlan
    public var line: String {
        "live: \(source) → \(size), \(work), mode \(mode), target \(String(format: "%.0f", targetFPS)) fps, \(pipelined ? "pipelined" : "sequential")"
    }
}

/// What a live run did.
public struct LiveResult: Codable, Sendable {
    public var frames: Int
    public var captured: Int
    public var dropped: Int
    public var skipped: Int
    public var seconds: Double
    public var fps: Double
    public var latencyMedianMs: Double
    public var latencyP90Ms: Double
    /// Mean ms per output frame: capture, detect, process, output.
    public var stageMeanMs: [Double]
    public var decisions: [Decision]
    public var ending: String
    public var recorded: Int?
    public var recording: String?
    public var auCsv: String?

    public struct Decision: Codable, Sendable {
        public var frame: Int
        public var t: Double
        public var level: Int
        public var change: String
    }

    init(_ report: LiveReport, recorded: Int?, recording: String?, auCsv: String?) {
        frames = report.output
        captured = report.captured
        dropped = report.dropped
        skipped = report.skipped
        seconds = report.seconds
        fps = report.fps
        latencyMedianMs = report.latencyMedianMs
        latencyP90Ms = report.latencyP90Ms
        stageMeanMs = report.stageMeanMs
        decisions = report.decisions.map { Decision(frame: $0.frame, t: JobJSON.round($0.seconds), level: $0.level, change: $0.message) }
        ending = report.ending
        self.recorded = recorded
        self.recording = recording
        self.auCsv = auCsv
    }

    enum CodingKeys: String, CodingKey {
        case frames, captured, dropped, skipped, seconds, fps, decisions, ending, recorded, recording
        case latencyMedianMs = "latency_median_ms", latencyP90Ms = "latency_p90_ms", stageMeanMs = "stage_mean_ms", auCsv = "au_csv"
    }
}
