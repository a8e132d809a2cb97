import Foundation

/// The similarity (scale · rotation, no translation) FaceAnalyser uses to align a face: OpenFace's
/// `AlignShapesWithScale` between the detected landmarks and the PDM mean shape, on the rigid subset.
enum AUAlignSimilarity {
    /// `extract_rigid_points`: outline near the ears (1–4, 12–15), nose bridge and base (27–29, 31–35) and
    /// eye corners/lower lids (36, 39–42, 45–47), the points that move least with expression.
    static let rigidIndices: [Int] = [1, 2, 3, 4, 12, 13, 14, 15, 27, 28, 29, 31, 32, 33, 34, 35,
                                      36, 39, 40, 41, 42, 45, 46, 47]

    /// Centred destination points and their RMS size, computed once per aligner.
    struct Destination: Sendable {
        var xs: [Float]
        var ys: [Float]
        var rms: Float
    }

    /// Destination shape: the mean shape's x and y times `scale` (float, as OpenFace scales `mean_shape`),
    /// reduced to `indices`, centred. Empty `indices` means all points.
    static func destination(meanShape: [Float], pointCount n: Int, scale: Double, indices: [Int]) -> Destination {
        let s = Float(scale)
        let xs = indices.map { meanShape[$0] * s }, ys = indices.map { meanShape[$0 + n] * s }
        let (cx, cy) = means(xs, ys)
        let centredX = xs.map { $0 - cx }, centredY = ys.map { $0 - cy }
        return Destination(xs: centredX, ys: centredY, rms: rootMeanSquare(centredX, centredY))
    }

    /// The 2 × 2 matrix s · R (row-major a, b, c, d) with R the rotation that best maps the centred source
    /// points onto the centred destination (Kabsch, no reflection) and s the ratio of their RMS sizes.
    ///
    /// OpenFace takes R from a float SVD of the 2 × 2 cross-covariance; for 2D the optimal rotation has the
    /// closed form θ = atan2(Σ(xs·yd − ys·xd), Σ(xs·xd + ys·yd)), which is what is evaluated here (same
    /// rotation; it differs from the SVD route only by float rounding). Means and sums are accumulated in
    /// double and rounded to float where OpenFace stores floats.
    static func scaleRotation(sourceXs: UnsafeBufferPointer<Float>, sourceYs: UnsafeBufferPointer<Float>,
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

    private static func means(_ xs: [Float], _ ys: [Float]) -> (Float, Float) {
        let n = Double(xs.count)
        return (Float(xs.reduce(0.0) { $0 + Double($1) } / n), Float(ys.reduce(0.0) { $0 + Double($1) } / n))
    }

    private static func rootMeanSquare(_ xs: [Float], _ ys: [Float]) -> Float {
        var sum = 0.0
        for k in xs.indices { sum += Double(xs[k] * xs[k]) + Double(ys[k] * ys[k]) }
        return Float((sum / Double(xs.count)).squareRoot())
    }
}
