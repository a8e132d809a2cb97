import Foundation
import VisageAU
import VisageCore

/// The PDM operations CLNF's fitting needs beyond VisageAU's `PointDistributionModel` (which provides
/// CalcShape3D/2D and the Jacobians allocation-free): `CalcParams` from a bounding box and
/// `UpdateModelParameters` with `Clamp` (OpenFace's PDM.cpp), in float as OpenFace.
///
/// 2D shapes use OpenFace's layout: 2n floats, all x then all y.
public struct CLNFShapeModel: Sendable {
    public let pdm: PointDistributionModel
    public var pointCount: Int { pdm.pointCount }
    public var modeCount: Int { pdm.modeCount }
    /// ±3 √eigenvalue, `Clamp`'s bound on each local parameter.
    let clampLimits: [Float]

    public init(pdm: PointDistributionModel) {
        self.pdm = pdm
        clampLimits = pdm.eigenValues.map { 3 * $0.squareRoot() }
    }

    /// `CalcShape2D` (allocating convenience), in OpenFace's x…, y… layout.
    public func shape2D(global: PDMGlobalParameters, local: [Float]) -> [Float] {
        let s3 = pdm.shape3D(local: local)
        var out = [Float](repeating: 0, count: 2 * pointCount)
        s3.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { pdm.writeShape2D(shape3D: s, global: global, into: $0) } }
        return out
    }

    /// `PDM::CalcParams(global, bounding_box, local, rotation)`: the scale and translation that put the
    /// rotated shape of `local` into the box (OpenFace's `cv::Rect_<float>` x, y, width, height).
    public func calcParams(boxX: Float, boxY: Float, boxWidth: Float, boxHeight: Float, local: [Float],
                           rotation: (Float, Float, Float)) -> PDMGlobalParameters {
        let n = pointCount
        let s3 = pdm.shape3D(local: local)
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
