import Foundation
import VisageCore
import VisageFace

/// One analysed face as results report it (the keys of `visage analyze --json` and the HTTP API).
public struct FaceRecord: Codable, Sendable, Equatable {
    public var box: [Double]
    public var score: Double
    public var kps: [[Double]]
    /// Track id and whether the box came from tracking (videos only).
    public var id: Int?
    public var tracked: Bool?
    public var landmarks: [[Double]]?
    public var landmarks106: [[Double]]?
    public var pose: PoseRecord?
    public var embedding: [Double]?

    public struct PoseRecord: Codable, Sendable, Equatable {
        public var yaw: Double
        public var pitch: Double
        public var roll: Double
        public var translationMM: [Double]

        enum CodingKeys: String, CodingKey {
            case yaw, pitch, roll
            case translationMM = "translation_mm"
        }
    }

    enum CodingKeys: String, CodingKey {
        case box, score, kps, id, tracked, landmarks, pose, embedding
        case landmarks106 = "landmarks_106"
    }

    public init(_ face: AnalyzedFace) {
        let points = { (l: [Point]) in l.map { [JobJSON.round($0.x), JobJSON.round($0.y)] } }
        box = [face.box.x1, face.box.y1, face.box.x2, face.box.y2].map { JobJSON.round($0) }
        score = JobJSON.round(face.score, 4)
        kps = points(face.keypoints)
        if let id = face.id { self.id = id; tracked = face.tracked }
        landmarks = face.landmarks.map(points)
        landmarks106 = face.landmarks106.map(points)
        pose = face.pose.map {
            PoseRecord(yaw: JobJSON.round($0.yaw), pitch: JobJSON.round($0.pitch), roll: JobJSON.round($0.roll),
                       translationMM: $0.translation.map { JobJSON.round($0, 1) })
        }
        embedding = face.embedding.map { $0.map { JobJSON.round($0, 6) } }
    }

    /// "score 0.998 box (12, 40)-(200, 260) yaw 3.1° pitch -2.0° roll 0.5° 68 landmarks".
    public var summary: String {
        var text = String(format: "score %.3f box (%.0f, %.0f)-(%.0f, %.0f)", score, box[0], box[1], box[2], box[3])
        if let p = pose { text += String(format: " yaw %.1f° pitch %.1f° roll %.1f°", p.yaw, p.pitch, p.roll) }
        if let l = landmarks { text += " \(l.count) landmarks" }
        if let e = embedding { text += " embedding[\(e.count)]" }
        return text
    }
}

/// One video frame's faces.
public struct FrameRecord: Codable, Sendable {
    public var frame: Int
    /// Seconds from the start of the video.
    public var time: Double
    public var faces: [FaceRecord]
}

/// A track starting or ending.
public struct TrackEventRecord: Codable, Sendable, Equatable {
    /// "track_start" or "track_end".
    public var event: String
    public var id: Int
    public var frame: Int
    /// track_end: the last frame the face was seen.
    public var lastSeen: Int?

    enum CodingKeys: String, CodingKey {
        case event, id, frame
        case lastSeen = "last_seen"
    }

    public init(_ event: FaceTracker.Event) {
        switch event {
        case .started(let id, let frame): self.event = "track_start"; self.id = id; self.frame = frame; lastSeen = nil
        case .ended(let id, let frame, let last): self.event = "track_end"; self.id = id; self.frame = frame; lastSeen = last
        }
    }
}
