import Foundation
import VisageCore
import VisageMedia

/// Head pose and camera-space 3D landmarks the way FeatureExtraction writes them (GetPose and
/// GetShape in OpenFace's LandmarkDetector), from a PDM fit and the 2D landmarks.
public enum OpenFacePose {
    /// pose_Tx, Ty, Tz (mm) and pose_Rx, Ry, Rz (radians): a weak-perspective start from the
    /// PDM's scale and translation, refined by iterative PnP of the PDM's 3D shape. OpenFace seeds
    /// PnP's rotation vector with the Euler angles themselves; we do the same so the refinement
    /// converges to the same solution.
    /// Both CSV outputs from one PDM shape evaluation.
    public static func estimate(fit: PDMFit, pdm: PointDistributionModel, landmarks: [Float],
                                camera: Geometry3D.Camera) -> (pose: [Float], landmarks3D: [Float]) {
        let shape = pdm.shape3D(local: fit.local)
        return (pose(fit: fit, shape: shape, landmarks: landmarks, camera: camera),
                landmarks3D(fit: fit, shape: shape, landmarks: landmarks, camera: camera))
    }

    /// - Parameter shape: `pdm.shape3D(local: fit.local)` (x…, y…, z…).
    public static func pose(fit: PDMFit, shape: [Float], landmarks: [Float], camera: Geometry3D.Camera) -> [Float] {
        let g = fit.global
        guard g.scale != 0 else { return [Float](repeating: 0, count: 6) }
        let z = camera.fx / Double(g.scale)
        let x = (Double(g.tx) - camera.cx) / camera.fx * z
        let y = (Double(g.ty) - camera.cy) / camera.fy * z
        let n = shape.count / 3
        let object = (0..<n).map { (shape[$0], shape[n + $0], shape[2 * n + $0]) }
        let image = (0..<n).map { Point(landmarks[$0], landmarks[n + $0]) }
        let guess = (rvec: [Double(g.rx), Double(g.ry), Double(g.rz)], tvec: [x, y, z])
        guard let solved = try? Geometry3D.solvePnP(object: object, image: image, camera: camera, guess: guess) else {
            return [Float(x), Float(y), Float(z), g.rx, g.ry, g.rz]
        }
        let r = PDMRotation.rodriguesMatrix(SIMD3(Float(solved.rvec[0]), Float(solved.rvec[1]), Float(solved.rvec[2])))
        let (pitch, yaw, roll) = PDMRotation.eulerAngles(r)
        return [Float(solved.tvec[0]), Float(solved.tvec[1]), Float(solved.tvec[2]), pitch, yaw, roll]
    }

    /// X_i, Y_i, Z_i (mm, camera space): the PDM shape rotated by the fit's rotation gives each
    /// point's depth around fx/scale; X and Y back-project the observed 2D landmark at that depth.
    public static func landmarks3D(fit: PDMFit, shape: [Float], landmarks: [Float], camera: Geometry3D.Camera) -> [Float] {
        let n = shape.count / 3
        var out = [Float](repeating: 0, count: 3 * n)
        let g = fit.global
        guard g.scale != 0 else { return out }
        let r = PDMRotation.matrix(rx: g.rx, ry: g.ry, rz: g.rz)
        let zAverage = Float(camera.fx) / g.scale
        let fx = Float(camera.fx), fy = Float(camera.fy), cx = Float(camera.cx), cy = Float(camera.cy)
        for i in 0..<n {
            let p = SIMD3(shape[i], shape[n + i], shape[2 * n + i])
            let z = zAverage + (r.r2 * p).sum()
            out[i] = z * ((landmarks[i] - cx) / fx)
            out[n + i] = z * ((landmarks[n + i] - cy) / fy)
            out[2 * n + i] = z
        }
        return out
    }
}
