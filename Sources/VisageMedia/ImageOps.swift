import CVisageOpenCV
import VisageCore

/// Interpolation for resizes and warps (values are OpenCV's).
public enum Interpolation: Int32, Sendable {
    case nearest = 0, linear = 1, cubic = 2, area = 3, lanczos = 4
}

/// Border handling for warps (values are OpenCV's).
public enum BorderMode: Int32, Sendable {
    case constant = 0, replicate = 1, reflect = 2, wrap = 3, reflect101 = 4, transparent = 5
}

/// Colour conversions we use (values are OpenCV's cv::ColorConversionCodes).
public enum ColorConversion: Int32, Sendable {
    case bgrToRGB = 4, bgrToGray = 6, grayToBGR = 8, bgraToBGR = 1, bgrToBGRA = 0, bgrToLab = 44, labToBGR = 56

    var outputChannels: Int {
        switch self {
        case .bgrToGray: return 1
        case .bgrToBGRA: return 4
        default: return 3
        }
    }
}

/// Image processing through OpenCV. Functions that produce an image allocate it; the `into:`
/// variants write into a caller's buffer so that hot loops allocate nothing.
public enum ImageOps {
    public static func resize(_ src: Image, width: Int, height: Int, interpolation: Interpolation = .linear) throws -> Image {
        let dst = Image(width: width, height: height, channels: src.channels, depth: src.depth)
        try resize(src, into: dst, interpolation: interpolation)
        return dst
    }

    public static func resize(_ src: Image, into dst: Image, interpolation: Interpolation = .linear) throws {
        try OpenCVBridge.call("resize") { err in
            src.withView { s in dst.withView { d in _ = vcv_resize(s, d, interpolation.rawValue, &err) } }
        }
    }

    public static func convertColor(_ src: Image, _ code: ColorConversion) throws -> Image {
        let dst = Image(width: src.width, height: src.height, channels: code.outputChannels, depth: src.depth)
        try OpenCVBridge.call("cvtColor") { err in
            src.withView { s in dst.withView { d in _ = vcv_cvt_color(s, d, code.rawValue, &err) } }
        }
        return dst
    }

    /// Warps `src` by the forward matrix `transform` (src → dst pixels) into a new width x height image.
    public static func warpAffine(_ src: Image, _ transform: Affine2D, width: Int, height: Int,
                                  interpolation: Interpolation = .linear, border: BorderMode = .constant,
                                  borderValue: [Double] = [0, 0, 0, 0]) throws -> Image {
        let dst = Image(width: width, height: height, channels: src.channels, depth: src.depth)
        try warpAffine(src, transform, into: dst, interpolation: interpolation, border: border, borderValue: borderValue)
        return dst
    }

    public static func warpAffine(_ src: Image, _ transform: Affine2D, into dst: Image,
                                  interpolation: Interpolation = .linear, border: BorderMode = .constant,
                                  borderValue: [Double] = [0, 0, 0, 0]) throws {
        var value = borderValue + [Double](repeating: 0, count: max(0, 4 - borderValue.count))
        try OpenCVBridge.call("warpAffine") { err in
            src.withView { s in dst.withView { d in
                transform.m.withUnsafeBufferPointer { m in
                    _ = vcv_warp_affine(s, d, m.baseAddress, interpolation.rawValue, border.rawValue, &value, &err)
                }
            } }
        }
    }

    /// OpenCV's invertAffineTransform (throws for a singular matrix instead of returning zeros).
    public static func invertAffine(_ transform: Affine2D) throws -> Affine2D {
        guard transform.inverted != nil else { throw VisageError.invalidArgument("affine transform is singular") }
        var out = [Double](repeating: 0, count: 6)
        try OpenCVBridge.call("invertAffineTransform") { err in
            transform.m.withUnsafeBufferPointer { m in _ = vcv_invert_affine(m.baseAddress, &out, &err) }
        }
        return Affine2D(out)
    }

    /// Gaussian blur; kernel sizes must be odd (0 lets OpenCV derive them from sigma).
    public static func gaussianBlur(_ src: Image, kernelWidth: Int, kernelHeight: Int, sigmaX: Double = 0, sigmaY: Double = 0) throws -> Image {
        let dst = Image(width: src.width, height: src.height, channels: src.channels, depth: src.depth)
        try OpenCVBridge.call("GaussianBlur") { err in
            src.withView { s in dst.withView { d in
                _ = vcv_gaussian_blur(s, d, Int32(kernelWidth), Int32(kernelHeight), sigmaX, sigmaY, &err)
            } }
        }
        return dst
    }

