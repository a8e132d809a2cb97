/// Stage 2 of FHOG: block normalisation of the cell histograms into 31 features per cell.
///
/// Each interior cell is normalised four times, once by the energy of each 2 × 2 cell block that contains
/// it; every normalised value is truncated at 0.2. The 31 features are then
/// - 18 signed orientations: half the sum of the four truncated normalisations,
/// - 9 unsigned orientations: the same for the sum of opposite bins `o` and `o + 9`,
/// - 4 texture terms: for each block, 0.2357 × the sum over the 18 signed values.
///
/// dlib 19.24 evaluates this in single precision with four SIMD lanes (one per block) and folds the
/// factor one half into the truncation: `min(h, 0.2·s) · (0.1 / (0.2·s))` with `s = sqrt(energy + 1e-4)`,
/// and the texture scale becomes `2 · 0.2357`. We keep that exact formulation so the float results match.
enum FHOGNormalization {
    /// dlib's `eps`, a float constant.
    private static let epsilon: Float = 0.0001
    private static let truncationFactor: Float = 0.2
    private static let halfTruncation: Float = 0.1
    /// `2 * 0.2357` evaluated in double, then stored as float as dlib's SIMD multiply does.
    private static let textureScale = Float(2 * 0.2357)

    static func computeFeatures(layout: FHOGLayout, workspace: FHOGWorkspace) {
        computeEnergy(layout: layout, workspace: workspace)
        let hist = UnsafePointer(workspace.histogram)
        let energy = UnsafePointer(workspace.energy)
        let energyStride = layout.cellCols
        let histStride = layout.histCols * FHOGLayout.signedBins
        for y in 0..<layout.rows {
            for x in 0..<layout.cols {
                let top = energy + y * energyStride + x      // cell (y, x)
                let middle = top + energyStride              // cell (y + 1, x)
                let bottom = middle + energyStride           // cell (y + 2, x)
                // Lane k is the block to the lower-right, upper-right, lower-left, upper-left of
                // cell (y + 1, x + 1); sums in dlib's order.
                let z1 = SIMD4<Float>(middle[1], top[1], middle[0], top[0])
                let z2 = SIMD4<Float>(middle[2], top[2], middle[1], top[1])
                let z3 = SIMD4<Float>(bottom[1], middle[1], bottom[0], middle[0])
                let z4 = SIMD4<Float>(bottom[2], middle[2], bottom[1], middle[1])
                let blockEnergy = z1 + z2 + z3 + z4 + SIMD4(repeating: epsilon)
                let clip = truncationFactor * blockEnergy.squareRoot()
                let scale = SIMD4(repeating: halfTruncation) / clip

                // Histogram of cell (y + 1, x + 1), which sits at (y + 2, x + 2) in the padded grid.
                let cell = hist + (y + 2) * histStride + (x + 2) * FHOGLayout.signedBins
                let out = workspace.features + (y * layout.cols + x) * FHOGLayout.featuresPerCell

                var texture = SIMD4<Float>()
                var o = 0
                while o < FHOGLayout.signedBins {
                    let h0 = pointwiseMin(SIMD4(repeating: cell[o]), clip) * scale
                    let h1 = pointwiseMin(SIMD4(repeating: cell[o + 1]), clip) * scale
                    let h2 = pointwiseMin(SIMD4(repeating: cell[o + 2]), clip) * scale
                    out[o] = laneSum(h0)
                    out[o + 1] = laneSum(h1)
                    out[o + 2] = laneSum(h2)
                    texture += h0 + h1 + h2
                    o += 3
                }
                texture *= textureScale

                o = 0
                while o < 9 {
                    let h0 = pointwiseMin(SIMD4(repeating: cell[o] + cell[o + 9]), clip) * scale
                    let h1 = pointwiseMin(SIMD4(repeating: cell[o + 1] + cell[o + 10]), clip) * scale
                    let h2 = pointwiseMin(SIMD4(repeating: cell[o + 2] + cell[o + 11]), clip) * scale
                    out[18 + o] = laneSum(h0)
                    out[18 + o + 1] = laneSum(h1)
                    out[18 + o + 2] = laneSum(h2)
                    o += 3
                }
                out[27] = texture[0]
                out[28] = texture[1]
                out[29] = texture[2]
                out[30] = texture[3]
            }
        }
    }

    /// Energy of every cell: the squared sum over the 9 unsigned orientations, accumulated in float.
    private static func computeEnergy(layout: FHOGLayout, workspace: FHOGWorkspace) {
        let histStride = layout.histCols * FHOGLayout.signedBins
        for r in 0..<layout.cellRows {
            let histRow = UnsafePointer(workspace.histogram) + (r + 1) * histStride
            let energyRow = workspace.energy + r * layout.cellCols
            for c in 0..<layout.cellCols {
                let cell = histRow + (c + 1) * FHOGLayout.signedBins
                var sum: Float = 0
                for o in 0..<9 {
                    let unsigned = cell[o] + cell[o + 9]
                    sum += unsigned * unsigned
                }
                energyRow[c] = sum
            }
        }
    }

    /// dlib's `sum(simd4f)` as compiled with plain SSE2 (no SSE3/SSE4.1), the build OpenFace's reference
    /// came from: lanes are paired crosswise, `(a + c) + (b + d)`. The SSE3/SSE4.1 pairing `(a + b) + (c + d)`
    /// differs in the last bit (≈3e-8 on default.hog); this one reproduces it exactly.
    @inline(__always)
    private static func laneSum(_ v: SIMD4<Float>) -> Float {
        (v[0] + v[2]) + (v[1] + v[3])
    }
}
