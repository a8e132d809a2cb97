import Foundation

/// A 3×3 matrix stored by rows, in OpenFace's single precision (`cv::Matx33f`).
public struct RotationMatrix3f: Sendable, Equatable {
    public var r0: SIMD3<Float>
    public var r1: SIMD3<Float>
    public var r2: SIMD3<Float>

    public init(r0: SIMD3<Float>, r1: SIMD3<Float>, r2: SIMD3<Float>) { self.r0 = r0; self.r1 = r1; self.r2 = r2 }

    public static let identity = RotationMatrix3f(r0: [1, 0, 0], r1: [0, 1, 0], r2: [0, 0, 1])

    /// Product in float with OpenCV's `Matx` summation order ((a0 b0 + a1 b1) + a2 b2).
    public static func * (a: RotationMatrix3f, b: RotationMatrix3f) -> RotationMatrix3f {
        func row(_ r: SIMD3<Float>) -> SIMD3<Float> {
            SIMD3(r.x * b.r0.x + r.y * b.r1.x + r.z * b.r2.x,
                  r.x * b.r0.y + r.y * b.r1.y + r.z * b.r2.y,
                  r.x * b.r0.z + r.y * b.r1.z + r.z * b.r2.z)
        }
        return RotationMatrix3f(r0: row(a.r0), r1: row(a.r1), r2: row(a.r2))
    }
}

/// The rotation conventions of OpenFace's `RotationHelpers.h` (XYZ Euler angles, R = Rx · Ry · Rz) and the
/// parameter update of `PDM::UpdateModelParameters`, reproduced with the same float/double split:
/// Euler conversions in float, Rodrigues (OpenCV) in double with float results.
public enum PDMRotation {
    /// `Euler2RotationMatrix`: angles (pitch rx, yaw ry, roll rz) in radians to R = Rx · Ry · Rz, in float.
    public static func matrix(rx: Float, ry: Float, rz: Float) -> RotationMatrix3f {
        let s1 = sin(rx), s2 = sin(ry), s3 = sin(rz)
        let c1 = cos(rx), c2 = cos(ry), c3 = cos(rz)
        return RotationMatrix3f(
            r0: SIMD3(c2 * c3, -c2 * s3, s2),
            r1: SIMD3(c1 * s3 + c3 * s1 * s2, c1 * c3 - s1 * s2 * s3, -c2 * s1),
            r2: SIMD3(s1 * s3 - c1 * c3 * s2, c3 * s1 + c1 * s2 * s3, c1 * c2))
    }

    /// `RotationMatrix2Euler`: through the quaternion, in float, with the yaw sine clamped to [-1, 1] as
    /// OpenFace does for near-degenerate matrices. Returns (rx, ry, rz).
    static func eulerAngles(_ r: RotationMatrix3f) -> (Float, Float, Float) {
        let q0 = sqrt(1 + r.r0.x + r.r1.y + r.r2.z) / 2
        let q1 = (r.r2.y - r.r1.z) / (4 * q0)
        let q2 = (r.r0.z - r.r2.x) / (4 * q0)
        let q3 = (r.r1.x - r.r0.y) / (4 * q0)
        let t1 = min(max(2 * (q0 * q2 + q1 * q3), -1), 1)
        let yaw = asin(t1)
        let pitch = atan2(2 * (q0 * q1 - q2 * q3), q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3)
        let roll = atan2(2 * (q0 * q3 - q1 * q2), q0 * q0 + q1 * q1 - q2 * q2 - q3 * q3)
        return (pitch, yaw, roll)
    }

    /// The rotation step of `UpdateModelParameters`: the small-angle matrix I + [w]× is made orthonormal
    /// (`Orthonormalise`), composed on the right of the current rotation, and turned back into Euler angles
    /// through axis–angle (Rodrigues there and back, which also re-orthonormalises). NaN angles become 0,
    /// OpenFace's guard against numerical breakdown.
    public static func update(rx: Float, ry: Float, rz: Float, wx: Float, wy: Float, wz: Float) -> (Float, Float, Float) {
        let current = matrix(rx: rx, ry: ry, rz: rz)
        let step = orthonormalisedSmallRotation(wx: wx, wy: wy, wz: wz)
        let combined = current * step
        let axisAngle = rodriguesVector(combined)
        let euler = eulerAngles(rodriguesMatrix(axisAngle))
        if euler.0.isNaN || euler.1.isNaN || euler.2.isNaN { return (0, 0, 0) }
        return euler
    }

