import Foundation
import VisageCore

/// OpenFace's rigid shape parameters (`cv::Vec6f params_global`, the CSV's `p_scale … p_ty`): weak-perspective
/// scale, XYZ Euler rotation in radians (R = Rx · Ry · Rz) and the 2D translation in frame pixels.
/// Single precision, as OpenFace keeps them.
public struct PDMGlobalParameters: Sendable, Equatable {
    public var scale: Float
    public var rx: Float
    public var ry: Float
    public var rz: Float
    public var tx: Float
    public var ty: Float

    public init(scale: Float, rx: Float, ry: Float, rz: Float, tx: Float, ty: Float) {
        self.scale = scale; self.rx = rx; self.ry = ry; self.rz = rz; self.tx = tx; self.ty = ty
    }
}

/// OpenFace's 3D point distribution model (`LandmarkDetector::PDM`): shape = mean + V · p, projected by a
/// scaled orthographic camera. The AU stage uses `AU_predictors/In-the-wild_aligned_PDM_68.txt`.
///
/// Layouts follow OpenFace: a 3D shape is 3n floats `x0…x(n-1), y0…, z0…`; a 2D shape is returned as n
/// `Point`s in frame pixels (OpenFace's 2n column `x0…, y0…` carries the same numbers). Values read from the
/// file in double are stored in float, as `PDM::Read` converts them.
public struct PointDistributionModel: Sendable {
    /// Landmarks in the model (68).
    public let pointCount: Int
    /// Non-rigid modes (34).
    public let modeCount: Int
    /// Mean shape, 3n floats `x…, y…, z…` (millimetres).
    public let meanShape: [Float]
    /// Principal components, row-major 3n × m (row i is coordinate i of the 3D shape).
    public let principalComponents: [Float]
    /// Variance of each mode (m floats).
    public let eigenValues: [Float]

    /// V transposed (m × 3n): column j of V contiguous, so V · p is m SIMD-friendly axpy passes.
    let componentsByMode: [Float]
    /// The same in double, as FaceAnalyser converts `princ_comp` before forming the geometry descriptor.
    let componentsByModeDouble: [Double]
    /// Σᵢ over points of products of mode vectors' coordinates c and d, for the six coordinate pairs
    /// (xx, yy, zz, xy+yx, xz+zx, yz+zy), each m × m row-major: the non-rigid block of CalcParams' JᵀJ is
    /// s² Σ P_cd · these, with P = r₀r₀ᵀ + r₁r₁ᵀ from the rotation, so it costs 6m² per step instead of 2n·m².
    let modeGramTerms: [Double]

    /// Length of the geometry descriptor: 3n projected coordinates then the m local parameters (238).
    public var geometryFeatureCount: Int { 3 * pointCount + modeCount }

    /// Reads OpenFace's PDM text file: three matrices (mean 3n × 1, components 3n × m, eigenvalues 1 × m or
    /// m × 1), each after optional `#` comment lines. Throws `VisageError` naming the file when it is missing,
    /// truncated, has non-numeric values or inconsistent sizes.
    public init(contentsOf url: URL) throws {
        var reader = try OpenFaceTextMatrixReader(contentsOf: url, kind: "OpenFace PDM")
        let mean = try reader.next("mean shape", expectedTypes: [5, 6])
        let components = try reader.next("principal components", expectedTypes: [5, 6])
        let eigen = try reader.next("eigenvalues", expectedTypes: [5, 6])
        guard mean.cols == 1, mean.rows % 3 == 0 else {
            throw reader.failure("mean shape is \(mean.rows)×\(mean.cols), expected 3n×1")
        }
        guard components.rows == mean.rows else {
            throw reader.failure("principal components have \(components.rows) rows, the mean shape \(mean.rows)")
        }
        guard min(eigen.rows, eigen.cols) == 1, eigen.values.count == components.cols else {
            throw reader.failure("eigenvalues are \(eigen.rows)×\(eigen.cols), expected \(components.cols) values")
        }
        guard eigen.values.allSatisfy({ $0 > 0 }) else {
            throw reader.failure("eigenvalues must be positive (they are the modes' variances)")
        }
        try self.init(meanShape: mean.values.map(Float.init), principalComponents: components.values.map(Float.init),
                      eigenValues: eigen.values.map(Float.init))
    }

