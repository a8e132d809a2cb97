import Foundation
import VisageCore
import VisageMedia

/// One eye as OpenFace's eye part model (`left_eye_28` / `right_eye_28`) fitted it: its 28 landmarks
/// (x_0…x_27 then y_0…y_27, frame pixels) and the eye PDM's parameters.
public struct OpenFaceEyeFit: Sendable {
    public var landmarks: [Float]
    public var global: PDMGlobalParameters
    public var local: [Float]

    public init(landmarks: [Float], global: PDMGlobalParameters, local: [Float]) {
        self.landmarks = landmarks
        self.global = global
        self.local = local
    }
}

/// Both eyes as the eye part models fitted them, with the eye PDMs their parameters belong to.
public struct OpenFaceEyes: Sendable {
    public var left: OpenFaceEyeFit
    public var right: OpenFaceEyeFit
    public var leftPDM: PointDistributionModel
    public var rightPDM: PointDistributionModel

    public init(left: OpenFaceEyeFit, right: OpenFaceEyeFit, leftPDM: PointDistributionModel, rightPDM: PointDistributionModel) {
        self.left = left
        self.right = right
        self.leftPDM = leftPDM
        self.rightPDM = rightPDM
    }
}

/// The gaze and eye columns of FeatureExtraction's CSV.
public struct OpenFaceGazeColumns: Sendable, Equatable {
    /// gaze_0 xyz (left eye), gaze_1 xyz (right eye), gaze_angle_x, gaze_angle_y.
    public var gaze: [Float]
    /// eye_lmk_x_0…55 then eye_lmk_y_0…55 (left eye's 28 first).
    public var eyeLandmarks2D: [Float]
    /// eye_lmk_X, _Y, _Z (mm, camera space).
    public var eyeLandmarks3D: [Float]
}

/// OpenFace 2.2's GazeAnalysis: each eye's gaze is the ray from the camera through the pupil (mean of the eye
/// model's 8 iris points in camera space) intersected with a 12 mm eyeball whose centre sits between the eye
/// corners, offset by (0, −3.5, 7) mm in the head's frame. Reproduced as written, including the ray–sphere
/// solution's `(−b − √disc) / 2 · a` (OpenFace multiplies by a/2 where the textbook divides by 2a; the ray
/// direction is a unit vector, so a = 1 and the quirk changes nothing, but we keep the formula).
public enum OpenFaceGaze {
    static let eyeballRadius: Float = 12
    static let eyeballOffset = SIMD3<Float>(0, -3.5, 7)

    /// - Parameters:
    ///   - face3D: the 68 camera-space landmarks as FeatureExtraction writes them (X…, Y…, Z…).
    ///   - headPose: pose_Rx, pose_Ry, pose_Rz (Euler angles from GetPose).
    ///   - eyes: the two eye fits.
    public static func columns(face3D: [Float], headPose: (Float, Float, Float), eyes: OpenFaceEyes,
                               camera: Geometry3D.Camera) -> OpenFaceGazeColumns {
        let left = eyes.left, right = eyes.right
        let left3D = eyeLandmarks3D(left, pdm: eyes.leftPDM, camera: camera)
        let right3D = eyeLandmarks3D(right, pdm: eyes.rightPDM, camera: camera)
        let rotation = PDMRotation.matrix(rx: headPose.0, ry: headPose.1, rz: headPose.2)
        let g0 = gaze(eye3D: left3D, face3D: face3D, rotation: rotation, eyeIndex: 0)
        let g1 = gaze(eye3D: right3D, face3D: face3D, rotation: rotation, eyeIndex: 1)
        let mean = (g0 + g1) / 2
        let angle = (Float(atan2(Double(mean.x), Double(-mean.z))), Float(atan2(Double(mean.y), Double(-mean.z))))

        let n0 = left.landmarks.count / 2, n1 = right.landmarks.count / 2
        var eye2D = [Float]()
        eye2D.reserveCapacity(2 * (n0 + n1))
        eye2D += left.landmarks[0..<n0]; eye2D += right.landmarks[0..<n1]
        eye2D += left.landmarks[n0...]; eye2D += right.landmarks[n1...]
        var eye3D = [Float]()
        eye3D.reserveCapacity(3 * (n0 + n1))
        for axis in 0..<3 {
            eye3D += left3D[(axis * n0)..<((axis + 1) * n0)]
            eye3D += right3D[(axis * n1)..<((axis + 1) * n1)]
        }
        return OpenFaceGazeColumns(gaze: [g0.x, g0.y, g0.z, g1.x, g1.y, g1.z, angle.0, angle.1],
                                   eyeLandmarks2D: eye2D, eyeLandmarks3D: eye3D)
    }

    /// `CLNF::GetShape` for an eye part model: X…, Y…, Z… in camera space.
    public static func eyeLandmarks3D(_ eye: OpenFaceEyeFit, pdm: PointDistributionModel, camera: Geometry3D.Camera) -> [Float] {
        let fit = PDMFit(global: eye.global, local: eye.local, iterations: 0)
        return OpenFacePose.landmarks3D(fit: fit, shape: pdm.shape3D(local: eye.local), landmarks: eye.landmarks, camera: camera)
    }

    /// `EstimateGaze` for one eye (eyeIndex 0: left, corners 36/39; 1: right, corners 42/45).
    static func gaze(eye3D: [Float], face3D: [Float], rotation: RotationMatrix3f, eyeIndex: Int) -> SIMD3<Float> {
        let n = eye3D.count / 3, faceN = face3D.count / 3
        var pupil = SIMD3<Float>(repeating: 0)
        for i in 0..<8 { pupil += SIMD3(eye3D[i], eye3D[n + i], eye3D[2 * n + i]) }
        pupil /= 8
        let direction = pupil / (pupil * pupil).sum().squareRoot()
        func facePoint(_ i: Int) -> SIMD3<Float> { SIMD3(face3D[i], face3D[faceN + i], face3D[2 * faceN + i]) }
        let offset = SIMD3((rotation.r0 * eyeballOffset).sum(), (rotation.r1 * eyeballOffset).sum(), (rotation.r2 * eyeballOffset).sum())
        let centre = (facePoint(36 + 6 * eyeIndex) + facePoint(39 + 6 * eyeIndex)) / 2 + offset
        let axis = raySphereIntersection(direction: direction, centre: centre, radius: eyeballRadius) - centre
        return axis / (axis * axis).sum().squareRoot()
    }

    /// A ray from the camera's origin; (0, 0, −1) when it misses the sphere, as OpenFace returns.
    static func raySphereIntersection(direction d: SIMD3<Float>, centre c: SIMD3<Float>, radius r: Float) -> SIMD3<Float> {
        let a = (d * d).sum()
        let b = -2 * (d * c).sum()
        let cc = (c * c).sum() - r * r
        let disc = b * b - 4 * a * cc
        guard disc >= 0 else { return SIMD3(0, 0, -1) }
        let t = (-b - disc.squareRoot()) / 2 * a
        return d * t
    }
}
