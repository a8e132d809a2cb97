import Foundation
import VisageCore

/// Stable identities across video frames. Detections are matched to live tracks by box overlap
/// (IoU) and, when embeddings are available, by identity similarity — so a face that was briefly
/// missed or jumped keeps its id. A track not confirmed by the detector for more than `maxLost`
/// frames ends.
public final class FaceTracker: @unchecked Sendable {
    public struct Config: Sendable, Equatable {
        /// Minimum IoU for a detection to continue a track by position.
        public var minimumIoU: Float = 0.3
        /// Cosine similarity that continues a track by identity (nil: position only).
        public var identityThreshold: Float?
        /// Frames a track survives without a confirming detection.
        public var maxLost: Int = 15
        public init(minimumIoU: Float = 0.3, identityThreshold: Float? = nil, maxLost: Int = 15) {
            self.minimumIoU = minimumIoU
            self.identityThreshold = identityThreshold
            self.maxLost = maxLost
        }
    }

    public struct Track: Sendable {
        public let id: Int
        public var box: Box
        public var embedding: [Float]?
        public var firstFrame: Int
        /// Last frame a detection confirmed this track.
        public var lastDetected: Int
        /// True while the last detection pass missed it (it is not drawn or propagated then).
        public var missing: Bool
    }

    public enum Event: Sendable, Equatable {
        case started(id: Int, frame: Int)
        case ended(id: Int, frame: Int, lastSeen: Int)
    }

    public let config: Config
    public private(set) var tracks: [Track] = []
    private var nextID = 1

    public init(config: Config = Config()) { self.config = config }

    /// Assigns track ids to this frame's detections (boxes, optional embeddings); returns the id
    /// of each detection and the tracks that started or ended.
    public func update(frame: Int, boxes: [Box], embeddings: [[Float]?]) -> (ids: [Int], events: [Event]) {
        var events: [Event] = []
        var candidates: [(track: Int, detection: Int, score: Float)] = []
        for (t, track) in tracks.enumerated() {
            for (d, box) in boxes.enumerated() {
                if let score = matchScore(track: track, box: box, embedding: embeddings[d], frame: frame) {
                    candidates.append((t, d, score))
                }
            }
        }
        candidates.sort { $0.score > $1.score }
        var ids = [Int](repeating: 0, count: boxes.count)
        var usedTracks = Set<Int>(), usedDetections = Set<Int>()
        for c in candidates where !usedTracks.contains(c.track) && !usedDetections.contains(c.detection) {
            usedTracks.insert(c.track)
            usedDetections.insert(c.detection)
            tracks[c.track].box = boxes[c.detection]
            tracks[c.track].lastDetected = frame
            tracks[c.track].missing = false
            if let e = embeddings[c.detection] { tracks[c.track].embedding = e }
            ids[c.detection] = tracks[c.track].id
        }
        for t in tracks.indices where !usedTracks.contains(t) { tracks[t].missing = true }
        for d in boxes.indices where !usedDetections.contains(d) {
            let track = Track(id: nextID, box: boxes[d], embedding: embeddings[d], firstFrame: frame, lastDetected: frame, missing: false)
            nextID += 1
            tracks.append(track)
            ids[d] = track.id
            events.append(.started(id: track.id, frame: frame))
        }
        events += expire(frame: frame)
        return (ids, events)
    }

    /// How well a detection continues a track; nil when it cannot be the same face.
    /// Overlap wins; a fast-moving face that no longer overlaps may still be matched by proximity
    /// (within 1.5 face sizes); identity similarity confirms a match or re-finds a face that moved away.
    func matchScore(track: Track, box: Box, embedding: [Float]?, frame: Int) -> Float? {
        let iou = track.box.iou(box)
        let size = max(track.box.width, track.box.height, 1)
        let distance = hypot(track.box.center.x - box.center.x, track.box.center.y - box.center.y) / size
        let scale = max(box.width, 1) / max(track.box.width, 1)
        var score: Float = 0
        if iou >= config.minimumIoU { score = 1 + iou }
        else if distance < 1.5, scale > 0.5, scale < 2 { score = 0.5 - distance / 3 }
        if let threshold = config.identityThreshold, let a = track.embedding, let b = embedding, a.count == b.count {
            let similarity = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            // Identity only confirms: on small or turning faces similarities are too noisy to veto a match.
            if similarity >= threshold { score = max(score, 0.5) + similarity }
        }
        return score > 0 ? score : nil
    }

    /// Moves a track's box between detections (from landmarks) without confirming it.
    public func propagate(id: Int, to box: Box) {
        if let t = tracks.firstIndex(where: { $0.id == id }) { tracks[t].box = box }
    }

    /// Marks a track as missing (its propagated landmarks stopped looking like a face).
    public func markMissing(id: Int) {
        if let t = tracks.firstIndex(where: { $0.id == id }) { tracks[t].missing = true }
    }

    /// Ends tracks not confirmed for more than `maxLost` frames.
    public func expire(frame: Int) -> [Event] {
        var events: [Event] = []
        tracks.removeAll { track in
            let over = frame - track.lastDetected > config.maxLost
            if over { events.append(.ended(id: track.id, frame: frame, lastSeen: track.lastDetected)) }
            return over
        }
        return events
    }

    /// Ends every track (end of the video).
    public func finish(frame: Int) -> [Event] {
        defer { tracks.removeAll() }
        return tracks.map { .ended(id: $0.id, frame: frame, lastSeen: $0.lastDetected) }
    }

    /// Tracks that are currently visible (confirmed at the last detection pass).
    public var visible: [Track] { tracks.filter { !$0.missing } }
}
