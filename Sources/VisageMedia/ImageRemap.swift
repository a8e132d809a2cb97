import CVisageOpenCV
import VisageCore

extension ImageOps {
    /// OpenCV's `remap` with separate float32 x/y maps: `dst(y, x) = src(mapY(y, x), mapX(y, x))`.
    /// Goes through OpenCV (not a Swift loop) because its bilinear weights are quantised to 1/32 pixel,
    /// and code that reproduces OpenCV-based programs (OpenFace's piecewise affine warp) needs that exactly.
    /// `dst`, `mapX` and `mapY` must have the same size; `dst` has `src`'s channels and depth.
    public static func remap(_ src: Image, mapX: Image, mapY: Image, into dst: Image,
                             interpolation: Interpolation = .linear, border: BorderMode = .constant,
                             borderValue: [Double] = [0, 0, 0, 0]) throws {
        var value = borderValue + [Double](repeating: 0, count: max(0, 4 - borderValue.count))
        try OpenCVBridge.call("remap") { err in
            src.withView { s in dst.withView { d in mapX.withView { mx in mapY.withView { my in
                _ = vcv_remap(s, d, mx, my, interpolation.rawValue, border.rawValue, &value, &err)
            } } } }
        }
    }
}
