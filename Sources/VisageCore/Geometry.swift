/// A point in some pixel space; the owner's documentation says which (frame, crop, normalised).
public struct Point: Equatable, Hashable, Sendable, Codable {
    public var x: Float
    public var y: Float
    public init(x: Float, y: Float) { self.x = x; self.y = y }
    public init(_ x: Float, _ y: Float) { self.x = x; self.y = y }
    /// Both coordinates are numbers (not NaN or infinite): what a model output must be before it is used.
    public var isFinite: Bool { x.isFinite && y.isFinite }
}

/// An axis-aligned box given by its corners (x1, y1) top-left and (x2, y2) bottom-right, as insightface does.
public struct Box: Equatable, Hashable, Sendable, Codable {
    public var x1: Float
    public var y1: Float
    public var x2: Float
    public var y2: Float

    public init(x1: Float, y1: Float, x2: Float, y2: Float) {
        self.x1 = x1; self.y1 = y1; self.x2 = x2; self.y2 = y2
    }
    public init(x: Float, y: Float, width: Float, height: Float) {
        self.init(x1: x, y1: y, x2: x + width, y2: y + height)
    }

    public var width: Float { x2 - x1 }
    public var height: Float { y2 - y1 }
    public var area: Float { max(0, width) * max(0, height) }
    public var center: Point { Point((x1 + x2) / 2, (y1 + y2) / 2) }

    /// Intersection over union (continuous coordinates, no +1 convention).
    public func iou(_ other: Box) -> Float {
        let w = min(x2, other.x2) - max(x1, other.x1)
        let h = min(y2, other.y2) - max(y1, other.y1)
        guard w > 0, h > 0 else { return 0 }
        let inter = w * h
        let union = area + other.area - inter
        return union > 0 ? inter / union : 0
    }

    /// This box scaled by `factor` in both axes (for mapping between image sizes).
    public func scaled(by factor: Float) -> Box {
        Box(x1: x1 * factor, y1: y1 * factor, x2: x2 * factor, y2: y2 * factor)
    }

    /// Clipped to [0, width] x [0, height].
    public func clipped(width: Int, height: Int) -> Box {
        Box(x1: min(max(x1, 0), Float(width)), y1: min(max(y1, 0), Float(height)),
            x2: min(max(x2, 0), Float(width)), y2: min(max(y2, 0), Float(height)))
    }
}

/// A 2x3 affine matrix [a b tx; c d ty], row-major, mapping (x, y) to (a x + b y + tx, c x + d y + ty).
public struct Affine2D: Equatable, Sendable, Codable {
    public var m: [Double]

    public init(_ m: [Double]) {
        precondition(m.count == 6, "Affine2D needs 6 values")
        self.m = m
    }

    public static let identity = Affine2D([1, 0, 0, 0, 1, 0])

    public func apply(_ p: Point) -> Point {
        let x = Double(p.x), y = Double(p.y)
        return Point(Float(m[0] * x + m[1] * y + m[2]), Float(m[3] * x + m[4] * y + m[5]))
    }

    /// The inverse transform, or nil if the matrix is singular.
    public var inverted: Affine2D? {
        let det = m[0] * m[4] - m[1] * m[3]
        guard det != 0, det.isFinite else { return nil }
        let a = m[4] / det, b = -m[1] / det, c = -m[3] / det, d = m[0] / det
        return Affine2D([a, b, -(a * m[2] + b * m[5]), c, d, -(c * m[2] + d * m[5])])
    }
}
