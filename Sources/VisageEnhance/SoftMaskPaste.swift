import Foundation
import VisageCore
import VisageMedia

/// A restored face crop and the alignment it was made with.
public struct RestoredFace: Sendable {
    /// The network's output, `size`² 8-bit BGR.
    public var crop: Image
    /// Frame pixels → crop pixels (the alignment of the frame the face is pasted into).
    public var transform: Affine2D

    public init(crop: Image, transform: Affine2D) {
        self.crop = crop
        self.transform = transform
    }
}

/// facexlib's `FaceRestoreHelper.paste_faces_to_input_image` with the square mask (use_parse=False) and
/// upscale factor 1, reproduced step for step:
///
/// 1. `inverse = invertAffineTransform(transform)`; the crop and a float32 square of ones are warped into
///    the frame with it (bilinear, black border).
/// 2. The warped ones are eroded with a 2×2 kernel; `edge = int(sqrt(Σ eroded)) // 20`; that mask is eroded
///    again with a (2·edge)² kernel and Gaussian-blurred with a (2·edge + 1)² kernel (σ from the size): the
///    soft mask.
/// 3. `frame = soft · (eroded · warped crop) + (1 − soft) · frame` in float32, face after face, and only at
///    the end truncated to 8 bits (overlapping faces blend in float, as facexlib does).
///
/// Only each face's rectangle is computed: the warps use `ImageOps.warpAffine(_:_:into:origin:)`, which gives
/// the full-frame warp's exact pixels, and the rectangle keeps a zero margin wider than the erosion and blur
/// reach, so every step equals the full-frame computation.
public final class SoftMaskPaste: @unchecked Sendable {
    private var ones: [Int: Image] = [:]
    private let lock = NSLock()

    public init() {}

    /// A rectangle of the frame, in pixels.
    public struct Rect: Sendable, Equatable, Codable {
        public var x: Int, y: Int, width: Int, height: Int
        public init(x: Int, y: Int, width: Int, height: Int) { self.x = x; self.y = y; self.width = width; self.height = height }
        func intersects(_ o: Rect) -> Bool { x < o.x + o.width && o.x < x + width && y < o.y + o.height && o.y < y + height }
        func union(_ o: Rect) -> Rect {
            let x0 = min(x, o.x), y0 = min(y, o.y)
            return Rect(x: x0, y: y0, width: max(x + width, o.x + o.width) - x0, height: max(y + height, o.y + o.height) - y0)
        }
    }

