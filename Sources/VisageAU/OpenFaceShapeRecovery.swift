import Foundation

/// Undoes most of the rounding in an OpenFace CSV's landmarks.
///
/// FeatureExtraction writes landmarks to 0.1 px, but it computes them as the PDM's projection of the
/// very parameters it writes in the `p_*` columns (after the part models it re-fits the PDM and
/// re-projects). The local parameters are written to 0.001, far finer than a pixel once multiplied by the
/// unit-length modes. The global ones are not: 0.001 in scale or in rotation moves a landmark by up to
/// 0.1 px. So the shape is recovered by keeping the CSV's local parameters and re-estimating the six
/// global ones from all 136 coordinates, weighting each observation by its rounding noise (a value
/// rounded to a step q has standard deviation q/√12). With 136 coordinates and 6 unknowns the result is
/// about 6× closer to OpenFace's unrounded landmarks (0.0044 px rms against 0.029 px for the CSV's own
/// values, simulated on default.wmv's parameters). This matters because the AU stage's aligned face
/// follows its landmarks to a fraction of a pixel; see docs/AU.md.
///
/// Rows where the parameters do not reproduce the landmarks to within the rounding (edited landmarks,
/// another tool's CSV), or whose landmarks are already finer than 0.1 px, are left as they are.
public struct OpenFaceShapeRecovery: Sendable {
    public let pdm: PointDistributionModel
    /// FeatureExtraction's decimals: landmarks `%.1f`, PDM parameters `%.3f`.
    public static let landmarkStep = 0.1
    public static let parameterStep = 0.001
    /// A recovered point further than this from the CSV's value means the parameters describe another
    /// shape: OpenFace's own rows stay within half a step plus the recovery's error.
    public static let consistencyLimit = 0.1

    public init(pdm: PointDistributionModel) { self.pdm = pdm }

    /// The recovered landmarks (x…, y… as in the CSV) and the refined fit, or nil when the row should be
    /// used as written. `landmarks` are the CSV's 2n values, `fit` its `p_*` columns.
    public func recover(landmarks: [Float], fit: PDMFit) -> (landmarks: [Float], fit: PDMFit)? {
        let n = pdm.pointCount
        guard landmarks.count == 2 * n, fit.local.count == pdm.modeCount,
              landmarks.allSatisfy({ Self.isOnGrid($0, step: Self.landmarkStep) }) else { return nil }
        let shape = pdm.shape3D(local: fit.local).map(Double.init)
        let written = fit.global.values.map(Double.init)
        var theta = written
        let sigmaLandmark = Self.landmarkStep / 12.squareRoot(), sigmaParameter = Self.parameterStep / 12.squareRoot()
        let wl = 1 / (sigmaLandmark * sigmaLandmark), wp = 1 / (sigmaParameter * sigmaParameter)
        var projected = [Double](repeating: 0, count: 2 * n)
        var jacobian = [Double](repeating: 0, count: 6 * 2 * n)
        // Gauss–Newton on the weighted residuals; the problem is nearly linear around the written values,
        // so a few steps converge to double precision.
        for _ in 0..<5 {
            Self.project(shape, theta, n: n, into: &projected, jacobian: &jacobian)
            var normal = [Double](repeating: 0, count: 36), rhs = [Double](repeating: 0, count: 6)
            for a in 0..<6 {
                for i in 0..<(2 * n) { rhs[a] += wl * jacobian[a * 2 * n + i] * (Double(landmarks[i]) - projected[i]) }
                rhs[a] -= wp * (theta[a] - written[a])
                for b in a..<6 {
                    var sum = 0.0
                    for i in 0..<(2 * n) { sum += jacobian[a * 2 * n + i] * jacobian[b * 2 * n + i] }
                    normal[a * 6 + b] = wl * sum + (a == b ? wp : 0)
                    normal[b * 6 + a] = normal[a * 6 + b]
                }
            }
            let solved = normal.withUnsafeMutableBufferPointer { a in
                rhs.withUnsafeMutableBufferPointer { PDMKernels.choleskySolve(a.baseAddress!, count: 6, rhs: $0.baseAddress!) }
            }
            guard solved else { return nil }
            for a in 0..<6 { theta[a] += rhs[a] }
        }
        Self.project(shape, theta, n: n, into: &projected, jacobian: &jacobian)
        var recovered = [Float](repeating: 0, count: 2 * n)
        for i in 0..<(2 * n) {
            guard abs(projected[i] - Double(landmarks[i])) <= Self.consistencyLimit else { return nil }
            recovered[i] = Float(projected[i])
        }
        let global = PDMGlobalParameters(scale: Float(theta[0]), rx: Float(theta[1]), ry: Float(theta[2]), rz: Float(theta[3]),
                                         tx: Float(theta[4]), ty: Float(theta[5]))
        return (recovered, PDMFit(global: global, local: fit.local))
    }

