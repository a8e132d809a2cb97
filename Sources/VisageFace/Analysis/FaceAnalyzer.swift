import Foundation
import VisageCore
import VisageMedia
import VisageRuntime

/// Everything Visage knows about one face in one frame. Coordinates are frame pixels.
public struct AnalyzedFace: Sendable, Codable {
    /// Track id in videos (stable across frames); nil for still images.
    public var id: Int?
    public var box: Box
    /// Detector score (carried over from the last detection on tracked frames).
    public var score: Float
    public var keypoints: [Point]
    public var landmarks: [Point]?
    /// insightface 2d106det points, when that model is installed and asked for.
    public var landmarks106: [Point]?
    public var pose: HeadPose?
    public var embedding: [Float]?
    /// True when the box came from the previous frame's landmarks rather than the detector.
    public var tracked: Bool
}

/// What to compute per face; only what is asked for runs.
public struct AnalysisOptions: Sendable {
    public var landmarks = true
    public var pose = true
    public var embeddings = false
    /// Run the detector every `detectEvery` frames of a video; landmarks carry faces in between.
    public var detectEvery = 5
    /// Frames a face may go unconfirmed before its track ends.
    public var maxLost = 15
    public init(landmarks: Bool = true, pose: Bool = true, embeddings: Bool = false, detectEvery: Int = 5, maxLost: Int = 15) {
        self.landmarks = landmarks
        self.pose = pose
        self.embeddings = embeddings
        self.detectEvery = detectEvery
        self.maxLost = maxLost
    }
}

/// Milliseconds per stage, summed over the faces of a frame.
public struct AnalysisTimings: Sendable {
    public var detect = 0.0, landmarks = 0.0, align = 0.0, embed = 0.0, pose = 0.0
    public init() {}
}

/// Detection → 68 landmarks (batched) → head pose → identity embedding, for images and (with
/// tracking) for video frames.
public final class FaceAnalyzer: @unchecked Sendable {
    public let detector: FaceDetector
    public let landmarker: PFLDLandmarker?
    public let embedder: FaceEmbedder?
    public let poseEstimator: HeadPoseEstimator
    public private(set) var options: AnalysisOptions
    public let tracker: FaceTracker
    /// Optional insightface 106-point model (still images).
    public var landmarker106: Insightface106Landmarker?
    private var frameIndex = 0
    private var needsDetection = true
    /// Per track: the detector box expressed relative to the landmark bounds, so boxes propagated
    /// from landmarks look like the detector's (and PFLD sees the same crop).
    private var boxShape: [Int: (dx1: Float, dy1: Float, dx2: Float, dy2: Float, score: Float)] = [:]
    private var lastLandmarks: [Int: [Point]] = [:]

    public init(detector: FaceDetector, landmarker: PFLDLandmarker?, embedder: FaceEmbedder?, options: AnalysisOptions = AnalysisOptions(),
                poseEstimator: HeadPoseEstimator = HeadPoseEstimator()) throws {
        if (options.landmarks || options.pose) && landmarker == nil {
            throw VisageError.invalidArgument("landmarks and pose need a landmark model")
        }
        if options.embeddings && embedder == nil { throw VisageError.invalidArgument("embeddings need a recognition model") }
        guard options.detectEvery >= 1, options.maxLost >= 0 else { throw VisageError.invalidArgument("detectEvery must be ≥ 1 and maxLost ≥ 0") }
        self.detector = detector
        self.landmarker = landmarker
        self.embedder = embedder
        self.options = options
        self.poseEstimator = poseEstimator
        self.tracker = FaceTracker(config: .init(identityThreshold: embedder?.profile.threshold, maxLost: options.maxLost))
    }