    /// The rectangle of `frame` a face can change, with the zero margin the mask steps need; nil when
    /// the face's square lies outside the frame.
    public static func region(of face: RestoredFace, frameWidth: Int, frameHeight: Int) -> Rect? {
        guard let inverse = face.transform.inverted else { return nil }
        let s = Float(face.crop.width)
        // Bilinear taps reach one pixel outside the crop square.
        let corners = [Point(-1, -1), Point(s, -1), Point(-1, s), Point(s, s)].map(inverse.apply)
        let scale = abs(inverse.m[0] * inverse.m[4] - inverse.m[1] * inverse.m[3]).squareRoot()
        // edge ≤ sqrt(area)/20 and area ≤ (side · scale)²; erosion reaches edge, the blur edge more.
        let edge = Int(Double(face.crop.width) * scale / 20) + 1
        let margin = 2 * edge + 4
        let x0 = max(0, Int(floor(corners.map(\.x).min()!)) - margin), y0 = max(0, Int(floor(corners.map(\.y).min()!)) - margin)
        let x1 = min(frameWidth, Int(ceil(corners.map(\.x).max()!)) + margin + 1)
        let y1 = min(frameHeight, Int(ceil(corners.map(\.y).max()!)) + margin + 1)
        guard x1 > x0, y1 > y0 else { return nil }
        return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// Groups faces whose rectangles overlap (they must share one float32 buffer); each group keeps the
    /// faces' order. Returns (rectangle, face indices).
    public static func clusters(_ rects: [Rect?]) -> [(Rect, [Int])] {
        var groups: [(Rect, [Int])] = []
        for (i, rect) in rects.enumerated() {
            guard var merged = rect else { continue }
            var members = [i]
            var changed = true
            while changed {
                changed = false
                for g in groups.indices.reversed() where groups[g].0.intersects(merged) {
                    merged = merged.union(groups[g].0)
                    members += groups[g].1
                    groups.remove(at: g)
                    changed = true
                }
            }
            groups.append((merged, members.sorted()))
        }
        return groups
    }

    /// Pastes the faces into `frame` in place. Returns the rectangles that may have changed (one per group
    /// of overlapping faces). Stage time goes to "paste_back".
    @discardableResult
    public func paste(_ faces: [RestoredFace], into frame: Image, times: StageTimes? = nil) throws -> [Rect] {
        guard frame.channels == 3, frame.depth == .uint8 else {
            throw VisageError.invalidArgument("paste-back needs an 8-bit BGR frame, got \(frame.channels) channel(s)")
        }
        return try times.measure("paste_back") {
            let groups = Self.clusters(faces.map { Self.region(of: $0, frameWidth: frame.width, frameHeight: frame.height) })
            for (rect, members) in groups {
                try paste(members.map { faces[$0] }, into: frame, rect: rect)
            }
            return groups.map(\.0)
        }
    }

    private func onesSquare(_ size: Int) -> Image {
        if let cached = ones[size] { return cached }
        let square = Image(width: size, height: size, channels: 1, depth: .float32)
        square.baseAddress.initializeMemory(as: Float.self, repeating: 1, count: size * size)
        ones[size] = square
        return square
    }

    /// Reusable buffers: a frame-sized allocation per stage and per face would cost more than the stage
    /// (fresh pages are zero-filled on first touch).
    private var scratch: [String: ImageStorage] = [:]
    private var accumulator: [Float] = []

    private func buffer(_ name: String, width: Int, height: Int, channels: Int, depth: PixelDepth) -> Image {
        let stride = width * channels * depth.byteSize
        let bytes = stride * height
        if (scratch[name]?.byteCount ?? -1) < bytes { scratch[name] = ImageStorage(zeroedByteCount: bytes) }
        return Image(width: width, height: height, channels: channels, depth: depth, stride: stride, storage: scratch[name]!)
    }

    private func paste(_ faces: [RestoredFace], into frame: Image, rect: Rect) throws {
        let w = rect.width, h = rect.height, rowCount = w * 3
        guard let target = frame.region(x: rect.x, y: rect.y, width: w, height: h) else { return }
        lock.lock()
        defer { lock.unlock() }
        // The running float32 image, starting from the frame's bytes (numpy promotes uint8 exactly).
        if accumulator.count < w * h * 3 { accumulator = [Float](repeating: 0, count: w * h * 3) }
        let warped = buffer("warped", width: w, height: h, channels: 3, depth: .uint8)
        let warpedMask = buffer("mask", width: w, height: h, channels: 1, depth: .float32)
        let eroded = buffer("eroded", width: w, height: h, channels: 1, depth: .float32)
        let center = buffer("center", width: w, height: h, channels: 1, depth: .float32)
        let soft = buffer("soft", width: w, height: h, channels: 1, depth: .float32)
        try accumulator.withUnsafeMutableBufferPointer { acc in
            for y in 0..<h {
                let row = target.baseAddress.advanced(by: y * target.stride).assumingMemoryBound(to: UInt8.self)
                for i in 0..<rowCount { acc[y * rowCount + i] = Float(row[i]) }
            }
            for face in faces {
                let inverse = try ImageOps.invertAffine(face.transform)
                try ImageOps.warpAffine(face.crop, inverse, into: warped, origin: (rect.x, rect.y))
                try ImageOps.warpAffine(onesSquare(face.crop.width), inverse, into: warpedMask, origin: (rect.x, rect.y))
                try ImageOps.erode(warpedMask, into: eroded, kernelWidth: 2, kernelHeight: 2)
                var area = 0.0
                for y in 0..<h {
                    let m = eroded.baseAddress.advanced(by: y * eroded.stride).assumingMemoryBound(to: Float.self)
                    for x in 0..<w { area += Double(m[x]) }
                }
                // Python: int(area ** 0.5) // 20. An empty kernel (edge 0) makes OpenCV erode with 3×3, as in facexlib.
                let edge = Int(area.squareRoot()) / 20
                try ImageOps.erode(eroded, into: center, kernelWidth: 2 * edge, kernelHeight: 2 * edge)
                try ImageOps.gaussianBlur(center, into: soft, kernelWidth: 2 * edge + 1, kernelHeight: 2 * edge + 1)
                for y in 0..<h {
                    let e = eroded.baseAddress.advanced(by: y * eroded.stride).assumingMemoryBound(to: Float.self)
                    let s = soft.baseAddress.advanced(by: y * soft.stride).assumingMemoryBound(to: Float.self)
                    let f = warped.baseAddress.advanced(by: y * warped.stride).assumingMemoryBound(to: UInt8.self)
                    let base = y * rowCount
                    for x in 0..<w {
                        let sx = s[x]
                        if sx == 0 { continue }   // soft·(…) + 1·acc == acc exactly
                        let ex = e[x], inv = 1 - sx
                        for c in 0..<3 {
                            let i = 3 * x + c
                            // numpy's order: soft * (eroded * crop) + (1 - soft) * acc, each product rounded to float32.
                            let pasted = ex * Float(f[i])
                            acc[base + i] = sx * pasted + inv * acc[base + i]
                        }
                    }
                }
            }
            for y in 0..<h {
                let row = target.baseAddress.advanced(by: y * target.stride).assumingMemoryBound(to: UInt8.self)
                for i in 0..<rowCount {
                    // astype(uint8): truncation toward zero (values stay within [0, 255] up to float noise).
                    row[i] = UInt8(min(max(acc[y * rowCount + i], 0), 255))
                }
            }
        }
    }
}