    /// Weak-perspective projection of `shape` (x…, y…, z…) under θ = (scale, rx, ry, rz, tx, ty) with
    /// OpenFace's R = Rx · Ry · Rz, in double, and its derivatives (parameter-major, 2n per parameter).
    static func project(_ shape: [Double], _ theta: [Double], n: Int, into out: inout [Double], jacobian j: inout [Double]) {
        let s = theta[0]
        let (r, dr) = rotationAndDerivatives(rx: theta[1], ry: theta[2], rz: theta[3])
        let m = 2 * n
        for i in 0..<n {
            let p = SIMD3(shape[i], shape[i + n], shape[i + 2 * n])
            let u = (r[0] * p).sum(), v = (r[1] * p).sum()
            out[i] = s * u + theta[4]
            out[i + n] = s * v + theta[5]
            j[i] = u
            j[i + n] = v
            for k in 0..<3 {
                j[(1 + k) * m + i] = s * (dr[k][0] * p).sum()
                j[(1 + k) * m + i + n] = s * (dr[k][1] * p).sum()
            }
            j[4 * m + i] = 1
            j[4 * m + i + n] = 0
            j[5 * m + i] = 0
            j[5 * m + i + n] = 1
        }
    }

    /// The first two rows of R = Rx · Ry · Rz and their derivatives with respect to rx, ry and rz.
    static func rotationAndDerivatives(rx: Double, ry: Double, rz: Double) -> ([SIMD3<Double>], [[SIMD3<Double>]]) {
        let s1 = sin(rx), s2 = sin(ry), s3 = sin(rz), c1 = cos(rx), c2 = cos(ry), c3 = cos(rz)
        let r0 = SIMD3(c2 * c3, -c2 * s3, s2)
        let r1 = SIMD3(c1 * s3 + c3 * s1 * s2, c1 * c3 - s1 * s2 * s3, -c2 * s1)
        let dRx = [SIMD3<Double>(0, 0, 0),
                   SIMD3(-s1 * s3 + c3 * c1 * s2, -s1 * c3 - c1 * s2 * s3, -c2 * c1)]
        let dRy = [SIMD3(-s2 * c3, s2 * s3, c2),
                   SIMD3(c3 * s1 * c2, -s1 * c2 * s3, s2 * s1)]
        let dRz = [SIMD3(-c2 * s3, -c2 * c3, 0),
                   SIMD3(c1 * c3 - s3 * s1 * s2, -c1 * s3 - s1 * s2 * c3, 0)]
        return ([r0, r1], [dRx, dRy, dRz])
    }

    /// Whether `value` (parsed into a float) is a multiple of `step`, as a `%.1f`-style writer leaves it.
    static func isOnGrid(_ value: Float, step: Double) -> Bool {
        let k = Double(value) / step
        return abs(k - k.rounded()) <= 1e-4 + Double(value.ulp) / step
    }
}

extension PDMGlobalParameters {
    /// scale, rx, ry, rz, tx, ty: the order of the CSV's `p_*` columns.
    var values: [Float] { [scale, rx, ry, rz, tx, ty] }
}