    /// The nearest rotation (SVD polar factor, what `Orthonormalise` computes) to I + [w]×. That polar factor
    /// has a closed form: the rotation about w/|w| by atan(|w|), since I + [w]× scales the plane
    /// orthogonal to w by sqrt(1 + |w|²) and turns it by atan(|w|). Evaluated in double, stored in float.
    static func orthonormalisedSmallRotation(wx: Float, wy: Float, wz: Float) -> RotationMatrix3f {
        let w = SIMD3<Double>(Double(wx), Double(wy), Double(wz))
        let length = (w * w).sum().squareRoot()
        guard length > 0 else { return .identity }
        return rotationFloat(axis: w / length, angle: atan(length))
    }

    /// OpenCV `Rodrigues` (matrix → axis–angle): the input is first replaced by its nearest rotation
    /// (OpenCV uses the SVD's U·Vᵀ; the Newton polar iteration used here converges to the same matrix),
    /// then the angle comes from acos of the trace, with OpenCV's special case near 0 and π.
    static func rodriguesVector(_ m: RotationMatrix3f) -> SIMD3<Float> {
        let (r0, r1, r2) = polarFactor(SIMD3<Double>(m.r0), SIMD3<Double>(m.r1), SIMD3<Double>(m.r2))
        var axis = SIMD3<Double>(r2.y - r1.z, r0.z - r2.x, r1.x - r0.y)
        let s = ((axis * axis).sum() * 0.25).squareRoot()
        let c = min(max((r0.x + r1.y + r2.z - 1) * 0.5, -1), 1)
        let theta = acos(c)
        if s < 1e-5 {
            if c > 0 { return .zero }
            var t = (r0.x + 1) * 0.5
            axis.x = max(t, 0).squareRoot()
            t = (r1.y + 1) * 0.5
            axis.y = max(t, 0).squareRoot() * (r0.y < 0 ? -1 : 1)
            t = (r2.z + 1) * 0.5
            axis.z = max(t, 0).squareRoot() * (r0.z < 0 ? -1 : 1)
            if abs(axis.x) < abs(axis.y), abs(axis.x) < abs(axis.z), (r1.z > 0) != (axis.y * axis.z > 0) {
                axis.z = -axis.z
            }
            axis *= theta / (axis * axis).sum().squareRoot()
            return SIMD3<Float>(axis)
        }
        return SIMD3<Float>(axis * (theta / (2 * s)))
    }

    /// OpenCV `Rodrigues` (axis–angle → matrix), computed in double and stored in float.
    static func rodriguesMatrix(_ v: SIMD3<Float>) -> RotationMatrix3f {
        let r = SIMD3<Double>(v)
        let theta = (r * r).sum().squareRoot()
        guard theta >= Double.ulpOfOne else { return .identity }
        return rotationFloat(axis: r / theta, angle: theta)
    }

    /// R = cos θ · I + (1 − cos θ) · n nᵀ + sin θ · [n]×, in double, rounded to float.
    private static func rotationFloat(axis n: SIMD3<Double>, angle: Double) -> RotationMatrix3f {
        let c = cos(angle), s = sin(angle), c1 = 1 - c
        let r0 = SIMD3<Double>(c + c1 * n.x * n.x, c1 * n.x * n.y - s * n.z, c1 * n.x * n.z + s * n.y)
        let r1 = SIMD3<Double>(c1 * n.x * n.y + s * n.z, c + c1 * n.y * n.y, c1 * n.y * n.z - s * n.x)
        let r2 = SIMD3<Double>(c1 * n.x * n.z - s * n.y, c1 * n.y * n.z + s * n.x, c + c1 * n.z * n.z)
        return RotationMatrix3f(r0: SIMD3<Float>(r0), r1: SIMD3<Float>(r1), r2: SIMD3<Float>(r2))
    }

    /// Nearest orthogonal matrix of a near-rotation by Newton's polar iteration X ← (X + X⁻ᵀ) / 2.
    /// Inputs here are products of float rotations (off by ~1e-7), so four steps reach double precision.
    private static func polarFactor(_ a: SIMD3<Double>, _ b: SIMD3<Double>, _ c: SIMD3<Double>)
        -> (SIMD3<Double>, SIMD3<Double>, SIMD3<Double>) {
        var (x0, x1, x2) = (a, b, c)
        for _ in 0..<4 {
            // X⁻ᵀ is the cofactor matrix divided by the determinant.
            let c0 = cross(x1, x2), c1 = cross(x2, x0), c2 = cross(x0, x1)
            let det = (x0 * c0).sum()
            guard det != 0, det.isFinite else { break }
            (x0, x1, x2) = ((x0 + c0 / det) * 0.5, (x1 + c1 / det) * 0.5, (x2 + c2 / det) * 0.5)
        }
        return (x0, x1, x2)
    }

    private static func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
    }
}
