/// The column layout of OpenFace 2.2 FeatureExtraction's CSV (RecorderCSV with every output on:
/// gaze, pose, 2D and 3D landmarks, PDM parameters, AUs). For 68 landmarks, 56 eye landmarks,
/// 34 modes, 17 intensity and 18 presence AUs that is 714 columns.
public struct OpenFaceCSVLayout: Sendable, Equatable {
    public static let eyeLandmarkCount = 56

    public var landmarkCount: Int
    public var modeCount: Int
    /// AU names without suffix ("AU01"), sorted as OpenFace sorts them before writing.
    public var intensityNames: [String]
    public var presenceNames: [String]

    public init(landmarkCount: Int = 68, modeCount: Int = 34, intensityNames: [String], presenceNames: [String]) {
        self.landmarkCount = landmarkCount
        self.modeCount = modeCount
        self.intensityNames = intensityNames.sorted()
        self.presenceNames = presenceNames.sorted()
    }

    /// OpenFace 2.2's default AU set (AU_all_best.txt): used when no predictor set is at hand,
    /// e.g. to write rows for a file where no face was ever found.
    public static let openFaceDefault = OpenFaceCSVLayout(
        intensityNames: ["AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14",
                         "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU45"],
        presenceNames: ["AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14",
                        "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU28", "AU45"])

    public var columns: [String] {
        var c = ["frame", "face_id", "timestamp", "confidence", "success"]
        c += ["gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_1_x", "gaze_1_y", "gaze_1_z", "gaze_angle_x", "gaze_angle_y"]
        for axis in ["x", "y", "X", "Y", "Z"] {
            c += (0..<Self.eyeLandmarkCount).map { "eye_lmk_\(axis)_\($0)" }
        }
        c += ["pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"]
        for axis in ["x", "y"] { c += (0..<landmarkCount).map { "\(axis)_\($0)" } }
        for axis in ["X", "Y", "Z"] { c += (0..<landmarkCount).map { "\(axis)_\($0)" } }
        c += ["p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty"]
        c += (0..<modeCount).map { "p_\($0)" }
        c += intensityNames.map { $0 + "_r" }
        c += presenceNames.map { $0 + "_c" }
        return c
    }

    public var header: String { columns.joined(separator: ",") }
}
