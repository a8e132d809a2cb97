import VisageAU
import VisageCore

/// One fitted face, in OpenFace's terms.
public struct CLNFResult: Sendable {
    /// The 68 landmarks in OpenFace's layout: x_0…x_67 then y_0…y_67 (frame pixels).
    public var landmarks: [Float]
    public var global: PDMGlobalParameters
    public var local: [Float]
    /// FeatureExtraction's `success` for this frame.
    public var success: Bool
    /// `detection_certainty`, the CSV's `confidence`: the validator's certainty, or 1 / 0 without validation.
    public var confidence: Double
    /// Mean log-likelihood of the last fit (`model_likelihood`).
    public var likelihood: Float
    /// Landmarks of each part model after the fit, by part name (e.g. `left_eye_28`), same x…/y… layout.
    public var parts: [String: [Float]]
    /// Each part model's own PDM parameters after the fit, by part name (for its camera-space shape: gaze).
    public var partFits: [String: PDMFit] = [:]

    /// The 56 eye landmarks of `left_eye_28` then `right_eye_28` (OpenFace's `CalculateAllEyeLandmarks`,
    /// the CSV's eye_lmk_x_0…55 / eye_lmk_y_0…55), as points; nil without eye models.
    public var eyeLandmarks: [Point]? {
        guard let left = parts["left_eye_28"], let right = parts["right_eye_28"] else { return nil }
        func points(_ v: [Float]) -> [Point] { let n = v.count / 2; return (0..<n).map { Point(v[$0], v[$0 + n]) } }
        return points(left) + points(right)
    }

    /// The 68 landmarks as points.
    public var points: [Point] {
        let n = landmarks.count / 2
        return (0..<n).map { Point(landmarks[$0], landmarks[$0 + n]) }
    }
}
