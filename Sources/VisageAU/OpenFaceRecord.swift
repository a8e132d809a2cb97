/// One row of OpenFace's FeatureExtraction CSV: one face in one frame.
///
/// Values a landmark source cannot give (gaze and the eye-region landmarks need OpenFace's eye
/// CLNF models) stay at 0, which is what OpenFace writes when it has no estimate for them.
public struct OpenFaceRecord: Sendable {
    /// 1-based, as OpenFace numbers frames.
    public var frame: Int
    public var faceID: Int
    public var timestamp: Double
    public var confidence: Double
    public var success: Bool
    /// gaze_0 xyz, gaze_1 xyz, gaze angle x, y.
    public var gaze: [Float]
    /// eye_lmk_x then eye_lmk_y (2 × 56).
    public var eyeLandmarks2D: [Float]
    /// eye_lmk_X, _Y, _Z (3 × 56).
    public var eyeLandmarks3D: [Float]
    /// Tx, Ty, Tz (mm), Rx, Ry, Rz (radians).
    public var pose: [Float]
    /// x_0…x_{n-1} then y_0…y_{n-1} (OpenFace's column layout).
    public var landmarks2D: [Float]
    /// X…, Y…, Z… in camera space (mm).
    public var landmarks3D: [Float]
    /// p_scale, p_rx, p_ry, p_rz, p_tx, p_ty.
    public var globalParameters: [Float]
    public var localParameters: [Float]
    /// In the layout's (sorted) intensity order.
    public var intensities: [Double]
    /// In the layout's (sorted) presence order.
    public var presences: [Double]

    public init(frame: Int, faceID: Int, timestamp: Double, layout: OpenFaceCSVLayout) {
        self.frame = frame
        self.faceID = faceID
        self.timestamp = timestamp
        confidence = 0
        success = false
        gaze = [Float](repeating: 0, count: 8)
        eyeLandmarks2D = [Float](repeating: 0, count: 2 * OpenFaceCSVLayout.eyeLandmarkCount)
        eyeLandmarks3D = [Float](repeating: 0, count: 3 * OpenFaceCSVLayout.eyeLandmarkCount)
        pose = [Float](repeating: 0, count: 6)
        landmarks2D = [Float](repeating: 0, count: 2 * layout.landmarkCount)
        landmarks3D = [Float](repeating: 0, count: 3 * layout.landmarkCount)
        globalParameters = [Float](repeating: 0, count: 6)
        localParameters = [Float](repeating: 0, count: layout.modeCount)
        intensities = [Double](repeating: 0, count: layout.intensityNames.count)
        presences = [Double](repeating: 0, count: layout.presenceNames.count)
    }
}
