import VisageCore

/// One face in one frame, as the AU stage needs it.
public struct AUFaceObservation: Sendable {
    /// Stable per person across frames (OpenFace's face_id).
    public var faceID: Int
    /// 68 points: x_0…x_67 then y_0…y_67 (OpenFace's layout).
    public var landmarks: [Float]
    public var confidence: Double
    public var success: Bool
    /// The landmark model's own PDM fit when it has one (CLNF): FeatureExtraction writes these as the
    /// `p_*` columns and derives pose and 3D landmarks from them. Without it (PFLD, a CSV), the AU
    /// stage's CalcParams fit stands in.
    public var modelFit: PDMFit?
    /// The eye models' fits when the landmark model has them (CLNF's eye parts): the AU stage derives gaze
    /// and the eye columns from them and the head pose it computes anyway.
    public var eyes: OpenFaceEyes?

    public init(faceID: Int, landmarks: [Float], confidence: Double, success: Bool,
                modelFit: PDMFit? = nil, eyes: OpenFaceEyes? = nil) {
        self.faceID = faceID
        self.landmarks = landmarks
        self.confidence = confidence
        self.success = success
        self.modelFit = modelFit
        self.eyes = eyes
    }

    /// From 68 points in image coordinates.
    public init(faceID: Int, points: [Point], confidence: Double, success: Bool = true) {
        var l = [Float](repeating: 0, count: 2 * points.count)
        for (i, p) in points.enumerated() { l[i] = p.x; l[points.count + i] = p.y }
        self.init(faceID: faceID, landmarks: l, confidence: confidence, success: success)
    }
}

/// Where the AU stage gets its 68 landmarks: a detector + landmark model (PFLD now, OpenFace's
/// CLNF later), or landmarks a researcher already has (an OpenFace CSV). Called once per frame,
/// in order, from one thread.
public protocol AULandmarkSource: AnyObject {
    /// Human-readable name for logs and the CSV's provenance ("pfld", "csv:<file>").
    var name: String { get }
    /// The faces in frame `index` (0-based).
    func observe(_ frame: Image, index: Int) throws -> [AUFaceObservation]
}

/// Landmarks replayed from an OpenFace CSV (`--landmarks-from`), matched by frame number.
public final class CSVLandmarkSource: AULandmarkSource {
    public let name: String
    private var byFrame: [Int: [AUFaceObservation]] = [:]

    public init(track: OpenFaceLandmarkTrack, path: String) {
        name = "csv:" + path
        for e in track.entries {
            byFrame[e.frame, default: []].append(AUFaceObservation(faceID: e.faceID, landmarks: e.landmarks,
                                                                   confidence: e.confidence, success: e.success))
        }
    }

    public convenience init(contentsOf path: String) throws {
        self.init(track: try OpenFaceLandmarkTrack(contentsOf: path), path: path)
    }

    public var frameCount: Int { byFrame.keys.max() ?? 0 }

    public func observe(_ frame: Image, index: Int) throws -> [AUFaceObservation] {
        byFrame[index + 1] ?? []
    }
}
