import CVisageOpenCV
import VisageCore

/// A BGR colour for debug drawing.
public struct Color: Sendable {
    public var b, g, r: Double
    public init(b: Double, g: Double, r: Double) { self.b = b; self.g = g; self.r = r }
    public static let green = Color(b: 0, g: 220, r: 0)
    public static let red = Color(b: 0, g: 0, r: 255)
    public static let yellow = Color(b: 0, g: 230, r: 255)
    public static let cyan = Color(b: 255, g: 230, r: 0)
    public static let white = Color(b: 255, g: 255, r: 255)
    var scalar: [Double] { [b, g, r, 255] }
}

/// In-place annotation of 8-bit images (boxes, points, labels) for `--draw` outputs.
public enum Drawing {
    public static func rectangle(_ image: Image, _ box: Box, color: Color = .green, thickness: Int = 2) {
        image.withView { v in
            vcv_draw_rect(v, Int32(box.x1.rounded()), Int32(box.y1.rounded()), Int32(box.width.rounded()),
                          Int32(box.height.rounded()), color.scalar, Int32(thickness))
        }
    }

    public static func circle(_ image: Image, _ center: Point, radius: Int, color: Color = .red, thickness: Int = -1) {
        image.withView { v in
            vcv_draw_circle(v, Int32(center.x.rounded()), Int32(center.y.rounded()), Int32(radius), color.scalar, Int32(thickness))
        }
    }

    public static func line(_ image: Image, from a: Point, to b: Point, color: Color = .cyan, thickness: Int = 1) {
        image.withView { v in
            vcv_draw_line(v, Int32(a.x.rounded()), Int32(a.y.rounded()), Int32(b.x.rounded()), Int32(b.y.rounded()),
                          color.scalar, Int32(thickness))
        }
    }

    public static func text(_ image: Image, _ text: String, at origin: Point, scale: Double = 0.5, color: Color = .white, thickness: Int = 1) {
        image.withView { v in
            vcv_draw_text(v, text, Int32(origin.x.rounded()), Int32(origin.y.rounded()), scale, color.scalar, Int32(thickness))
        }
    }
}