    /// Erosion with a rectangular kernel of ones.
    public static func erode(_ src: Image, kernelWidth: Int, kernelHeight: Int, iterations: Int = 1) throws -> Image {
        let dst = Image(width: src.width, height: src.height, channels: src.channels, depth: src.depth)
        try OpenCVBridge.call("erode") { err in
            src.withView { s in dst.withView { d in
                _ = vcv_erode(s, d, Int32(kernelWidth), Int32(kernelHeight), Int32(iterations), &err)
            } }
        }
        return dst
    }

    public enum CloneMode: Int32, Sendable { case normal = 1, mixed = 2 }

    /// Poisson (seamless) cloning of `source` into `destination`, centred at `center`; returns a new image.
    public static func seamlessClone(source: Image, destination: Image, mask: Image, center: (x: Int, y: Int),
                                     mode: CloneMode = .normal) throws -> Image {
        let out = Image(width: destination.width, height: destination.height, channels: destination.channels)
        try OpenCVBridge.call("seamlessClone") { err in
            source.withView { s in destination.withView { d in mask.withView { m in out.withView { o in
                _ = vcv_seamless_clone(s, d, m, Int32(center.x), Int32(center.y), o, mode.rawValue, &err)
            } } } }
        }
        return out
    }

    /// OpenCV supports only robust fits here; on exact correspondences both return the exact transform.
    public enum RobustMethod: Int32, Sendable { case lmeds = 4, ransac = 8 }

    /// OpenCV's estimateAffinePartial2D (rotation + uniform scale + translation).
    public static func estimateAffinePartial2D(from: [Point], to: [Point], method: RobustMethod = .lmeds) throws -> Affine2D {
        guard from.count == to.count, from.count >= 2 else {
            throw VisageError.invalidArgument("estimateAffinePartial2D needs two equal lists of at least 2 points")
        }
        let a = from.flatMap { [$0.x, $0.y] }, b = to.flatMap { [$0.x, $0.y] }
        var out = [Double](repeating: 0, count: 6)
        try OpenCVBridge.call("estimateAffinePartial2D") { err in
            _ = vcv_estimate_affine_partial_2d(a, b, Int32(from.count), method.rawValue, &out, &err)
        }
        return Affine2D(out)
    }
}

/// Camera geometry through OpenCV's calib3d.
public enum Geometry3D {
    /// Pinhole intrinsics without distortion.
    public struct Camera: Sendable, Equatable {
        public var fx, fy, cx, cy: Double
        public init(fx: Double, fy: Double, cx: Double, cy: Double) { self.fx = fx; self.fy = fy; self.cx = cx; self.cy = cy }

        /// OpenFace's guess when the camera is unknown: fx = fy = 500 (w/640 + h/480) / 2, principal point at the centre.
        public static func openFaceDefault(width: Int, height: Int) -> Camera {
            let f = 500 * (Double(width) / 640 + Double(height) / 480) / 2
            return Camera(fx: f, fy: f, cx: Double(width) / 2, cy: Double(height) / 2)
        }
    }

    /// Rotation vector and translation of `object` points (model space) seen at `image` points.
    public static func solvePnP(object: [(Float, Float, Float)], image: [Point], camera: Camera,
                                guess: (rvec: [Double], tvec: [Double])? = nil) throws -> (rvec: [Double], tvec: [Double]) {
        guard object.count == image.count, object.count >= 4 else {
            throw VisageError.invalidArgument("solvePnP needs at least 4 matching 3D/2D points")
        }
        let o = object.flatMap { [$0.0, $0.1, $0.2] }, i = image.flatMap { [$0.x, $0.y] }
        var r = guess?.rvec ?? [0, 0, 0], t = guess?.tvec ?? [0, 0, 1]
        let cam = [camera.fx, camera.fy, camera.cx, camera.cy]
        try OpenCVBridge.call("solvePnP") { err in
            _ = vcv_solve_pnp(o, i, Int32(object.count), cam, guess == nil ? 0 : 1, &r, &t, &err)
        }
        return (r, t)
    }

    /// 3x3 row-major rotation matrix of a rotation vector.
    public static func rodrigues(_ rvec: [Double]) throws -> [Double] {
        var m = [Double](repeating: 0, count: 9)
        try OpenCVBridge.call("Rodrigues") { err in _ = vcv_rodrigues(rvec, &m, &err) }
        return m
    }
}
