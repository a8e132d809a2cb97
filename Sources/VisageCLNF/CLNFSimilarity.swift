import Foundation

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
