import Foundation

/// Small dense solvers for the fitting step and the similarity alignment.
enum CLNFLinearAlgebra {
    /// Solves A x = b for symmetric positive definite A (count × count, row-major, overwritten), x into `b`.
    /// Returns false when A is not positive definite.
    static func choleskySolve(_ a: UnsafeMutablePointer<Double>, count: Int, rhs b: UnsafeMutablePointer<Double>) -> Bool {
        for j in 0..<count {
            let rowJ = a + j * count
            var d = rowJ[j]
            for k in 0..<j { d -= rowJ[k] * rowJ[k] }
            guard d > 0, d.isFinite else { return false }
            let pivot = d.squareRoot()
            rowJ[j] = pivot
            for i in (j + 1)..<count {
                let rowI = a + i * count
                var v = rowI[j]
                for k in 0..<j { v -= rowI[k] * rowJ[k] }
                rowI[j] = v / pivot
            }
        }
        for i in 0..<count {
            let rowI = a + i * count
            var v = b[i]
            for k in 0..<i { v -= rowI[k] * b[k] }
            b[i] = v / rowI[i]
        }
        for i in stride(from: count - 1, through: 0, by: -1) {
            var v = b[i]
            for k in (i + 1)..<count { v -= a[k * count + i] * b[k] }
            b[i] = v / a[i * count + i]
        }
        return true
    }
}

/// `AlignShapesWithScale` (all points) and the 2 × 2 inverse OpenFace takes of it. Matrices are
/// (m00, m01, m10, m11).
enum CLNFSimilarity {
    /// s · R mapping the centred `source` shape onto the centred `destination` (2n layouts, x then y):
    /// s the ratio of RMS sizes, R the Kabsch rotation, in the closed form θ = atan2(Σ x×y', Σ x·y') that the
    /// 2 × 2 SVD reaches. Means and sums in double (cv::mean / cv::sum), results in float.
    static func alignWithScale(source: [Float], destination: [Float], count n: Int) -> SIMD4<Float> {
        var sx = 0.0, sy = 0.0, dx = 0.0, dy = 0.0
        for i in 0..<n {
            sx += Double(source[i]); sy += Double(source[i + n])
            dx += Double(destination[i]); dy += Double(destination[i + n])
        }
        let msx = Float(sx / Double(n)), msy = Float(sy / Double(n))
        let mdx = Float(dx / Double(n)), mdy = Float(dy / Double(n))
        var sourceSquares = 0.0, destinationSquares = 0.0, dotSum = 0.0, crossSum = 0.0
        for i in 0..<n {
            let x = source[i] - msx, y = source[i + n] - msy
            let u = destination[i] - mdx, v = destination[i + n] - mdy
            sourceSquares += Double(x * x) + Double(y * y)
            destinationSquares += Double(u * u) + Double(v * v)
            dotSum += Double(x) * Double(u) + Double(y) * Double(v)
            crossSum += Double(x) * Double(v) - Double(y) * Double(u)
        }
        let sourceRMS = Float((sourceSquares / Double(n)).squareRoot())
        let destinationRMS = Float((destinationSquares / Double(n)).squareRoot())
        let s = destinationRMS / sourceRMS
        let theta = atan2(crossSum, dotSum)
        let c = Float(cos(theta)), sn = Float(sin(theta))
        return SIMD4(s * c, -s * sn, s * sn, s * c)
    }

    /// `Matx22f::inv()`.
    static func inverse(_ m: SIMD4<Float>) -> SIMD4<Float> {
        let det = m[0] * m[3] - m[1] * m[2]
        guard det != 0 else { return SIMD4(1, 0, 0, 1) }
        let d = 1 / det
        return SIMD4(m[3] * d, -m[1] * d, -m[2] * d, m[0] * d)
    }
}
