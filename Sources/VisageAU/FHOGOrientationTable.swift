/// The orientation bin (0..<18) of every possible 8-bit central-difference gradient, precomputed once.
///
/// dlib snaps a gradient to the direction among 18 (nine unit vectors and their negatives, 20° apart)
/// with the largest dot product, computed in float with its rounded direction constants and strict `>`
/// comparisons (so ties keep the earlier direction, and a zero gradient gets bin 0). Gradients of
/// 8-bit images are integers in -255...255 on each axis, so the whole decision fits in a 511 × 511
/// table that is exact by construction: building it runs dlib's own comparison for every input.
/// That replaces nine multiply-adds and comparisons per pixel with one lookup.
enum FHOGOrientationTable {
    static let maxComponent = 255
    static let side = 2 * maxComponent + 1

    /// Index of gradient `(gx, gy)` is `(gx + 255) * 511 + (gy + 255)`.
    static let bins: [UInt8] = {
        // dlib's nine unit vectors, written as in dlib with 4 decimals and stored as float.
        let directionX: [Float] = [1.0000, 0.9397, 0.7660, 0.500, 0.1736, -0.1736, -0.5000, -0.7660, -0.9397]
        let directionY: [Float] = [0.0000, 0.3420, 0.6428, 0.8660, 0.9848, 0.9848, 0.8660, 0.6428, 0.3420]
        var table = [UInt8](repeating: 0, count: side * side)
        table.withUnsafeMutableBufferPointer { out in
            for gx in -maxComponent...maxComponent {
                let fx = Float(gx)
                for gy in -maxComponent...maxComponent {
                    let fy = Float(gy)
                    var bestDot: Float = 0
                    var best: UInt8 = 0
                    for o in 0..<9 {
                        // Two separate roundings (no fused multiply-add), as dlib's SSE/scalar code does.
                        let productX = directionX[o] * fx
                        let productY = directionY[o] * fy
                        let dot = productX + productY
                        if dot > bestDot {
                            bestDot = dot
                            best = UInt8(o)
                        } else if -dot > bestDot {
                            bestDot = -dot
                            best = UInt8(o + 9)
                        }
                    }
                    out[(gx + maxComponent) * side + gy + maxComponent] = best
                }
            }
        }
        return table
    }()
}
