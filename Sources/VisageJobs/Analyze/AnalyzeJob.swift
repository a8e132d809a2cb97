import Foundation
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

/// Per face: id, box, score, 5 keypoints, 68 landmarks, head pose, optional identity embedding — for an
/// image or a video (tracked, with track start/end events).
public struct AnalyzeJob: VisageJob {
    public static let kind = JobKind.analyze
    public var input: String
    /// Annotated copy: an image for an image, a video for a video (audio kept).
    public var draw: String?
    public var embeddings = false
    public var detectEvery = 5
    /// Frames a face may go undetected before its track ends.
    public var maxLost = 15
    /// Videos: stop after this many frames (0: all).
    public var maxFrames = 0
    public var detector = DetectorFactory.defaultModel
    public var recognizer = FaceEmbedder.Profile.sface.modelID
    /// Keep every frame's record in the result (`--json`); streaming callers (`--jsonl`) leave it off.
    public var collectFrames = true

    public static let maxLostRange = 0...10_000

    public init(input: String) { self.input = input }

    enum CodingKeys: String, CodingKey {
        case input, draw, embeddings, detector, recognizer
        case detectEvery = "detect-every", maxLost = "max-lost", maxFrames = "max-frames", collectFrames = "collect-frames"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        input = try c.decode(String.self, forKey: .input)
        draw = try c.decodeIfPresent(String.self, forKey: .draw)
        embeddings = try c.decodeIfPresent(Bool.self, forKey: .embeddings) ?? false
        detectEvery = try c.decodeIfPresent(Int.self, forKey: .detectEvery) ?? 5
        maxLost = try c.decodeIfPresent(Int.self, forKey: .maxLost) ?? 15
        maxFrames = try c.decodeIfPresent(Int.self, forKey: .maxFrames) ?? 0
        detector = try c.decodeIfPresent(String.self, forKey: .detector) ?? DetectorFactory.defaultModel
        recognizer = try c.decodeIfPresent(String.self, forKey: .recognizer) ?? FaceEmbedder.Profile.sface.modelID
        collectFrames = try c.decodeIfPresent(Bool.self, forKey: .collectFrames) ?? true
    }

    var isVideo: Bool { MediaKind.isVideo(input) }

    public var requiredModels: [String] {
        FacePipeline.requiredModels(detector: detector, identity: embeddings || isVideo ? recognizer : nil)
    }

    public func validateOptions() throws {
        try OptionRules.check("detect-every", detectEvery, in: OptionRules.detectEvery)
        try OptionRules.check("max-lost", maxLost, in: Self.maxLostRange)
        try OptionRules.check("max-frames", maxFrames, in: 0...Int.max)
    }

    public func validate() throws {
        try validateOptions()
        try ImageIO.checkReadableFile(input)
        if let draw { try OutputCheck.validate(draw, kind: isVideo ? .video : .image, inputs: [input], role: "draw") }
    }

    /// Runs the analysis; for videos `onFrame` gets each frame's record and the track events it raised, in
    /// order, as they are made (streaming output), and once more with no record for the tracks still open
    /// at the end.
    public func run(in context: JobContext, onFrame: ((FrameRecord?, [TrackEventRecord]) throws -> Void)?) throws -> AnalyzeResult {
        try validate()
        let options = AnalysisOptions(embeddings: embeddings, detectEvery: detectEvery, maxLost: maxLost)
        return isVideo ? try analyzeVideo(options, context: context, onFrame: onFrame) : try analyzeImage(options, context: context)
    }

    public func run(in context: JobContext) throws -> AnalyzeResult { try run(in: context, onFrame: nil) }

    private func analyzeImage(_ options: AnalysisOptions, context: JobContext) throws -> AnalyzeResult {
        let image = try ImageIO.read(input)
        let pipeline = FacePipeline(context: context)
        let analyzer = try pipeline.analyzer(detector: detector, options: options, identity: embeddings ? recognizer : nil)
        analyzer.landmarker106 = try pipeline.landmarker106IfInstalled()
        var timings = AnalysisTimings()
        let faces = try analyzer.analyze(image, timings: &timings)
        if let draw {
            let annotated = image.copy()
            FaceAnnotation.draw(faces, on: annotated)
            try ImageIO.write(annotated, to: draw)
        }
        var result = AnalyzeResult(input: input, width: image.width, height: image.height)
        result.faces = faces.map(FaceRecord.init)
        result.accelerator = analyzer.detector.session.plan
        return result
    }

