import Foundation
import VisageAU
import VisageCore

/// The PDM operations CLNF's fitting needs beyond what VisageAU's `PointDistributionModel` offers:
/// allocation-free `CalcShape3D`/`CalcShape2D`, `CalcParams` from a bounding box, `ComputeJacobian` /
/// `ComputeRigidJacobian`, `UpdateModelParameters` and `Clamp` (OpenFace's PDM.cpp), in float as OpenFace.
///
/// 2D shapes use OpenFace's layout: 2n floats, all x then all y.
public struct CLNFShapeModel: Sendable {
    public let pdm: PointDistributionModel
    public var pointCount: Int { pdm.pointCount }
    public var modeCount: Int { pdm.modeCount }
    /// V transposed (m × 3n): mode j's 3n coordinates contiguous.
    let byMode: [Float]
    /// ±3 √eigenvalue, `Clamp`'s bound on each local parameter.
    let clampLimits: [Float]

    public init(pdm: PointDistributionModel) {
        self.pdm = pdm
        let rows = 3 * pdm.pointCount, m = pdm.modeCount
        var t = [Float](repeating: 0, count: rows * m)
        for i in 0..<rows { for j in 0..<m { t[j * rows + i] = pdm.principalComponents[i * m + j] } }
        byMode = t
        clampLimits = pdm.eigenValues.map { 3 * $0.squareRoot() }
    }

    /// mean + V · local into `out` (3n floats).
    func shape3D(local: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let rows = 3 * pointCount
        pdm.meanShape.withUnsafeBufferPointer { mean in
            byMode.withUnsafeBufferPointer { v in
                out.update(from: mean.baseAddress!, count: rows)
                for j in 0..<modeCount {
                    let p = local[j]
                    let column = v.baseAddress! + j * rows
                    for i in 0..<rows { out[i] += p * column[i] }
                }
            }
        }
    }

    /// `CalcShape2D` from a 3D shape already computed for the local parameters.
    func project(shape3D s: UnsafePointer<Float>, global g: PDMGlobalParameters, into out: UnsafeMutablePointer<Float>) {
        let n = pointCount
        let r = PDMRotation.matrix(rx: g.rx, ry: g.ry, rz: g.rz)
        for i in 0..<n {
            let x = s[i], y = s[i + n], z = s[i + 2 * n]
            out[i] = g.scale * (r.r0.x * x + r.r0.y * y + r.r0.z * z) + g.tx
            out[i + n] = g.scale * (r.r1.x * x + r.r1.y * y + r.r1.z * z) + g.ty
        }
    }

    /// `CalcShape2D` (allocating convenience).
    public func shape2D(global: PDMGlobalParameters, local: [Float]) -> [Float] {
        var s3 = [Float](repeating: 0, count: 3 * pointCount)
        var out = [Float](repeating: 0, count: 2 * pointCount)
        local.withUnsafeBufferPointer { l in
            s3.withUnsafeMutableBufferPointer { s in
                shape3D(local: l.baseAddress!, into: s.baseAddress!)
                out.withUnsafeMutableBufferPointer { o in project(shape3D: s.baseAddress!, global: global, into: o.baseAddress!) }
            }
        }
        return out
    }

