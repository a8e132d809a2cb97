import Foundation
import VisageCore

/// The parameters of a PDM fitted to 2D landmarks, and how many Gauss–Newton steps it took.
public struct PDMFit: Sendable, Equatable {
    public var global: PDMGlobalParameters
    /// Non-rigid parameters, one per mode.
    public var local: [Float]
    public var iterations: Int

    public init(global: PDMGlobalParameters, local: [Float], iterations: Int = 0) {
        self.global = global
        self.local = local
        self.iterations = iterations
    }
}

extension PointDistributionModel {
    /// OpenFace's `PDM::CalcParams` on 2D landmarks (n points in frame pixels; a point with x == 0 counts as
    /// not visible, as in OpenFace). Convenience that allocates a workspace; per-frame callers keep a
    /// `PDMFitter` instead.
    public func calcParams(landmarks: [Point]) -> (global: PDMGlobalParameters, local: [Float]) {
        var fitter = PDMFitter(pdm: self)
        let fit = fitter.fit(landmarks: landmarks)
        return (fit.global, fit.local)
    }
}

/// `PDM::CalcParams` as FaceAnalyser calls it (initial rotation 0): the global and local parameters whose
/// projected shape best matches the landmarks, found by regularised Gauss–Newton.
///
/// Reproduced from OpenFace: the start (scale from the landmarks' bounding box against the mean shape's,
/// translation at the box centre, zero rotation and local parameters), Tikhonov regularisation of each mode
/// by 1/eigenvalue, the full Jacobian (small-angle rotation terms), a Cholesky solve of
/// (JᵀJ + Λ⁻¹) Δ = Jᵀr − Λ⁻¹p, steps damped by 0.75, rotation composed through an orthonormalised
/// small rotation, and the stopping rule: after each step the error is measured with the new global
/// parameters on the shape *before* the local update (an OpenFace quirk kept on purpose), and the loop
/// ends the third time it fails to drop below 0.999 × the previous error (or after 1000 steps).
/// Shapes, Jacobian, normal equations and parameters are float as in OpenFace; the 40 × 40 Cholesky
/// factorisation runs in double.
///
/// The fitter owns its buffers, so repeated `fit` calls allocate nothing but the returned `local` array.
public struct PDMFitter: Sendable {
    public let pdm: PointDistributionModel
    public static let maximumIterations = 1000

    private let parameterCount: Int
    /// Rows of the Jacobian (2n) rounded up to a multiple of 8 for SIMD; padding rows stay zero.
    private let rowStride: Int
    private let regularisation: [Float]
    private var target: [Float]
    private var visibility: [Float]
    private var shape: [Float]
    private var residual: [Float]
    private var jacobian: [Float]
    private var normalMatrix: [Double]
    private var normalRHS: [Double]
    private var local: [Float]

    public init(pdm: PointDistributionModel) {
        self.pdm = pdm
        let n = pdm.pointCount, m = pdm.modeCount
        parameterCount = 6 + m
        rowStride = (2 * n + 7) / 8 * 8
        regularisation = pdm.eigenValues.map { 1 / $0 }
        target = [Float](repeating: 0, count: rowStride)
        visibility = [Float](repeating: 0, count: rowStride)
        shape = [Float](repeating: 0, count: 3 * n)
        residual = [Float](repeating: 0, count: rowStride)
        jacobian = [Float](repeating: 0, count: parameterCount * rowStride)
        normalMatrix = [Double](repeating: 0, count: parameterCount * parameterCount)
        normalRHS = [Double](repeating: 0, count: parameterCount)
        local = [Float](repeating: 0, count: m)
    }

