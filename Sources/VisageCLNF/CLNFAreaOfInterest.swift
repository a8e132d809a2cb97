import Foundation
import VisageCore

/// The area of interest around a landmark: `cv::warpAffine(grey, aoi, sim, size, WARP_INVERSE_MAP |
/// INTER_LINEAR)` with a constant 0 border, reproduced bit for bit so no OpenCV call (and no allocation)
/// is needed per landmark.
///
/// OpenCV's bilinear warp is fixed point: the inverse map is evaluated as integers with 10 fractional bits
/// (`AB_BITS`, each term rounded with `cvRound`), the fraction then quantised to 1/32 pixel
/// (`INTER_BITS`), and the four taps weighted by the float table `BilinearTab_f`
/// (w = (1 − ty, ty) ⊗ (1 − tx, tx) with t = k · (1/32)). Taps outside the image read the border value 0.
/// The grey frame is uint8; OpenFace converts it to float first, which changes no value.
enum CLNFAreaOfInterest {
    private static let abScale = 1024.0
    private static let roundDelta = 16  // AB_SCALE / INTER_TAB_SIZE / 2
    /// `BilinearTab_f`: for fraction index ty·32 + tx, the weights (w00, w01, w10, w11).
    static let weights: [SIMD4<Float>] = {
        let step: Float = 1 / 32
        var table: [SIMD4<Float>] = []
        for ty in 0..<32 {
            let y1 = Float(ty) * step, y0 = 1 - y1
            for tx in 0..<32 {
                let x1 = Float(tx) * step, x0 = 1 - x1
                table.append(SIMD4(y0 * x0, y0 * x1, y1 * x0, y1 * x1))
            }
        }
        return table
    }()

    /// `saturate_cast<int>(double)`: round half to even, saturated to Int32; NaN gives Int32.min as the x86
    /// conversion does (so a degenerate fit reads border zeros instead of trapping).
    @inline(__always)
    static func cvRound(_ v: Double) -> Int {
        guard !v.isNaN else { return Int(Int32.min) }
        if v >= 2147483647 { return Int(Int32.max) }
        if v <= -2147483648 { return Int(Int32.min) }
        return Int(v.rounded(.toNearestOrEven))
    }

    /// Fills `out` (side × side floats, row-major) from the uint8 grey image; `m` maps output pixels to image
    /// pixels (the inverse map OpenFace passes with WARP_INVERSE_MAP), already converted to double.
    static func extract(gray: Image, m: (Double, Double, Double, Double, Double, Double), side: Int,
                        into out: UnsafeMutablePointer<Float>) {
        let width = gray.width, height = gray.height, stride = gray.stride
        let src = UnsafePointer(gray.baseAddress.assumingMemoryBound(to: UInt8.self))
        // OpenCV tabulates the x terms once per row block (`adelta`, `bdelta`); so does this, per call.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * side) { deltas in
            let adelta = deltas.baseAddress!, bdelta = adelta + side
            for x in 0..<side {
                adelta[x] = cvRound(m.0 * Double(x) * abScale)
                bdelta[x] = cvRound(m.3 * Double(x) * abScale)
            }
            weights.withUnsafeBufferPointer { table in
                for y in 0..<side {
                    let x0 = cvRound((m.1 * Double(y) + m.2) * abScale) + roundDelta
                    let y0 = cvRound((m.4 * Double(y) + m.5) * abScale) + roundDelta
                    let row = out + y * side
                    for x in 0..<side {
                        let fx = (x0 + adelta[x]) >> 5, fy = (y0 + bdelta[x]) >> 5
                        let sx = fx >> 5, sy = fy >> 5
                        let w = table[(fy & 31) * 32 + (fx & 31)]
                        let v: SIMD4<Float>
                        if sx >= 0, sy >= 0, sx + 1 < width, sy + 1 < height {
                            let p = src + sy * stride + sx
                            v = SIMD4(Float(p[0]), Float(p[1]), Float(p[stride]), Float(p[stride + 1]))
                        } else if sx >= width || sx + 1 < 0 || sy >= height || sy + 1 < 0 {
                            row[x] = 0
                            continue
                        } else {
                            func tap(_ xx: Int, _ yy: Int) -> Float {
                                xx >= 0 && yy >= 0 && xx < width && yy < height ? Float(src[yy * stride + xx]) : 0
                            }
                            v = SIMD4(tap(sx, sy), tap(sx + 1, sy), tap(sx, sy + 1), tap(sx + 1, sy + 1))
                        }
                        // OpenCV sums the four products left to right in float.
                        var sum = v[0] * w[0]
                        sum += v[1] * w[1]
                        sum += v[2] * w[2]
                        sum += v[3] * w[3]
                        row[x] = sum
                    }
                }
            }
        }
    }
}