    /// `PDM::CalcParams(global, bounding_box, local, rotation)`: the scale and translation that put the
    /// rotated shape of `local` into the box (OpenFace's `cv::Rect_<float>` x, y, width, height).
    public func calcParams(boxX: Float, boxY: Float, boxWidth: Float, boxHeight: Float, local: [Float],
                           rotation: (Float, Float, Float)) -> PDMGlobalParameters {
        let n = pointCount
        var s3 = [Float](repeating: 0, count: 3 * n)
        local.withUnsafeBufferPointer { l in
            s3.withUnsafeMutableBufferPointer { s in shape3D(local: l.baseAddress!, into: s.baseAddress!) }
        }
        let r = PDMRotation.matrix(rx: rotation.0, ry: rotation.1, rz: rotation.2)
        var minX = Float.infinity, maxX = -Float.infinity, minY = Float.infinity, maxY = -Float.infinity
        for i in 0..<n {
            let x = s3[i], y = s3[i + n], z = s3[i + 2 * n]
            let px = r.r0.x * x + r.r0.y * y + r.r0.z * z
            let py = r.r1.x * x + r.r1.y * y + r.r1.z * z
            minX = min(minX, px); maxX = max(maxX, px); minY = min(minY, py); maxY = max(maxY, py)
        }
        let width = abs(minX - maxX), height = abs(minY - maxY)
        let scaling = ((boxWidth / width) + (boxHeight / height)) / 2
        // minMaxLoc reports doubles, so the centring term is evaluated in double.
        let tx = Float(Double(boxX + boxWidth / 2) - Double(scaling) * (Double(minX) + Double(maxX)) / 2)
        let ty = Float(Double(boxY + boxHeight / 2) - Double(scaling) * (Double(minY) + Double(maxY)) / 2)
        return PDMGlobalParameters(scale: scaling, rx: rotation.0, ry: rotation.1, rz: rotation.2, tx: tx, ty: ty)
    }

    /// `ComputeJacobian` (rigid: only the six global columns), written parameter-major: column p occupies
    /// `out[p * 2n ..< (p + 1) * 2n]`, x rows then y rows. `shape3D` is the 3D shape of the local parameters.
    func jacobian(shape3D s: UnsafePointer<Float>, global g: PDMGlobalParameters, rigid: Bool,
                  into out: UnsafeMutablePointer<Float>) {
        let n = pointCount, m = modeCount, rows = 2 * n, sc = g.scale
        let r = PDMRotation.matrix(rx: g.rx, ry: g.ry, rz: g.rz)
        for i in 0..<n {
            let x = s[i], y = s[i + n], z = s[i + 2 * n]
            out[i] = x * r.r0.x + y * r.r0.y + z * r.r0.z
            out[i + n] = x * r.r1.x + y * r.r1.y + z * r.r1.z
            out[rows + i] = sc * (y * r.r0.z - z * r.r0.y)
            out[rows + i + n] = sc * (y * r.r1.z - z * r.r1.y)
            out[2 * rows + i] = -sc * (x * r.r0.z - z * r.r0.x)
            out[2 * rows + i + n] = -sc * (x * r.r1.z - z * r.r1.x)
            out[3 * rows + i] = sc * (x * r.r0.y - y * r.r0.x)
            out[3 * rows + i + n] = sc * (x * r.r1.y - y * r.r1.x)
            out[4 * rows + i] = 1
            out[4 * rows + i + n] = 0
            out[5 * rows + i] = 0
            out[5 * rows + i + n] = 1
        }
        guard !rigid else { return }
        byMode.withUnsafeBufferPointer { v in
            for j in 0..<m {
                let column = out + (6 + j) * rows
                let vx = v.baseAddress! + j * 3 * n, vy = vx + n, vz = vy + n
                for i in 0..<n {
                    column[i] = sc * (r.r0.x * vx[i] + r.r0.y * vy[i] + r.r0.z * vz[i])
                    column[i + n] = sc * (r.r1.x * vx[i] + r.r1.y * vy[i] + r.r1.z * vz[i])
                }
            }
        }
    }

    /// `UpdateModelParameters` then `Clamp` (local parameters to ±3 standard deviations).
    func update(delta d: UnsafePointer<Float>, rigid: Bool, global g: inout PDMGlobalParameters,
                local: UnsafeMutablePointer<Float>) {
        g.scale += d[0]
        g.tx += d[4]
        g.ty += d[5]
        (g.rx, g.ry, g.rz) = PDMRotation.update(rx: g.rx, ry: g.ry, rz: g.rz, wx: d[1], wy: d[2], wz: d[3])
        if !rigid { for j in 0..<modeCount { local[j] += d[6 + j] } }
        for j in 0..<modeCount {
            let limit = clampLimits[j]
            if abs(local[j]) > limit { local[j] = local[j] > 0 ? limit : -limit }
        }
    }
}
