import Foundation
import VisageCore
import VisageMedia

/// A 5-point template and crop size that faces are aligned to.
public struct AlignmentTemplate: Sendable, Equatable {
    public var name: String
    /// Output crop side in pixels.
    public var size: Int
    /// Keypoints in crop pixels, in detector order (eye, eye, nose, mouth corner, mouth corner).
    public var points: [Point]
    /// How the transform is estimated.
    public var method: Method

    public enum Method: Sendable, Equatable {
        /// Least-squares similarity (Umeyama), as insightface's `estimate_norm` / skimage.
        case umeyama
        /// OpenCV's robust estimateAffinePartial2D (LMEDS), as facexlib/GFPGAN do.
        case lmeds
    }

    /// insightface's `arcface_dst` for 112x112 crops (ArcFace, SFace).
    public static let arcfaceDst: [Point] = [
        Point(38.2946, 51.6963), Point(73.5318, 51.5014), Point(56.0252, 71.7366),
        Point(41.5493, 92.3655), Point(70.7299, 92.2041),
    ]

    public static let arcface112 = AlignmentTemplate(name: "arcface-112", size: 112, points: arcfaceDst, method: .umeyama)

    /// insightface `estimate_norm(kps, size)`: sizes divisible by 112 scale the template; others
    /// (128 for inswapper) scale by size/128 and shift x by 8·size/128.
    public static func insightface(size: Int) -> AlignmentTemplate {
        let ratio: Float, shift: Float
        if size % 112 == 0 { ratio = Float(size) / 112; shift = 0 } else { ratio = Float(size) / 128; shift = 8 * ratio }
        return AlignmentTemplate(name: "insightface-\(size)", size: size,
                                 points: arcfaceDst.map { Point($0.x * ratio + shift, $0.y * ratio) }, method: .umeyama)
    }

    public static let inswapper128 = insightface(size: 128)

    /// FFHQ 512 template of facexlib's FaceRestoreHelper (GFPGAN, CodeFormer).
    public static let ffhq512 = AlignmentTemplate(name: "ffhq-512", size: 512, points: [
        Point(192.98138, 239.94708), Point(318.90277, 240.1936), Point(256.63416, 314.01935),
        Point(201.26117, 371.41043), Point(313.08905, 371.15118),
    ], method: .lmeds)
}

/// An aligned face crop with the transforms between frame and crop pixels (paste-back needs both).
public struct AlignedFace: Sendable {
    public var crop: Image
    /// Frame pixels → crop pixels.
    public var transform: Affine2D
    /// Crop pixels → frame pixels.
    public var inverse: Affine2D
}

public enum FaceAlignment {
    /// The similarity transform taking `points` (frame pixels) onto the template.
    public static func estimate(_ points: [Point], to template: AlignmentTemplate) throws -> Affine2D {
        guard points.count == template.points.count else {
            throw VisageError.invalidArgument("alignment needs \(template.points.count) keypoints, got \(points.count)")
        }
        switch template.method {
        case .umeyama: return try umeyama(from: points, to: template.points)
        case .lmeds: return try ImageOps.estimateAffinePartial2D(from: points, to: template.points, method: .lmeds)
        }
    }

    /// Warps the face into the template's crop (constant black border, bilinear), like insightface `norm_crop`.
    public static func crop(_ frame: Image, keypoints: [Point], template: AlignmentTemplate) throws -> AlignedFace {
        let m = try estimate(keypoints, to: template)
        guard let inverse = m.inverted else { throw VisageError.invalidArgument("degenerate keypoints: cannot align") }
        let crop = try ImageOps.warpAffine(frame, m, width: template.size, height: template.size)
        return AlignedFace(crop: crop, transform: m, inverse: inverse)
    }

    /// Least-squares similarity (rotation, uniform scale, translation) by Umeyama's method, in
    /// double precision. In 2-D the optimal proper rotation has a closed form: with centred
    /// point sets, a = Σ x·y and b = Σ x×y give the angle atan2(b, a) and the scale √(a²+b²)/Σ|x|².
    public static func umeyama(from source: [Point], to destination: [Point]) throws -> Affine2D {
        try umeyama(from: source.map { (Double($0.x), Double($0.y)) }, to: destination.map { (Double($0.x), Double($0.y)) })
    }

    /// Double-precision variant (keypoints from a file, reference comparisons).
    public static func umeyama(from source: [(Double, Double)], to destination: [(Double, Double)]) throws -> Affine2D {
        let n = Double(source.count)
        guard source.count == destination.count, source.count >= 2 else {
            throw VisageError.invalidArgument("similarity fit needs two equal lists of at least 2 points")
        }
        let sx = source.reduce(0.0) { $0 + $1.0 } / n, sy = source.reduce(0.0) { $0 + $1.1 } / n
        let dx = destination.reduce(0.0) { $0 + $1.0 } / n, dy = destination.reduce(0.0) { $0 + $1.1 } / n
        var a = 0.0, b = 0.0, variance = 0.0
        for (p, q) in zip(source, destination) {
            let px = p.0 - sx, py = p.1 - sy, qx = q.0 - dx, qy = q.1 - dy
            a += px * qx + py * qy
            b += px * qy - py * qx
            variance += px * px + py * py
        }
        guard variance > 0 else { throw VisageError.invalidArgument("all keypoints coincide: cannot align") }
        let norm = (a * a + b * b).squareRoot()
        let scale = norm / variance
        let cosine = norm > 0 ? a / norm : 1, sine = norm > 0 ? b / norm : 0
        let m00: Double = scale * cosine, m01: Double = -scale * sine
        let m10: Double = scale * sine, m11: Double = scale * cosine
        let tx: Double = dx - (m00 * sx + m01 * sy)
        let ty: Double = dy - (m10 * sx + m11 * sy)
        return Affine2D([m00, m01, tx, m10, m11, ty])
    }
}
