import Foundation
import VisageCore

/// When the temporal cache runs the network. Every knob may be changed between frames (the live
/// controller raises `interval` under load).
public struct TemporalCachePolicy: Sendable, Codable, Equatable {
    /// The quality switch: false runs the network on every face of every frame.
    public var enabled: Bool
    /// N: a face's network output is reused for at most N − 1 frames after the key frame that made it
    /// (1 = every frame).
    public var interval: Int
    /// Also force a key frame when the face moves non-rigidly more than `motionThreshold`.
    public var adaptive: Bool
    /// The largest landmark displacement tolerated between the key frame and now, measured after both are
    /// aligned to the template (so head translation, rotation in the image plane and scale do not count:
    /// only pose and expression do), in pixels of a 512 crop.
    public var motionThreshold: Double

    /// The defaults (N = 4, adaptive at 16 px) save about three network runs in four on a talking head
    /// (docs/ENHANCE.md has the measurements behind them).
    public init(enabled: Bool = true, interval: Int = 4, adaptive: Bool = true, motionThreshold: Double = 16) {
        self.enabled = enabled
        self.interval = interval
        self.adaptive = adaptive
        self.motionThreshold = motionThreshold
    }

    /// The network on every frame (the reference the cache is measured against).
    public static let everyFrame = TemporalCachePolicy(enabled: false, interval: 1, adaptive: false)
    /// A key frame every `n` frames, whatever the motion.
    public static func every(_ n: Int) -> TemporalCachePolicy { TemporalCachePolicy(enabled: true, interval: n, adaptive: false) }

    func validate() throws {
        guard interval >= 1 else { throw VisageError.invalidArgument("temporal cache interval must be ≥ 1, got \(interval)") }
        guard motionThreshold >= 0, motionThreshold.isFinite else {
            throw VisageError.invalidArgument("temporal cache motion threshold must be ≥ 0, got \(motionThreshold)")
        }
    }
}

/// Why a face was (re)enhanced on a frame, or that its cached face was reused.
public enum CacheDecision: String, Sendable, Codable, CaseIterable {
    /// The cache is off (`policy.enabled == false`).
    case disabled
    /// No track id: nothing to match a cached face with.
    case untracked
    /// A track id seen for the first time (a new face, or the tracker switched identities).
    case newTrack
    /// `interval` frames since the last key frame.
    case interval
    /// Pose or expression changed more than the threshold.
    case motion
    /// The cached face, moved with this frame's alignment.
    case reused
    /// Too small for the template.
    case skipped
}

/// Face enhancement for video and live: the network runs on key frames only; in between, each track's
/// last restored face (in the model's aligned crop space) is pasted again through the current frame's own
/// alignment, so it follows the head, and blended as usual. One instance per stream; not thread-safe.
public final class TemporalFaceEnhancer: @unchecked Sendable {
    public let engine: FaceEnhancementEngine
    public var policy: TemporalCachePolicy

    /// Counts since creation (or `reset`).
    public struct Statistics: Sendable, Codable, Equatable {
        public var frames = 0
        /// Faces enhanced (key or reused).
        public var faces = 0
        public var modelRuns = 0
        public var reused = 0
        public var decisions: [String: Int] = [:]
        /// Fraction of enhanced faces that did not need the network.
        public var savedFraction: Double { faces == 0 ? 0 : Double(reused) / Double(faces) }
    }
    public private(set) var statistics = Statistics()

    private struct Cached {
        var crop: Image
        /// Where the motion points sat in the crop on the key frame.
        var points: [Point]
        var age: Int
    }
    private var cache: [Int: Cached] = [:]
    private var reportedSmall: Set<Int> = []
    private static let logger = VisageLog.logger("enhance")

    public init(engine: FaceEnhancementEngine, policy: TemporalCachePolicy = TemporalCachePolicy()) throws {
        try policy.validate()
        self.engine = engine
        self.policy = policy
    }

    /// Forgets every cached face (a cut in the video, a new source).
    public func reset() {
        cache.removeAll()
        reportedSmall.removeAll()
        statistics = Statistics()
    }

    /// Enhances the faces of the next frame in place. Returns one decision per face.
    @discardableResult
    public func enhance(_ frame: Image, faces: [EnhanceFace], times: StageTimes? = nil,
                        shouldStop: () -> Bool = { false }) throws -> [CacheDecision] {
        try policy.validate()
        try engine.options.validate()
        try FaceEnhancementEngine.checkImage(frame)
        var decisions: [CacheDecision] = []
        var restored: [RestoredFace] = []
        var updates: [Int: Cached] = [:]
        let scaleTo512 = 512 / Double(engine.profile.size)
        for face in faces {
            if let reason = engine.tooSmall(face) {
                if let id = face.trackID {
                    if reportedSmall.insert(id).inserted { Self.logger.info("track \(id) skipped: \(reason)") }
                } else {
                    Self.logger.info("face skipped: \(reason)")
                }
                decisions.append(.skipped)
                continue
            }
            let transform = try times.measure("align") { try EnhancerAlignment.transform(keypoints: face.keypoints, profile: engine.profile) }
            let points = Self.motionPoints(face, transform: transform)
            var decision: CacheDecision
            if !policy.enabled { decision = .disabled }
            else if let id = face.trackID, let cached = cache[id] {
                if cached.age + 1 >= policy.interval { decision = .interval }
                else if policy.adaptive, Self.motion(cached.points, points) * scaleTo512 > policy.motionThreshold { decision = .motion }
                else { decision = .reused }
            } else {
                decision = face.trackID == nil ? .untracked : .newTrack
            }
            if decision == .reused, let id = face.trackID, var cached = cache[id] {
                cached.age += 1
                updates[id] = cached
                restored.append(RestoredFace(crop: cached.crop, transform: transform))
            } else {
                if shouldStop() { throw VisageError.interrupted }
                let crop = try engine.restore(frame, transform: transform, times: times)
                if let id = face.trackID { updates[id] = Cached(crop: crop, points: points, age: 0) }
                restored.append(RestoredFace(crop: crop, transform: transform))
                statistics.modelRuns += 1
            }
            decisions.append(decision)
            statistics.decisions[decision.rawValue, default: 0] += 1
        }
        try engine.composite(restored, into: frame, times: times)
        // Tracks absent from this frame are dropped: when an id comes back it gets a fresh key frame.
        cache = updates
        statistics.frames += 1
        statistics.faces += restored.count
        statistics.reused += decisions.filter { $0 == .reused }.count
        return decisions
    }

    /// The points whose motion decides key frames, in crop pixels: the dense landmarks when given (they
    /// see the mouth and eyes open and close), else the 5 keypoints.
    static func motionPoints(_ face: EnhanceFace, transform: Affine2D) -> [Point] {
        (face.landmarks ?? face.keypoints).map(transform.apply)
    }

    /// Largest displacement between two point sets (different counts: infinite, i.e. a key frame).
    static func motion(_ a: [Point], _ b: [Point]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return .infinity }
        var worst: Float = 0
        for (p, q) in zip(a, b) {
            let dx = p.x - q.x, dy = p.y - q.y
            worst = max(worst, (dx * dx + dy * dy).squareRoot())
        }
        return Double(worst)
    }
}
