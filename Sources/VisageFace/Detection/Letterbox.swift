import Foundation
import VisageRuntime
import VisageCore
import VisageMedia

/// Scales a frame into the top-left corner of a fixed-size, zero-padded canvas.
struct Letterbox {
    let canvas: Image
    let newWidth: Int
    let newHeight: Int
    /// Multiply network coordinates by 1/scale to get frame pixels.
    let scale: Float

    /// insightface's SCRFD rule: the longer relative side fills the input, sizes truncate to
    /// integers, and the scale is always the height ratio.
    static func insightface(_ image: Image, width: Int, height: Int, reuse canvas: Image? = nil) throws -> Letterbox {
        let imageRatio = Double(image.height) / Double(image.width)
        let modelRatio = Double(height) / Double(width)
        let newW: Int, newH: Int
        if imageRatio > modelRatio {
            newH = height
            newW = Int(Double(newH) / imageRatio)
        } else {
            newW = width
            newH = Int(Double(newW) * imageRatio)
        }
        let scale = Float(Double(newH) / Double(image.height))
        return try place(image, newWidth: max(newW, 1), newHeight: max(newH, 1), width: width, height: height, scale: scale, reuse: canvas)
    }

    /// Fit inside the input without ever enlarging (YuNet is trained and used at native scale).
    static func fitWithoutUpscaling(_ image: Image, width: Int, height: Int, reuse canvas: Image? = nil) throws -> Letterbox {
        let s = min(1.0, Double(width) / Double(image.width), Double(height) / Double(image.height))
        let newW = max(1, min(width, Int((Double(image.width) * s).rounded())))
        let newH = max(1, min(height, Int((Double(image.height) * s).rounded())))
        return try place(image, newWidth: newW, newHeight: newH, width: width, height: height, scale: Float(s), reuse: canvas)
    }

    private static func place(_ image: Image, newWidth: Int, newHeight: Int, width: Int, height: Int, scale: Float, reuse: Image?) throws -> Letterbox {
        let canvas: Image
        if let reuse, reuse.width == width, reuse.height == height, reuse.channels == 3 {
            canvas = reuse
            canvas.baseAddress.initializeMemory(as: UInt8.self, repeating: 0, count: canvas.stride * canvas.height)
        } else {
            canvas = Image(width: width, height: height, channels: 3)
        }
        let target = canvas.region(x: 0, y: 0, width: newWidth, height: newHeight)!
        let source = image.channels == 3 ? image : try ImageOps.convertColor(image, image.channels == 1 ? .grayToBGR : .bgraToBGR)
        if newWidth == source.width && newHeight == source.height {
            for y in 0..<newHeight {
                target.baseAddress.advanced(by: y * target.stride)
                    .copyMemory(from: source.baseAddress.advanced(by: y * source.stride), byteCount: source.rowBytes)
            }
        } else {
            try ImageOps.resize(source, into: target, interpolation: .linear)
        }
        return Letterbox(canvas: canvas, newWidth: newWidth, newHeight: newHeight, scale: scale)
    }
}

/// Letterboxes frames into a reused canvas and packs them into a network input tensor.
/// One per detector; safe to call from several threads (the canvas is guarded).
final class InputPreparer: @unchecked Sendable {
    enum Fit { case insightface, withoutUpscaling }
    private let canvas = Locked<Image?>(nil)

    /// Writes the NCHW float input for `image` into `input` (1x3xHxW, e.g. a bound input tensor) and
    /// returns the scale from frame to network pixels.
    func prepare(_ image: Image, into input: Tensor, width: Int, height: Int, fit: Fit, swapRB: Bool, mean: Float, scale: Float) throws -> Float {
        guard input.elementCount == 3 * width * height, input.elementType == .float32 else {
            throw VisageError.invalidArgument("detector input tensor \(input.shape) does not hold 1x3x\(height)x\(width)")
        }
        return try canvas.withLock { canvas in
            let letterbox = fit == .insightface
                ? try Letterbox.insightface(image, width: width, height: height, reuse: canvas)
                : try Letterbox.fitWithoutUpscaling(image, width: width, height: height, reuse: canvas)
            canvas = letterbox.canvas
            input.withUnsafeMutableBuffer(of: Float.self) { buffer in
                Blob.fill(buffer.baseAddress!, from: letterbox.canvas, swapRB: swapRB, mean: mean, scale: scale)
            }
            return letterbox.scale
        }
    }
}

/// Packs an 8-bit BGR image into a planar float tensor: out[c][y][x] = (pixel[channel(c)] - mean) * scale.
enum Blob {
    static func fill(_ out: UnsafeMutablePointer<Float>, from image: Image, swapRB: Bool, mean: Float, scale: Float) {
        let w = image.width, h = image.height, plane = w * h
        let order = swapRB ? [2, 1, 0] : [0, 1, 2]
        for y in 0..<h {
            let row = image.baseAddress.advanced(by: y * image.stride).assumingMemoryBound(to: UInt8.self)
            for c in 0..<3 {
                let src = order[c]
                let dst = out + c * plane + y * w
                for x in 0..<w { dst[x] = (Float(row[x * 3 + src]) - mean) * scale }
            }
        }
    }
}