    private func analyzeVideo(_ options: AnalysisOptions, context: JobContext,
                              onFrame: ((FrameRecord?, [TrackEventRecord]) throws -> Void)?) throws -> AnalyzeResult {
        let reader = try VideoReader(path: input)
        let pipeline = FacePipeline(context: context)
        let analyzer = try pipeline.analyzer(detector: detector, options: options, identity: recognizer)
        analyzer.landmarker106 = try pipeline.landmarker106IfInstalled()
        let writer = try draw.map {
            try VideoWriter(path: $0, width: reader.width, height: reader.height, fps: reader.fps > 0 ? reader.fps : 25, audioFrom: input,
                            timeBase: reader.timeBase)
        }
        var result = AnalyzeResult(input: input, width: reader.width, height: reader.height)
        result.fps = reader.fps
        result.accelerator = analyzer.detector.session.plan
        var timings = AnalysisTimings()
        var index = 0, ids = Set<Int>()
        let meter = ProgressMeter(stage: "analyze", total: maxFrames > 0 ? min(maxFrames, reader.frameCount) : reader.frameCount,
                                  sink: context.progress)
        do {
            while maxFrames == 0 || index < maxFrames, let decoded = try reader.readFrame() {
                try context.cancellation.check()
                let frame = decoded.image
                let (faces, frameEvents) = try analyzer.analyzeNext(frame, timings: &timings)
                faces.compactMap(\.id).forEach { ids.insert($0) }
                let record = FrameRecord(frame: index, time: reader.fps > 0 ? Double(index) / reader.fps : 0, faces: faces.map(FaceRecord.init))
                let events = frameEvents.map(TrackEventRecord.init)
                try onFrame?(record, events)
                if collectFrames { result.frames.append(record) }
                result.events += events
                if let writer {
                    let annotated = frame.copy()
                    FaceAnnotation.draw(faces, on: annotated)
                    try writer.write(annotated, timestamp: decoded.timestamp)
                }
                index += 1
                meter.advance()
            }
            let last = analyzer.finish().map(TrackEventRecord.init)
            try onFrame?(nil, last)
            result.events += last
            try writer?.finish()
        } catch {
            writer?.cancel()
            throw error
        }
        meter.finish()
        result.frameCount = index
        result.tracks = ids.count
        result.warnings = reader.decodeReport.summary.map { ["\(input): \($0)"] } ?? []
        return result
    }
}

/// What `AnalyzeJob` found: the faces of an image, or a video's frames, track events and track count.
public struct AnalyzeResult: Codable, Sendable {
    public var input: String
    public var width: Int
    public var height: Int
    /// Image: its faces.
    public var faces: [FaceRecord]?
    /// Video.
    public var fps: Double?
    public var frames: [FrameRecord] = []
    public var events: [TrackEventRecord] = []
    public var tracks: Int?
    /// Frames read (videos).
    public var frameCount: Int?
    /// A damaged or cut-short video, in words (not encoded: `--json` keeps its keys; front ends print it).
    public var warnings: [String] = []
    /// Not encoded: the banner says it.
    public var accelerator: AcceleratorPlan?

    init(input: String, width: Int, height: Int) { self.input = input; self.width = width; self.height = height }

    enum CodingKeys: String, CodingKey { case input, width, height, faces, fps, frames, events, tracks }

    public var isVideo: Bool { faces == nil }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(input, forKey: .input)
        try c.encode(width, forKey: .width)
        try c.encode(height, forKey: .height)
        if let faces {
            try c.encode(faces, forKey: .faces)
        } else {
            try c.encode(fps ?? 0, forKey: .fps)
            try c.encode(frames, forKey: .frames)
            try c.encode(events, forKey: .events)
            try c.encode(tracks ?? 0, forKey: .tracks)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        input = try c.decode(String.self, forKey: .input)
        width = try c.decode(Int.self, forKey: .width)
        height = try c.decode(Int.self, forKey: .height)
        faces = try c.decodeIfPresent([FaceRecord].self, forKey: .faces)
        fps = try c.decodeIfPresent(Double.self, forKey: .fps)
        frames = try c.decodeIfPresent([FrameRecord].self, forKey: .frames) ?? []
        events = try c.decodeIfPresent([TrackEventRecord].self, forKey: .events) ?? []
        tracks = try c.decodeIfPresent(Int.self, forKey: .tracks)
    }
}
