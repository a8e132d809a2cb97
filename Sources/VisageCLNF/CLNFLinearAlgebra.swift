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

/// The 2 × 2 inverse OpenFace takes of `AlignShapesWithScale`'s matrix (`SimilarityAlignment`). Matrices are
/// (m00, m01, m10, m11).
enum CLNFSimilarity {
    /// `Matx22f::inv()`.
    static func inverse(_ m: SIMD4<Float>) -> SIMD4<Float> {
        let det = m[0] * m[3] - m[1] * m[2]
        guard det != 0 else { return SIMD4(1, 0, 0, 1) }
        let d = 1 / det
        return SIMD4(m[3] * d, -m[1] * d, -m[2] * d, m[0] * d)
    }
}
