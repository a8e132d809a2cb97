import Foundation
import VisageCore
import VisageFace
import VisageMedia

/// A swapper that needs no swap model: the source face is warped triangle by triangle onto the
/// target's 68 landmarks (Delaunay on the target shape), its colours are moved to the target's
/// (LAB mean/std), and it is blended in with Poisson cloning under a feathered hull mask.
/// Fast on a CPU; identity comes from the source's appearance, the shape stays the target's.
public struct LandmarkSwapper: Sendable {
    /// Keep the target's mouth (inner lips) so speech stays natural; 0 disables.
    public var mouthMask: Float
    public var colorTransfer: Bool
    public var opacity: Float

    public init(mouthMask: Float = 0, colorTransfer: Bool = true, opacity: Float = 1) {
        self.mouthMask = mouthMask
        self.colorTransfer = colorTransfer
        self.opacity = opacity
    }

    /// Swaps the face with `sourceLandmarks` in `source` onto the face with `targetLandmarks` in `frame`, in place.
    public func swap(source: Image, sourceLandmarks: [Point], into frame: Image, targetLandmarks: [Point], times: StageTimes? = nil) throws {
        guard sourceLandmarks.count == 68, targetLandmarks.count == 68 else {
            throw VisageError.invalidArgument("the landmark swapper needs 68 landmarks on both faces")
        }
        let hull = Triangulation.convexHull(targetLandmarks)
        let bounds = Landmarks68.bounds(targetLandmarks)
        let margin = max(bounds.width, bounds.height) * 0.15
        let x0 = max(0, Int(bounds.x1 - margin)), y0 = max(0, Int(bounds.y1 - margin))
        let x1 = min(frame.width, Int(bounds.x2 + margin) + 1), y1 = min(frame.height, Int(bounds.y2 + margin) + 1)
        guard x1 - x0 >= 8, y1 - y0 >= 8, let region = frame.region(x: x0, y: y0, width: x1 - x0, height: y1 - y0) else { return }
        let w = x1 - x0, h = y1 - y0
        let local = targetLandmarks.map { Point($0.x - Float(x0), $0.y - Float(y0)) }

        // 1. Piecewise-affine warp of the source into the region.
        let warped = Image(width: w, height: h, channels: 3)
        try times.measure("warp") {
            for (a, b, c) in Triangulation.delaunay(local) {
                try warpTriangle(source, from: [sourceLandmarks[a], sourceLandmarks[b], sourceLandmarks[c]],
                                 into: warped, to: [local[a], local[b], local[c]])
            }
        }
        // 2. Face mask: the target's hull, minus the mouth if asked.
        let mask = Image(width: w, height: h, channels: 1)
        times.measure("mask") {
            Triangulation.fillConvex(hull.map { Point($0.x - Float(x0), $0.y - Float(y0)) }, into: mask)
            if mouthMask > 0 { cutMouth(local, scale: mouthMask, from: mask) }
        }

        // 3. Colour transfer in LAB over the masked pixels.
        let targetCopy = region.copy()
        if colorTransfer { try times.measure("colour") { try FaceRetouch.matchColour(of: warped, to: targetCopy, mask: mask) } }
        let blendStart = DispatchTime.now().uptimeNanoseconds
        defer { times?.add("blend", Double(DispatchTime.now().uptimeNanoseconds - blendStart) / 1e6) }

        // 4. Poisson blend, then a feathered composite so the edge never shows.
        let size = Int(max(bounds.width, bounds.height))
        let erodeK = max(size / 20, 3)
        let inner = try ImageOps.erode(mask, kernelWidth: erodeK, kernelHeight: erodeK)
        let center = Self.maskCenter(inner)
        let blended = (try? ImageOps.seamlessClone(source: warped, destination: targetCopy, mask: inner, center: center)) ?? warped
        let blurK = max(size / 15, 3) | 1
        let feather = try ImageOps.gaussianBlur(inner, kernelWidth: blurK, kernelHeight: blurK)
        for y in 0..<h {
            let m = feather.baseAddress.advanced(by: y * feather.stride).assumingMemoryBound(to: UInt8.self)
            let s = blended.baseAddress.advanced(by: y * blended.stride).assumingMemoryBound(to: UInt8.self)
            let t = region.baseAddress.advanced(by: y * region.stride).assumingMemoryBound(to: UInt8.self)
            for x in 0..<w where m[x] > 0 {
                let alpha = Float(m[x]) / 255 * opacity
                for ch in 0..<3 { t[x * 3 + ch] = UInt8(clamping: Int((alpha * Float(s[x * 3 + ch]) + (1 - alpha) * Float(t[x * 3 + ch])).rounded())) }
            }
        }
    }

