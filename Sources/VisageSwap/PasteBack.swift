import Foundation
import VisageCore
import VisageMedia

/// Puts a swapped, aligned face crop back into the frame, in place, touching only the face's
/// bounding region: inverse warp of the crop and of a white mask, mask eroded and blurred in
/// proportion to the face size (insightface's INSwapper rules), then a linear blend.
public struct PasteBack: Sendable {
    /// Blend strength of the swapped face (1 = insightface's full paste).
    public var opacity: Float = 1

    public init(opacity: Float = 1) { self.opacity = opacity }

    /// - Parameters:
    ///   - crop: the swapped face, BGR uint8, in crop pixels.
    ///   - transform: frame → crop (the alignment matrix the crop was made with).
    ///   - keepMask: optional per-pixel mask in frame coordinates of `region` (1 = keep the target), e.g. a mouth.
    public func paste(_ crop: Image, into frame: Image, transform: Affine2D) throws {
        guard let inverse = transform.inverted else { throw VisageError.invalidArgument("singular alignment matrix") }
        // The crop's footprint in the frame, padded for the blur, clipped to the frame.
        let corners = [Point(0, 0), Point(Float(crop.width), 0), Point(0, Float(crop.height)), Point(Float(crop.width), Float(crop.height))]
            .map(inverse.apply)
        let x0 = max(0, Int(floor(corners.map(\.x).min()!)) - 2), y0 = max(0, Int(floor(corners.map(\.y).min()!)) - 2)
        let x1 = min(frame.width, Int(ceil(corners.map(\.x).max()!)) + 2), y1 = min(frame.height, Int(ceil(corners.map(\.y).max()!)) + 2)
        guard x1 > x0, y1 > y0, let target = frame.region(x: x0, y: y0, width: x1 - x0, height: y1 - y0) else { return }
        let w = x1 - x0, h = y1 - y0

        // crop → region pixels: the inverse warp, shifted by the region origin.
        var toRegion = inverse
        toRegion.m[2] -= Double(x0)
        toRegion.m[5] -= Double(y0)
        let warped = try ImageOps.warpAffine(crop, toRegion, width: w, height: h, interpolation: .linear, border: .constant)
        let white = Image(width: crop.width, height: crop.height, channels: 1)
        white.baseAddress.initializeMemory(as: UInt8.self, repeating: 255, count: white.stride * white.height)
        let mask = try ImageOps.warpAffine(white, toRegion, width: w, height: h, interpolation: .linear, border: .constant)

        // insightface: binarise (> 20), erode by max(size/10, 10), blur with kernel 2·max(size/20, 5)+1,
        // where size = sqrt(area of the mask's bounding box).
        var minX = w, minY = h, maxX = -1, maxY = -1
        for y in 0..<h {
            let row = mask.baseAddress.advanced(by: y * mask.stride).assumingMemoryBound(to: UInt8.self)
            for x in 0..<w {
                if row[x] > 20 {
                    row[x] = 255
                    if x < minX { minX = x }; if x > maxX { maxX = x }; if y < minY { minY = y }; if y > maxY { maxY = y }
                } else {
                    row[x] = 0
                }
            }
        }
        guard maxX >= minX, maxY >= minY else { return }
        let maskSize = Int(Double((maxY - minY) * (maxX - minX)).squareRoot())
        let erodeK = max(maskSize / 10, 10)
        let eroded = try ImageOps.erode(mask, kernelWidth: erodeK, kernelHeight: erodeK)
        let blurK = max(maskSize / 20, 5)
        let soft = try ImageOps.gaussianBlur(eroded, kernelWidth: 2 * blurK + 1, kernelHeight: 2 * blurK + 1)

        let alphaScale = opacity / 255
        for y in 0..<h {
            let m = soft.baseAddress.advanced(by: y * soft.stride).assumingMemoryBound(to: UInt8.self)
            let f = warped.baseAddress.advanced(by: y * warped.stride).assumingMemoryBound(to: UInt8.self)
            let t = target.baseAddress.advanced(by: y * target.stride).assumingMemoryBound(to: UInt8.self)
            for x in 0..<w where m[x] > 0 {
                let a = Float(m[x]) * alphaScale
                for c in 0..<3 {
                    let i = x * 3 + c
                    t[i] = UInt8(clamping: Int(a * Float(f[i]) + (1 - a) * Float(t[i])))
                }
            }
        }
    }
}
