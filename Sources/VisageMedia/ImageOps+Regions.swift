import CVisageOpenCV
import VisageCore

extension ImageOps {
    /// The pixels a full-frame `warpAffine(src, transform)` would produce inside one rectangle of the
    /// destination, computed for that rectangle only.
    ///
    /// `dst` covers destination pixels `[origin.x, origin.x + dst.width) × [origin.y, origin.y + dst.height)`.
    /// Warping a region with a shifted matrix instead is not bit-identical (OpenCV rounds the x and y terms
    /// of its fixed-point coordinates separately, so the rounding depends on the absolute position); this is.
    /// Code that reproduces a Python pipeline which warps whole frames (facexlib's paste-back) uses it to
    /// touch only the face's rectangle. Bilinear interpolation only.
    /// - Parameter transform: forward matrix, source pixels → full destination pixels.
    public static func warpAffine(_ src: Image, _ transform: Affine2D, into dst: Image, origin: (x: Int, y: Int),
                                  border: BorderMode = .constant, borderValue: [Double] = [0, 0, 0, 0]) throws {
        var value = borderValue + [Double](repeating: 0, count: max(0, 4 - borderValue.count))
        try OpenCVBridge.call("warpAffine (region)") { err in
            src.withView { s in dst.withView { d in
                transform.m.withUnsafeBufferPointer { m in
                    _ = vcv_warp_affine_region(s, d, m.baseAddress, Interpolation.linear.rawValue, border.rawValue, &value,
                                               Int32(origin.x), Int32(origin.y), &err)
                }
            } }
        }
    }

    /// OpenCV's `addWeighted`: `dst = saturate(round(a·alpha + b·beta + gamma))`, per sample. `a`, `b` and `dst`
    /// have the same size, channels and depth; `dst` may be `a` or `b`.
    public static func addWeighted(_ a: Image, alpha: Double, _ b: Image, beta: Double, gamma: Double = 0, into dst: Image) throws {
        try OpenCVBridge.call("addWeighted") { err in
            a.withView { va in b.withView { vb in dst.withView { vd in
                _ = vcv_add_weighted(va, alpha, vb, beta, gamma, vd, &err)
            } } }
        }
    }

    /// `estimateAffinePartial2D` with an explicit reprojection threshold (RANSAC's inlier distance in pixels;
    /// FaceFusion's face warps use RANSAC with 100).
    public static func estimateAffinePartial2D(from: [Point], to: [Point], method: RobustMethod, reprojectionThreshold: Double) throws -> Affine2D {
        guard from.count == to.count, from.count >= 2 else {
            throw VisageError.invalidArgument("estimateAffinePartial2D needs two equal lists of at least 2 points")
        }
        let a = from.flatMap { [$0.x, $0.y] }, b = to.flatMap { [$0.x, $0.y] }
        var out = [Double](repeating: 0, count: 6)
        try OpenCVBridge.call("estimateAffinePartial2D") { err in
            _ = vcv_estimate_affine_partial_2d_threshold(a, b, Int32(from.count), method.rawValue, reprojectionThreshold, &out, &err)
        }
        return Affine2D(out)
    }
}

extension ImageOps {
    /// Erosion with a rectangular kernel of ones into a caller's buffer (same size, channels and depth as
    /// `src`). A 0×0 kernel erodes with OpenCV's default 3×3, as `cv2.erode(m, np.ones((0, 0)))` does.
    public static func erode(_ src: Image, into dst: Image, kernelWidth: Int, kernelHeight: Int, iterations: Int = 1) throws {
        try OpenCVBridge.call("erode") { err in
            src.withView { s in dst.withView { d in
                _ = vcv_erode(s, d, Int32(kernelWidth), Int32(kernelHeight), Int32(iterations), &err)
            } }
        }
    }

    /// Gaussian blur into a caller's buffer (same size, channels and depth as `src`); odd kernel sizes.
    public static func gaussianBlur(_ src: Image, into dst: Image, kernelWidth: Int, kernelHeight: Int,
                                    sigmaX: Double = 0, sigmaY: Double = 0) throws {
        try OpenCVBridge.call("GaussianBlur") { err in
            src.withView { s in dst.withView { d in
                _ = vcv_gaussian_blur(s, d, Int32(kernelWidth), Int32(kernelHeight), sigmaX, sigmaY, &err)
            } }
        }
    }
}
