import Foundation
import VisageCore
import VisageMedia

/// Head orientation and position in the camera frame (OpenCV/OpenFace axes: x right, y down,
/// z away from the camera). Angles follow OpenFace's pose_R: R = Rx(pitch) · Ry(yaw) · Rz(roll).
public struct HeadPose: Sendable, Equatable, Codable {
    /// Degrees, with the signs of OpenFace's pose_Ry / pose_Rx / pose_Rz.
    public var yaw: Float
    public var pitch: Float
    public var roll: Float
    /// Millimetres from the camera centre to the point between the inner eye corners.
    public var translation: [Float]
    /// OpenCV rotation vector (radians), for reprojection.
    public var rotationVector: [Float]
}

/// PnP head pose from 68 landmarks with a generic 13-point 3D face (mm), camera intrinsics
/// guessed as OpenFace does unless given.
public struct HeadPoseEstimator: Sendable {
    /// iBUG index → (x, y, z) in mm, origin between the inner eye corners. Widths/heights from
    /// published adult anthropometric norms, depths from MediaPipe's Apache-2.0 canonical face
    /// (docs/ANALYSIS.md lists the sources); nothing from OpenFace's non-commercial model.
    public static let model: [(index: Int, point: (Float, Float, Float))] = [
        (39, (-16, 0, 0)), (42, (16, 0, 0)),            // inner eye corners
        (36, (-46, -2, 6)), (45, (46, -2, 6)),          // outer eye corners
        (33, (0, 45, -21)),                             // subnasale
        (30, (0, 35, -37)),                             // nose tip
        (48, (-26, 67, -5)), (54, (26, 67, -5)),        // mouth corners
        (8, (0, 115, -3)),                              // chin (menton)
        (17, (-52, -16, 6)), (26, (52, -16, 6)),        // brow outer ends
        (21, (-12, -20, -13)), (22, (12, -20, -13)),    // brow inner ends
    ]

    public var camera: Geometry3D.Camera?

    public init(camera: Geometry3D.Camera? = nil) { self.camera = camera }

    public func estimate(landmarks: [Point], frameWidth: Int, frameHeight: Int) throws -> HeadPose {
        guard landmarks.count == 68 else { throw VisageError.invalidArgument("head pose needs 68 landmarks, got \(landmarks.count)") }
        let cam = camera ?? .openFaceDefault(width: frameWidth, height: frameHeight)
        let object = Self.model.map(\.point)
        let image = Self.model.map { landmarks[$0.index] }
        // Start in front of the camera at the distance the eye-corner span implies; without a
        // guess the iterative solver can land on the mirrored pose behind the camera.
        let span = max(1, Landmarks68.interocular(landmarks))
        let z = cam.fx * 92 / Double(span)
        let mid = Point((landmarks[39].x + landmarks[42].x) / 2, (landmarks[39].y + landmarks[42].y) / 2)
        let guess = (rvec: [0.0, 0, 0], tvec: [(Double(mid.x) - cam.cx) * z / cam.fx, (Double(mid.y) - cam.cy) * z / cam.fy, z])
        let (rvec, tvec) = try Geometry3D.solvePnP(object: object, image: image, camera: cam, guess: guess)
        let r = try Geometry3D.rodrigues(rvec)
        // R = Rx·Ry·Rz ⇒ R[0][2] = sin(yaw), R[1][2] = −sin(pitch)cos(yaw), R[0][1] = −cos(yaw)sin(roll).
        let yaw = asin(max(-1, min(1, r[2])))
        let pitch = atan2(-r[5], r[8])
        let roll = atan2(-r[1], r[0])
        let degrees = 180 / Double.pi
        return HeadPose(yaw: Float(yaw * degrees), pitch: Float(pitch * degrees), roll: Float(roll * degrees),
                        translation: tvec.map(Float.init), rotationVector: rvec.map(Float.init))
    }
}