    /// One still image: every face, no ids.
    public func analyze(_ image: Image, timings: inout AnalysisTimings) throws -> [AnalyzedFace] {
        var clock = ContinuousClock.now
        let detected = try detector.detect(image)
        timings.detect += clock.lap()
        var faces = detected.map { AnalyzedFace(id: nil, box: $0.box, score: $0.score, keypoints: $0.keypoints, tracked: false) }
        try describe(&faces, in: image, timings: &timings)
        if let landmarker106 {
            let all = try landmarker106.landmarks(in: image, boxes: faces.map(\.box))
            for i in faces.indices { faces[i].landmarks106 = all[i] }
        }
        if !options.embeddings { for i in faces.indices { faces[i].embedding = nil } }
        return faces
    }

    /// The next frame of a video: detection every `detectEvery` frames (or when a tracked face
    /// was lost), landmark propagation in between, ids from the tracker.
    public func analyzeNext(_ frame: Image, timings: inout AnalysisTimings) throws -> (faces: [AnalyzedFace], events: [FaceTracker.Event]) {
        defer { frameIndex += 1 }
        var events: [FaceTracker.Event] = []
        var faces: [AnalyzedFace]
        let detect = needsDetection || frameIndex % options.detectEvery == 0 || landmarker == nil || tracker.visible.isEmpty
        if detect {
            var clock = ContinuousClock.now
            let detected = try detector.detect(frame)
            timings.detect += clock.lap()
            faces = detected.map { AnalyzedFace(id: nil, box: $0.box, score: $0.score, keypoints: $0.keypoints, tracked: false) }
            try describe(&faces, in: frame, timings: &timings)
            let update = tracker.update(frame: frameIndex, boxes: faces.map(\.box), embeddings: faces.map(\.embedding))
            events = update.events
            for i in faces.indices {
                let id = update.ids[i]
                faces[i].id = id
                if let l = faces[i].landmarks { remember(id: id, box: faces[i].box, score: faces[i].score, landmarks: l) }
            }
            needsDetection = false
            if !options.embeddings { for i in faces.indices { faces[i].embedding = nil } }
        } else {
            // Between detections: each visible track's box follows its landmarks.
            let live = tracker.visible.filter { lastLandmarks[$0.id] != nil && boxShape[$0.id] != nil }
            faces = live.map { track in
                let box = propagatedBox(id: track.id)
                return AnalyzedFace(id: track.id, box: box, score: boxShape[track.id]!.score, keypoints: [], tracked: true)
            }
            try describe(&faces, in: frame, timings: &timings)
            var kept: [AnalyzedFace] = []
            for face in faces {
                guard let id = face.id, let l = face.landmarks, let previous = lastLandmarks[id] else { continue }
                if Self.plausibleMotion(from: previous, to: l) {
                    let box = box(fromLandmarks: l, id: id)
                    var moved = face
                    moved.box = box
                    tracker.propagate(id: id, to: box)
                    lastLandmarks[id] = l
                    kept.append(moved)
                } else {
                    // The landmarks jumped or collapsed: trust the detector again on the next frame.
                    tracker.markMissing(id: id)
                    needsDetection = true
                }
            }
            faces = kept
            events = tracker.expire(frame: frameIndex)
        }
        for case .ended(let id, _, _) in events {
            boxShape.removeValue(forKey: id)
            lastLandmarks.removeValue(forKey: id)
        }
        return (faces, events)
    }

    /// Ends every open track (call at the end of a video).
    public func finish() -> [FaceTracker.Event] { tracker.finish(frame: frameIndex) }