    /// Fits the PDM to `landmarks` (exactly `pdm.pointCount` points, frame pixels).
    public mutating func fit(landmarks: [Point]) -> PDMFit {
        let n = pdm.pointCount, m = pdm.modeCount
        precondition(landmarks.count == n, "CalcParams needs \(n) landmarks, got \(landmarks.count)")
        var visibleCount = 0
        for i in 0..<n {
            let visible: Float = landmarks[i].x == 0 ? 0 : 1
            target[i] = landmarks[i].x
            target[i + n] = landmarks[i].y
            visibility[i] = visible
            visibility[i + n] = visible
            visibleCount += Int(visible)
        }
        for i in 0..<m { local[i] = 0 }
        guard visibleCount > 0 else {
            return PDMFit(global: PDMGlobalParameters(scale: 0, rx: 0, ry: 0, rz: 0, tx: 0, ty: 0), local: local, iterations: 0)
        }
        let allVisible = visibleCount == n

        var global = initialGlobal()
        for i in 0..<(3 * n) { shape[i] = pdm.meanShape[i] }
        var currentError = projectionError(global)
        var notImproved = 0
        var iterations = 0

        while iterations < Self.maximumIterations {
            iterations += 1
            local.withUnsafeBufferPointer { p in
                shape.withUnsafeMutableBufferPointer { out in pdm.writeShape3D(local: p, into: out) }
            }
            let rotation = PDMRotation.matrix(rx: global.rx, ry: global.ry, rz: global.rz)
            computeResidual(global, rotation)
            computeJacobian(scale: global.scale, rotation)
            if !allVisible { applyVisibility() }
            formNormalEquations(structured: allVisible, scale: global.scale, rotation)
            guard solveNormalEquations() else { break }

            // Damped step (OpenFace: param_update = 0.75 * param_update), then UpdateModelParameters.
            let solution = normalRHS
            func step(_ k: Int) -> Float { 0.75 * Float(solution[k]) }
            global.scale += step(0)
            global.tx += step(4)
            global.ty += step(5)
            (global.rx, global.ry, global.rz) = PDMRotation.update(rx: global.rx, ry: global.ry, rz: global.rz,
                                                                    wx: step(1), wy: step(2), wz: step(3))
            for j in 0..<m { local[j] += step(6 + j) }

            let error = projectionError(global)
            if 0.999 * Double(currentError) < Double(error) {
                notImproved += 1
                if notImproved == 3 { break }
            }
            currentError = error
        }
        return PDMFit(global: global, local: local, iterations: iterations)
    }

    /// Scale from the visible landmarks' bounding box against the mean shape's (average of the width and
    /// height ratios), translation at the box centre, no rotation.
    private func initialGlobal() -> PDMGlobalParameters {
        let n = pdm.pointCount
        var minX = Float.infinity, maxX = -Float.infinity, minY = Float.infinity, maxY = -Float.infinity
        var modelMinX = Float.infinity, modelMaxX = -Float.infinity, modelMinY = Float.infinity, modelMaxY = -Float.infinity
        for i in 0..<n where visibility[i] != 0 {
            minX = min(minX, target[i]); maxX = max(maxX, target[i])
            minY = min(minY, target[i + n]); maxY = max(maxY, target[i + n])
            modelMinX = min(modelMinX, pdm.meanShape[i]); modelMaxX = max(modelMaxX, pdm.meanShape[i])
            modelMinY = min(modelMinY, pdm.meanShape[i + n]); modelMaxY = max(modelMaxY, pdm.meanShape[i + n])
        }
        let width = abs(minX - maxX), height = abs(minY - maxY)
        let scale = ((width / abs(modelMinX - modelMaxX)) + (height / abs(modelMinY - modelMaxY))) / 2
        return PDMGlobalParameters(scale: scale, rx: 0, ry: 0, rz: 0, tx: (minX + maxX) / 2, ty: (minY + maxY) / 2)
    }

    /// ‖landmarks − projection of `shape`‖ over visible points (accumulated in double like `cv::norm`).
    private func projectionError(_ global: PDMGlobalParameters) -> Float {
        let n = pdm.pointCount
        let r = PDMRotation.matrix(rx: global.rx, ry: global.ry, rz: global.rz)
        let s = global.scale
        var sum = 0.0
        for i in 0..<n where visibility[i] != 0 {
            let x = shape[i], y = shape[i + n], z = shape[i + 2 * n]
            let dx = s * (r.r0.x * x + r.r0.y * y + r.r0.z * z) + global.tx - target[i]
            let dy = s * (r.r1.x * x + r.r1.y * y + r.r1.z * z) + global.ty - target[i + n]
            sum += Double(dx) * Double(dx) + Double(dy) * Double(dy)
        }
        return Float(sum.squareRoot())
    }