    /// A model from values already in memory (row-major components, 3n × m).
    public init(meanShape: [Float], principalComponents: [Float], eigenValues: [Float]) throws {
        guard meanShape.count % 3 == 0, meanShape.count > 0, !eigenValues.isEmpty,
              principalComponents.count == meanShape.count * eigenValues.count else {
            throw VisageError.invalidArgument("PDM sizes do not agree: mean \(meanShape.count), components \(principalComponents.count), eigenvalues \(eigenValues.count)")
        }
        self.meanShape = meanShape
        self.principalComponents = principalComponents
        self.eigenValues = eigenValues
        pointCount = meanShape.count / 3
        modeCount = eigenValues.count
        let rows = meanShape.count, m = eigenValues.count
        var transposed = [Float](repeating: 0, count: rows * m)
        for i in 0..<rows {
            for j in 0..<m { transposed[j * rows + i] = principalComponents[i * m + j] }
        }
        componentsByMode = transposed
        componentsByModeDouble = transposed.map(Double.init)
        modeGramTerms = Self.modeGramTerms(componentsByMode: transposed, pointCount: meanShape.count / 3, modeCount: m)
    }

    /// The coordinate pairs of `modeGramTerms`, in its order.
    static let gramPairs: [(Int, Int)] = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]

    private static func modeGramTerms(componentsByMode v: [Float], pointCount n: Int, modeCount m: Int) -> [Double] {
        var terms = [Double](repeating: 0, count: 6 * m * m)
        for (t, (c, d)) in gramPairs.enumerated() {
            for j in 0..<m {
                for k in 0..<m {
                    var sum = 0.0
                    for i in 0..<n {
                        sum += Double(v[j * 3 * n + c * n + i]) * Double(v[k * 3 * n + d * n + i])
                        if c != d { sum += Double(v[j * 3 * n + d * n + i]) * Double(v[k * 3 * n + c * n + i]) }
                    }
                    terms[t * m * m + j * m + k] = sum
                }
            }
        }
        return terms
    }

    /// `CalcShape3D`: mean + V · local, 3n floats `x…, y…, z…`.
    public func shape3D(local: [Float]) -> [Float] {
        precondition(local.count == modeCount, "expected \(modeCount) local parameters, got \(local.count)")
        var shape = meanShape
        shape.withUnsafeMutableBufferPointer { out in
            local.withUnsafeBufferPointer { p in writeShape3D(local: p, into: out) }
        }
        return shape
    }

    /// `CalcShape3D` allocation-free: mean + V · local into `out` (3n values).
    public func writeShape3D(local: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>) {
        let rows = meanShape.count
        meanShape.withUnsafeBufferPointer { mean in
            componentsByMode.withUnsafeBufferPointer { v in
                for i in 0..<rows { out[i] = mean[i] }
                for j in 0..<modeCount {
                    let pj = local[j]
                    let column = v.baseAddress! + j * rows
                    for i in 0..<rows { out[i] += pj * column[i] }
                }
            }
        }
    }

    /// `CalcShape2D`: the 3D shape of `local`, rotated, scaled and translated by `global` (weak perspective),
    /// as n points in frame pixels. Float arithmetic in OpenFace's order.
    public func shape2D(global: PDMGlobalParameters, local: [Float]) -> [Point] {
        let shape = shape3D(local: local)
        var flat = [Float](repeating: 0, count: 2 * pointCount)
        shape.withUnsafeBufferPointer { s in flat.withUnsafeMutableBufferPointer { writeShape2D(shape3D: s, global: global, into: $0) } }
        let n = pointCount
        return (0..<n).map { Point(flat[$0], flat[n + $0]) }
    }

    /// `CalcShape2D` allocation-free, from a 3D shape already computed for the local parameters, into `out`
    /// (2n values: x…, y…, OpenFace's layout).
    public func writeShape2D(shape3D shape: UnsafeBufferPointer<Float>, global: PDMGlobalParameters,
                             into out: UnsafeMutableBufferPointer<Float>) {
        let r = PDMRotation.matrix(rx: global.rx, ry: global.ry, rz: global.rz)
        let n = pointCount, s = global.scale
        for i in 0..<n {
            let x = shape[i], y = shape[i + n], z = shape[i + 2 * n]
            out[i] = s * (r.r0.x * x + r.r0.y * y + r.r0.z * z) + global.tx
            out[i + n] = s * (r.r1.x * x + r.r1.y * y + r.r1.z * z) + global.ty
        }
    }

    /// `ComputeJacobian` (or, `rigid`, `ComputeRigidJacobian`'s six global columns only) of the projected
    /// shape: columns scale, three small-angle rotations, tx, ty, then one per mode. Column p starts at
    /// `out + p · rowStride` and holds the n x rows then the n y rows (parameter-major, so normal equations
    /// are contiguous dot products); rows from 2n to `rowStride` are left untouched (padding).
    /// `shape` is the 3D shape of the current local parameters.
    public func writeJacobian(shape3D shape: UnsafeBufferPointer<Float>, scale s: Float, rotation r: RotationMatrix3f,
                              rigid: Bool, rowStride stride: Int, into j0: UnsafeMutablePointer<Float>) {
        let n = pointCount
        for i in 0..<n {
            let x = shape[i], y = shape[i + n], z = shape[i + 2 * n]
            j0[i] = x * r.r0.x + y * r.r0.y + z * r.r0.z
            j0[i + n] = x * r.r1.x + y * r.r1.y + z * r.r1.z
            j0[stride + i] = s * (y * r.r0.z - z * r.r0.y)
            j0[stride + i + n] = s * (y * r.r1.z - z * r.r1.y)
            j0[2 * stride + i] = -s * (x * r.r0.z - z * r.r0.x)
            j0[2 * stride + i + n] = -s * (x * r.r1.z - z * r.r1.x)
            j0[3 * stride + i] = s * (x * r.r0.y - y * r.r0.x)
            j0[3 * stride + i + n] = s * (x * r.r1.y - y * r.r1.x)
            j0[4 * stride + i] = 1
            j0[4 * stride + i + n] = 0
            j0[5 * stride + i] = 0
            j0[5 * stride + i + n] = 1
        }
        guard !rigid else { return }
        componentsByMode.withUnsafeBufferPointer { v in
            guard let vBase = v.baseAddress else { return }
            for j in 0..<modeCount {
                let column = j0 + (6 + j) * stride
                let vx = vBase + j * 3 * n, vy = vx + n, vz = vy + n
                var i = 0
                while i + 4 <= n {
                    let x = PDMKernels.load4(vx + i), y = PDMKernels.load4(vy + i), z = PDMKernels.load4(vz + i)
                    PDMKernels.store4(s * (r.r0.x * x + r.r0.y * y + r.r0.z * z), at: column + i)
                    PDMKernels.store4(s * (r.r1.x * x + r.r1.y * y + r.r1.z * z), at: column + i + n)
                    i += 4
                }
                while i < n {
                    column[i] = s * (r.r0.x * vx[i] + r.r0.y * vy[i] + r.r0.z * vz[i])
                    column[i + n] = s * (r.r1.x * vx[i] + r.r1.y * vy[i] + r.r1.z * vz[i])
                    i += 1
                }
            }
        }
    }

    /// FaceAnalyser's geometry descriptor, in double as FaceAnalyser forms it: first V · local (3n values,
    /// `princ_comp` converted to double times the local parameters, i.e. the non-rigid displacement of each
    /// 3D coordinate without the mean), then the m local parameters themselves: 204 + 34 = 238 values.
    /// (For a frame where tracking failed FaceAnalyser uses all zeros; that is the caller's decision.)
    public func geometryFeatures(local: [Float], into out: UnsafeMutableBufferPointer<Double>) {
        precondition(local.count == modeCount && out.count >= geometryFeatureCount,
                     "geometry features need \(modeCount) local parameters and room for \(geometryFeatureCount) values")
        let rows = meanShape.count
        guard let base = out.baseAddress else { return }
        base.initialize(repeating: 0, count: rows)
        componentsByModeDouble.withUnsafeBufferPointer { v in
            for j in 0..<modeCount {
                let pj = Double(local[j])
                let column = v.baseAddress! + j * rows
                for i in 0..<rows { base[i] += pj * column[i] }
            }
        }
        for j in 0..<modeCount { base[rows + j] = Double(local[j]) }
    }
}
