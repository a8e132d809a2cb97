import Foundation

/// OpenFace's `AlignShapesWithScale`: the similarity (scale · rotation, no translation) that best maps one
/// 2D shape onto another. FaceAnalyser aligns faces with it (detected landmarks → PDM mean shape, on the
/// rigid subset) and CLNF uses it between the image and each scale's reference shape.
public enum SimilarityAlignment {
    /// `extract_rigid_points`: outline near the ears (1–4, 12–15), nose bridge and base (27–29, 31–35) and
    /// eye corners/lower lids (36, 39–42, 45–47), the points that move least with expression.
    public static let rigidIndices: [Int] = [1, 2, 3, 4, 12, 13, 14, 15, 27, 28, 29, 31, 32, 33, 34, 35,
                                             36, 39, 40, 41, 42, 45, 46, 47]

    /// The destination shape, centred, and its RMS size. Reusable: `set` refills it without allocating once
    /// it has held that many points.
    public struct Destination: Sendable {
        public private(set) var xs: [Float] = []
        public private(set) var ys: [Float] = []
        public private(set) var rms: Float = 1

        public init() {}

        /// Points `indices` of (xs, ys), centred on their mean (double sums rounded to float, float
        /// subtraction, as OpenFace centres `cv::Mat_<float>` shapes).
        public mutating func set(xs sourceX: UnsafeBufferPointer<Float>, ys sourceY: UnsafeBufferPointer<Float>, indices: [Int]) {
            let count = indices.count
            if xs.count != count {
                xs = [Float](repeating: 0, count: count)
                ys = xs
            }
            var sumX = 0.0, sumY = 0.0
            for i in indices { sumX += Double(sourceX[i]); sumY += Double(sourceY[i]) }
            let cx = Float(sumX / Double(count)), cy = Float(sumY / Double(count))
            var squares = 0.0
            for (k, i) in indices.enumerated() {
                let x = sourceX[i] - cx, y = sourceY[i] - cy
                xs[k] = x
                ys[k] = y
                squares += Double(x * x) + Double(y * y)
            }
            rms = Float((squares / Double(count)).squareRoot())
        }
    }

    /// Destination for FaceAnalyser: the mean shape's x and y times `scale` (float, as OpenFace scales
    /// `mean_shape`), reduced to `indices`.
    static func destination(meanShape: [Float], pointCount n: Int, scale: Double, indices: [Int]) -> Destination {
        let s = Float(scale)
        let xs = (0..<n).map { meanShape[$0] * s }, ys = (0..<n).map { meanShape[$0 + n] * s }
        var destination = Destination()
        xs.withUnsafeBufferPointer { x in ys.withUnsafeBufferPointer { y in destination.set(xs: x, ys: y, indices: indices) } }
        return destination
    }

    /// The 2 × 2 matrix s · R (row-major a, b, c, d) with R the rotation that best maps the centred source
    /// points `indices` onto the centred destination (Kabsch, no reflection) and s the ratio of their RMS sizes.
    ///
    /// OpenFace takes R from a float SVD of the 2 × 2 cross-covariance; for 2D the optimal rotation has the
    /// closed form θ = atan2(Σ(xs·yd − ys·xd), Σ(xs·xd + ys·yd)), which is what is evaluated here (same
    /// rotation; it differs from the SVD route only by float rounding). Means and sums are accumulated in
    /// double and rounded to float where OpenFace stores floats.
    public static func scaleRotation(sourceXs: UnsafeBufferPointer<Float>, sourceYs: UnsafeBufferPointer<Float>,
                                     indices: [Int], destination: Destination) -> (Float, Float, Float, Float) {
        let count = indices.count
        var sumX = 0.0, sumY = 0.0
        for i in indices { sumX += Double(sourceXs[i]); sumY += Double(sourceYs[i]) }
        let cx = Float(sumX / Double(count)), cy = Float(sumY / Double(count))
        var squares = 0.0, h00 = 0.0, h01 = 0.0, h10 = 0.0, h11 = 0.0
        for (k, i) in indices.enumerated() {
            let x = sourceXs[i] - cx, y = sourceYs[i] - cy
            squares += Double(x * x) + Double(y * y)
            let dx = Double(destination.xs[k]), dy = Double(destination.ys[k])
            h00 += Double(x) * dx; h01 += Double(x) * dy
            h10 += Double(y) * dx; h11 += Double(y) * dy
        }
        let sourceRMS = Float((squares / Double(count)).squareRoot())
        let scale = destination.rms / sourceRMS
        let theta = atan2(h01 - h10, h00 + h11)
        let c = Float(cos(theta)), s = Float(sin(theta))
        return (scale * c, scale * -s, scale * s, scale * c)
    }
}