    private mutating func computeResidual(_ global: PDMGlobalParameters, _ r: RotationMatrix3f) {
        let n = pdm.pointCount, s = global.scale
        for i in 0..<n {
            let x = shape[i], y = shape[i + n], z = shape[i + 2 * n]
            residual[i] = target[i] - (s * (r.r0.x * x + r.r0.y * y + r.r0.z * z) + global.tx)
            residual[i + n] = target[i + n] - (s * (r.r1.x * x + r.r1.y * y + r.r1.z * z) + global.ty)
        }
    }

    /// `ComputeJacobian` into the padded, parameter-major Jacobian (padding rows stay zero).
    private mutating func computeJacobian(scale s: Float, _ r: RotationMatrix3f) {
        let stride = rowStride
        shape.withUnsafeBufferPointer { shape in
            jacobian.withUnsafeMutableBufferPointer { jac in
                pdm.writeJacobian(shape3D: shape, scale: s, rotation: r, rigid: false, rowStride: stride, into: jac.baseAddress!)
            }
        }
    }

    /// Hidden landmarks drop out of the fit: zero rows contribute nothing to JᵀJ or Jᵀr, which is what
    /// OpenFace's removal of those rows amounts to.
    private mutating func applyVisibility() {
        for k in 0..<rowStride { residual[k] *= visibility[k] }
        for p in 0..<parameterCount {
            for k in 0..<rowStride { jacobian[p * rowStride + k] *= visibility[k] }
        }
    }

    /// Hessian JᵀJ + diag(0…0, 1/λ) and gradient Jᵀr − p/λ, stored in double for the solve.
    ///
    /// Rows touching a rigid parameter and the gradient are float SIMD dots of Jacobian columns, like
    /// OpenFace's float GEMM. With every landmark visible the mode × mode block comes from the PDM's
    /// precomputed `modeGramTerms` (same matrix, exact algebra, double instead of float sums); with hidden
    /// landmarks it is formed from the masked columns.
    private mutating func formNormalEquations(structured: Bool, scale: Float, _ r: RotationMatrix3f) {
        let count = parameterCount, stride = rowStride, m = pdm.modeCount
        jacobian.withUnsafeBufferPointer { jac in
            residual.withUnsafeBufferPointer { res in
                normalMatrix.withUnsafeMutableBufferPointer { h in
                    normalRHS.withUnsafeMutableBufferPointer { g in
                        guard let j0 = jac.baseAddress, let r0 = res.baseAddress, let h0 = h.baseAddress else { return }
                        if structured {
                            PDMKernels.gram(columns: j0, rows: 6, count: count, length: stride, into: h0)
                            pdm.modeGramTerms.withUnsafeBufferPointer { terms in
                                guard let t0 = terms.baseAddress else { return }
                                PDMKernels.projectedModeGram(terms: t0, modeCount: m, scale: Double(scale),
                                                             r0: SIMD3<Double>(r.r0), r1: SIMD3<Double>(r.r1),
                                                             into: h0 + 6 * count + 6, rowStride: count)
                            }
                        } else {
                            PDMKernels.gram(columns: j0, rows: count, count: count, length: stride, into: h0)
                        }
                        for a in 0..<count {
                            var gradient = PDMKernels.dot(j0 + a * stride, r0, length: stride)
                            if a >= 6 {
                                gradient -= regularisation[a - 6] * local[a - 6]
                                h0[a * count + a] = Double(Float(h0[a * count + a]) + regularisation[a - 6])
                            }
                            g[a] = Double(gradient)
                        }
                    }
                }
            }
        }
    }

    /// Solves the normal equations (`cv::solve(..., DECOMP_CHOLESKY)`); the solution replaces `normalRHS`.
    /// Returns false if the matrix is not positive definite.
    private mutating func solveNormalEquations() -> Bool {
        let count = parameterCount
        return normalMatrix.withUnsafeMutableBufferPointer { a in
            normalRHS.withUnsafeMutableBufferPointer { b in
                guard let a0 = a.baseAddress, let b0 = b.baseAddress else { return false }
                return PDMKernels.choleskySolve(a0, count: count, rhs: b0)
            }
        }
    }
}