    private func describe(_ faces: inout [AnalyzedFace], in image: Image, timings: inout AnalysisTimings) throws {
        guard !faces.isEmpty else { return }
        var clock = ContinuousClock.now
        if let landmarker, options.landmarks || options.pose || faces.contains(where: { $0.keypoints.isEmpty }) {
            let all = try landmarker.landmarks(in: image, boxes: faces.map(\.box))
            for i in faces.indices {
                faces[i].landmarks = all[i]
                if faces[i].keypoints.isEmpty { faces[i].keypoints = Landmarks68.fivePoints(all[i]) }
            }
            timings.landmarks += clock.lap()
        }
        if options.pose {
            clock = .now
            for i in faces.indices {
                if let l = faces[i].landmarks {
                    faces[i].pose = try? poseEstimator.estimate(landmarks: l, frameWidth: image.width, frameHeight: image.height)
                }
            }
            timings.pose += clock.lap()
        }
        // Embeddings when asked for, and on detection frames for the tracker's identity matching.
        // All faces of the frame in one go: the embedder batches them where its model takes a batch.
        if let embedder, options.embeddings || !faces.contains(where: { $0.tracked }) {
            clock = .now
            let crops = try faces.map { try FaceAlignment.crop(image, keypoints: $0.keypoints, template: embedder.profile.template).crop }
            timings.align += clock.lap()
            let embeddings = try embedder.embeddings(alignedCrops: crops)
            for i in faces.indices {
                if let embedding = embeddings[i] {
                    faces[i].embedding = embedding
                } else {
                    // Identity is a help for tracking, not the result: go on without it for this face.
                    DecisionLog.once(Self.logger, "\(embedder.session.modelPath): it computed non-finite numbers (NaN or infinity) for a face; the file is probably corrupt; identities are not used for those faces", level: .warning)
                }
            }
            timings.embed += clock.lap()
        }
        if !options.landmarks { for i in faces.indices { faces[i].landmarks = nil } }
        dropUntrusted(&faces)
    }

    /// Landmarks are model outputs too: faces whose landmarks are not all numbers are dropped (said once),
    /// non-finite poses removed.
    private func dropUntrusted(_ faces: inout [AnalyzedFace]) {
        let before = faces.count
        faces.removeAll { face in !(face.landmarks ?? []).allSatisfy(\.isFinite) || !face.keypoints.allSatisfy(\.isFinite) }
        if faces.count < before {
            DecisionLog.once(Self.logger, "the landmark model gave non-finite values; those faces are skipped (is the model file corrupt?)", level: .warning)
        }
        for i in faces.indices {
            if let p = faces[i].pose, ![p.yaw, p.pitch, p.roll].allSatisfy(\.isFinite) || !p.translation.allSatisfy(\.isFinite) { faces[i].pose = nil }
        }
    }

    private static let logger = VisageLog.logger("face")

    private func remember(id: Int, box: Box, score: Float, landmarks: [Point]) {
        let b = Landmarks68.bounds(landmarks)
        let w = max(b.width, 1), h = max(b.height, 1)
        boxShape[id] = ((box.x1 - b.x1) / w, (box.y1 - b.y1) / h, (box.x2 - b.x2) / w, (box.y2 - b.y2) / h, score)
        lastLandmarks[id] = landmarks
    }

    private func box(fromLandmarks l: [Point], id: Int) -> Box {
        let b = Landmarks68.bounds(l)
        guard let s = boxShape[id] else { return b }
        let w = max(b.width, 1), h = max(b.height, 1)
        return Box(x1: b.x1 + s.dx1 * w, y1: b.y1 + s.dy1 * h, x2: b.x2 + s.dx2 * w, y2: b.y2 + s.dy2 * h)
    }

    private func propagatedBox(id: Int) -> Box { box(fromLandmarks: lastLandmarks[id]!, id: id) }

    /// Landmarks of consecutive frames belong to the same face if the face neither jumped by more
    /// than half its size nor changed size by more than a third.
    static func plausibleMotion(from a: [Point], to b: [Point]) -> Bool {
        let ba = Landmarks68.bounds(a), bb = Landmarks68.bounds(b)
        let size = max(ba.width, ba.height, 1)
        let shift = hypot(ba.center.x - bb.center.x, ba.center.y - bb.center.y)
        let ratio = max(bb.width, 1) / max(ba.width, 1)
        return shift < size / 2 && ratio > 0.67 && ratio < 1.5
    }
}

// Live pipeline: detection interval changed on the fly
extension FaceAnalyzer {
    /// Changes how often the detector runs (the live pipeline's adaptive controller); tracking
    /// state is kept. Call from the thread that calls `analyzeNext`.
    public func setDetectEvery(_ frames: Int) {
        options.detectEvery = max(1, frames)
    }
}