    /// Maps the source triangle onto the destination triangle (bilinear sampling, destination pixels only).
    func warpTriangle(_ source: Image, from s: [Point], into dst: Image, to d: [Point]) throws {
        // destination → source affine from the three correspondences.
        let det = (d[1].x - d[0].x) * (d[2].y - d[0].y) - (d[2].x - d[0].x) * (d[1].y - d[0].y)
        guard abs(det) > 1e-6 else { return }
        let minX = max(0, Int(min(d[0].x, d[1].x, d[2].x))), maxX = min(dst.width - 1, Int(max(d[0].x, d[1].x, d[2].x)) + 1)
        let minY = max(0, Int(min(d[0].y, d[1].y, d[2].y))), maxY = min(dst.height - 1, Int(max(d[0].y, d[1].y, d[2].y)) + 1)
        guard minX <= maxX, minY <= maxY else { return }
        let sw = source.width, sh = source.height
        for y in minY...maxY {
            let row = dst.baseAddress.advanced(by: y * dst.stride).assumingMemoryBound(to: UInt8.self)
            for x in minX...maxX {
                let px = Float(x) + 0.5 - d[0].x, py = Float(y) + 0.5 - d[0].y
                // Barycentric coordinates of the pixel centre.
                let u = (px * (d[2].y - d[0].y) - py * (d[2].x - d[0].x)) / det
                let v = (py * (d[1].x - d[0].x) - px * (d[1].y - d[0].y)) / det
                guard u >= -0.01, v >= -0.01, u + v <= 1.01 else { continue }
                let sx = s[0].x + u * (s[1].x - s[0].x) + v * (s[2].x - s[0].x) - 0.5
                let sy = s[0].y + u * (s[1].y - s[0].y) + v * (s[2].y - s[0].y) - 0.5
                let ix = Int(floor(sx)), iy = Int(floor(sy))
                guard ix >= 0, iy >= 0, ix + 1 < sw, iy + 1 < sh else { continue }
                let fx = sx - Float(ix), fy = sy - Float(iy)
                let r0 = source.baseAddress.advanced(by: iy * source.stride).assumingMemoryBound(to: UInt8.self)
                let r1 = source.baseAddress.advanced(by: (iy + 1) * source.stride).assumingMemoryBound(to: UInt8.self)
                for c in 0..<3 {
                    let a = Float(r0[ix * 3 + c]) * (1 - fx) + Float(r0[(ix + 1) * 3 + c]) * fx
                    let b = Float(r1[ix * 3 + c]) * (1 - fx) + Float(r1[(ix + 1) * 3 + c]) * fx
                    row[x * 3 + c] = UInt8(clamping: Int((a * (1 - fy) + b * fy).rounded()))
                }
            }
        }
    }

    /// Clears the inner-mouth polygon, grown by `scale`, from the mask.
    func cutMouth(_ landmarks: [Point], scale: Float, from mask: Image) {
        let mouth = Image(width: mask.width, height: mask.height, channels: 1)
        Triangulation.fillConvex(FaceRetouch.mouthPolygon(landmarks, scale: scale), into: mouth)
        for y in 0..<mask.height {
            let m = mask.baseAddress.advanced(by: y * mask.stride).assumingMemoryBound(to: UInt8.self)
            let o = mouth.baseAddress.advanced(by: y * mouth.stride).assumingMemoryBound(to: UInt8.self)
            for x in 0..<mask.width where o[x] > 0 { m[x] = 0 }
        }
    }

    static func maskCenter(_ mask: Image) -> (x: Int, y: Int) {
        var minX = mask.width, minY = mask.height, maxX = 0, maxY = 0
        for y in 0..<mask.height {
            let m = mask.baseAddress.advanced(by: y * mask.stride).assumingMemoryBound(to: UInt8.self)
            for x in 0..<mask.width where m[x] > 0 {
                minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
            }
        }
        return ((minX + maxX) / 2, (minY + maxY) / 2)
    }
}
