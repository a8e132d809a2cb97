import Foundation
import VisageCore
import VisageFace
import VisageMedia

/// Finishing steps shared by both swappers: colour matching, keeping the target's mouth, sharpening.
public enum FaceRetouch {
    /// Reinhard colour transfer: match `image`'s LAB mean and standard deviation to `reference`'s
    /// over the pixels where `mask` is set (all pixels when nil). Changes `image` in place.
    public static func matchColour(of image: Image, to reference: Image, mask: Image? = nil) throws {
        let refLab = try ImageOps.convertColor(reference, .bgrToLab)
        let imgLab = try ImageOps.convertColor(image, .bgrToLab)
        // 8-bit LAB: per-channel histograms give exact means and deviations without per-pixel
        // floating point, and the transfer becomes one 256-entry table per channel.
        func stats(_ lab: Image) -> (mean: [Float], std: [Float]) {
            var histogram = [Int](repeating: 0, count: 3 * 256)
            histogram.withUnsafeMutableBufferPointer { h in
                for y in 0..<lab.height {
                    let m = mask.map { $0.baseAddress.advanced(by: y * $0.stride).assumingMemoryBound(to: UInt8.self) }
                    let p = lab.baseAddress.advanced(by: y * lab.stride).assumingMemoryBound(to: UInt8.self)
                    if let m {
                        for x in 0..<lab.width where m[x] > 0 {
                            h[Int(p[x * 3])] += 1; h[256 + Int(p[x * 3 + 1])] += 1; h[512 + Int(p[x * 3 + 2])] += 1
                        }
                    } else {
                        for x in 0..<lab.width {
                            h[Int(p[x * 3])] += 1; h[256 + Int(p[x * 3 + 1])] += 1; h[512 + Int(p[x * 3 + 2])] += 1
                        }
                    }
                }
            }
            var mean = [Float](repeating: 0, count: 3), std = [Float](repeating: 1, count: 3)
            for c in 0..<3 {
                var n = 0.0, sum = 0.0, sq = 0.0
                for v in 0..<256 {
                    let k = Double(histogram[c * 256 + v])
                    n += k; sum += k * Double(v); sq += k * Double(v * v)
                }
                guard n > 0 else { return ([0, 0, 0], [1, 1, 1]) }
                let mu = sum / n
                mean[c] = Float(mu)
                std[c] = Float(max(sq / n - mu * mu, 1e-6).squareRoot())
            }
            return (mean, std)
        }
        let r = stats(refLab), s = stats(imgLab)
        var table = [UInt8](repeating: 0, count: 3 * 256)
        for c in 0..<3 {
            for v in 0..<256 {
                let mapped = (Float(v) - s.mean[c]) * (r.std[c] / max(s.std[c], 1)) + r.mean[c]
                table[c * 256 + v] = UInt8(clamping: Int(mapped.rounded()))
            }
        }
        table.withUnsafeBufferPointer { t in
            for y in 0..<imgLab.height {
                let p = imgLab.baseAddress.advanced(by: y * imgLab.stride).assumingMemoryBound(to: UInt8.self)
                for x in 0..<imgLab.width {
                    p[x * 3] = t[Int(p[x * 3])]
                    p[x * 3 + 1] = t[256 + Int(p[x * 3 + 1])]
                    p[x * 3 + 2] = t[512 + Int(p[x * 3 + 2])]
                }
            }
        }
        let back = try ImageOps.convertColor(imgLab, .labToBGR)
        for y in 0..<image.height {
            image.baseAddress.advanced(by: y * image.stride).copyMemory(from: back.baseAddress.advanced(by: y * back.stride), byteCount: image.rowBytes)
        }
    }

    /// The inner-mouth polygon (landmarks 60–67) grown by `scale` around its centre.
    public static func mouthPolygon(_ landmarks: [Point], scale: Float) -> [Point] {
        let lips = Array(landmarks[60...67])
        let cx = lips.map(\.x).reduce(0, +) / 8, cy = lips.map(\.y).reduce(0, +) / 8
        return Triangulation.convexHull(lips.map { Point(cx + ($0.x - cx) * (1 + scale), cy + ($0.y - cy) * (1 + scale)) })
    }

    /// Puts the target's own mouth (from `original`) back over a swapped `frame`, feathered.
    public static func restoreMouth(from original: Image, into frame: Image, landmarks: [Point], scale: Float) throws {
        guard scale > 0, landmarks.count == 68 else { return }
        let polygon = mouthPolygon(landmarks, scale: scale)
        let b = Landmarks68.bounds(polygon)
        let pad = max(b.width, b.height) * 0.5 + 4
        let x0 = max(0, Int(b.x1 - pad)), y0 = max(0, Int(b.y1 - pad))
        let x1 = min(frame.width, Int(b.x2 + pad) + 1), y1 = min(frame.height, Int(b.y2 + pad) + 1)
        guard x1 - x0 > 2, y1 - y0 > 2, let target = frame.region(x: x0, y: y0, width: x1 - x0, height: y1 - y0),
              let source = original.region(x: x0, y: y0, width: x1 - x0, height: y1 - y0) else { return }
        let mask = Image(width: x1 - x0, height: y1 - y0, channels: 1)
        Triangulation.fillConvex(polygon.map { Point($0.x - Float(x0), $0.y - Float(y0)) }, into: mask)
        let k = max(Int(max(b.width, b.height) / 6), 1) | 1
        let soft = try ImageOps.gaussianBlur(mask, kernelWidth: k, kernelHeight: k)
        for y in 0..<mask.height {
            let m = soft.baseAddress.advanced(by: y * soft.stride).assumingMemoryBound(to: UInt8.self)
            let s = source.baseAddress.advanced(by: y * source.stride).assumingMemoryBound(to: UInt8.self)
            let t = target.baseAddress.advanced(by: y * target.stride).assumingMemoryBound(to: UInt8.self)
            for x in 0..<mask.width where m[x] > 0 {
                let a = Float(m[x]) / 255
                for c in 0..<3 { t[x * 3 + c] = UInt8(clamping: Int((a * Float(s[x * 3 + c]) + (1 - a) * Float(t[x * 3 + c])).rounded())) }
            }
        }
    }

    /// Unsharp mask: image + amount · (image − blur(image)), in place.
    public static func sharpen(_ image: Image, amount: Float) throws {
        guard amount > 0 else { return }
        let blurred = try ImageOps.gaussianBlur(image, kernelWidth: 0, kernelHeight: 0, sigmaX: 1.5, sigmaY: 1.5)
        for y in 0..<image.height {
            let p = image.baseAddress.advanced(by: y * image.stride).assumingMemoryBound(to: UInt8.self)
            let q = blurred.baseAddress.advanced(by: y * blurred.stride).assumingMemoryBound(to: UInt8.self)
            for i in 0..<(image.width * image.channels) {
                let v = Float(p[i]) + amount * (Float(p[i]) - Float(q[i]))
                p[i] = UInt8(clamping: Int(v.rounded()))
            }
        }
    }
}
