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
    /// Rows whose landmarks were restored from the CSV's own PDM parameters (`OpenFaceShapeRecovery`), and
    /// all rows.
    public private(set) var recoveredRows = 0
    public let rowCount: Int
    private var byFrame: [Int: [AUFaceObservation]] = [:]

    /// With `recovery`, rows that carry OpenFace's `p_*` columns get their landmarks back to a fraction of
    /// the CSV's 0.1 px rounding, and those parameters as the face's model fit (so `p_*`, pose and 3D
    /// landmarks are the CSV's own, as FeatureExtraction derives them).
    public init(track: OpenFaceLandmarkTrack, path: String, recovery: OpenFaceShapeRecovery? = nil) {
        name = "csv:" + path
        rowCount = track.entries.count
        for e in track.entries {
            var observation = AUFaceObservation(faceID: e.faceID, landmarks: e.landmarks, confidence: e.confidence, success: e.success)
            if let recovery, let fit = e.fit, let recovered = recovery.recover(landmarks: e.landmarks, fit: fit) {
                observation.landmarks = recovered.landmarks
                observation.modelFit = recovered.fit
                recoveredRows += 1
            }
            byFrame[e.frame, default: []].append(observation)
        }
    }

    public convenience init(contentsOf path: String, recovery: OpenFaceShapeRecovery? = nil) throws {
        self.init(track: try OpenFaceLandmarkTrack(contentsOf: path), path: path, recovery: recovery)
    }

    public var frameCount: Int { byFrame.keys.max() ?? 0 }

    public func observe(_ frame: Image, index: Int) throws -> [AUFaceObservation] {
        byFrame[index + 1] ?? []
    }
}
