import VisageCore

/// Stage 1 of FHOG: gradient orientation histograms per cell, with bilinear (soft) voting.
///
/// Follows dlib 19.24 step by step so the float sums come out bit for bit the same:
/// - central differences in every colour channel; the channel with the largest squared magnitude wins;
/// - magnitude `sqrt(Float(gx² + gy²))`, orientation from `FHOGOrientationTable`;
/// - each pixel adds its magnitude to the four surrounding cells, weighted bilinearly, in raster order
///   (float accumulation order matters at the last bit, so we keep dlib's order).
///
/// dlib computes most columns with 8-wide SIMD code and the last few with scalar code, and the two differ
/// in two observable ways that we reproduce per column (`FHOGLayout.vectorColEnd`):
/// - colour ties: the SIMD code settles a tie in favour of the later channel of dlib's red, green, blue
///   order, the scalar code in favour of the earlier one (equal magnitudes can still point differently);
/// - weight rounding: SIMD forms `vy * (vx * v)`, scalar forms `(vy * vx) * v`.
enum FHOGHistogram {
    /// Byte offsets of dlib's colour names inside a BGR pixel.
    private static let blue = 0, green = 1, red = 2

    static func accumulate(image: Image, layout: FHOGLayout, workspace: FHOGWorkspace,
                           bins: UnsafeBufferPointer<UInt8>) {
        let hist = workspace.histogram
        hist.update(repeating: 0, count: workspace.histogramCount)
        let rowStride = layout.histCols * FHOGLayout.signedBins
        let channels = image.channels
        let side = FHOGOrientationTable.side
        guard let binTable = bins.baseAddress, bins.count == side * side else { return }
        layout.rowSplits.withUnsafeBufferPointer { rowSplits in
        layout.colSplits.withUnsafeBufferPointer { colSplits in
            guard let columns = colSplits.baseAddress else { return }
            for y in 1..<layout.visibleRowEnd {
                let pixels = Rows(image: image, y: y)
                let split = rowSplits[y]
                let row = Row(histogram: hist + Int(split.cell) * rowStride, rowStride: rowStride,
                              near: split.near, far: split.far)
                if channels == 3 {
                    for x in 1..<layout.vectorColEnd {
                        let g = colourGradient(pixels, x: x, preferLaterOnTie: true)
                        vote(g, column: columns[x], row: row, bins: binTable, vectorRounding: true)
                    }
                    for x in layout.vectorColEnd..<layout.visibleColEnd {
                        let g = colourGradient(pixels, x: x, preferLaterOnTie: false)
                        vote(g, column: columns[x], row: row, bins: binTable, vectorRounding: false)
                    }
                } else {
                    for x in 1..<layout.vectorColEnd {
                        vote(grayGradient(pixels, x: x), column: columns[x], row: row, bins: binTable, vectorRounding: true)
                    }
                    for x in layout.vectorColEnd..<layout.visibleColEnd {
                        vote(grayGradient(pixels, x: x), column: columns[x], row: row, bins: binTable, vectorRounding: false)
                    }
                }
            }
        }}
    }

    /// The three image rows a central difference at row `y` reads.
    private struct Rows {
        let above: UnsafePointer<UInt8>
        let centre: UnsafePointer<UInt8>
        let below: UnsafePointer<UInt8>

        @inline(__always) init(image: Image, y: Int) {
            let base = UnsafePointer<UInt8>(image.baseAddress.assumingMemoryBound(to: UInt8.self))
            above = base + (y - 1) * image.stride
            centre = base + y * image.stride
            below = base + (y + 1) * image.stride
        }
    }

    private struct Gradient {
        var dx: Int32
        var dy: Int32
        var squaredLength: Int32
    }

    /// The histogram row pair a pixel row votes into, with its vertical weights.
    private struct Row {
        let histogram: UnsafeMutablePointer<Float>
        let rowStride: Int
        let near: Float
        let far: Float
    }

    @inline(__always)
    private static func channelGradient(_ rows: Rows, x: Int, channel: Int) -> Gradient {
        let i = x * 3 + channel
        let dx = Int32(rows.centre[i + 3]) - Int32(rows.centre[i - 3])
        let dy = Int32(rows.below[i]) - Int32(rows.above[i])
        return Gradient(dx: dx, dy: dy, squaredLength: dx &* dx &+ dy &* dy)
    }

    /// The gradient of the colour channel with the strongest change. `preferLaterOnTie` selects dlib's
    /// SIMD rule (`red > green ? red : green`, then `that > blue ? that : blue`) instead of its scalar
    /// rule (start with red, switch only on a strictly larger green or blue).
    @inline(__always)
    private static func colourGradient(_ rows: Rows, x: Int, preferLaterOnTie: Bool) -> Gradient {
        let r = channelGradient(rows, x: x, channel: red)
        let g = channelGradient(rows, x: x, channel: green)
        let b = channelGradient(rows, x: x, channel: blue)
        if preferLaterOnTie {
            let first = r.squaredLength > g.squaredLength ? r : g
            return first.squaredLength > b.squaredLength ? first : b
        } else {
            var best = r
            if g.squaredLength > best.squaredLength { best = g }
            if b.squaredLength > best.squaredLength { best = b }
            return best
        }
    }

    @inline(__always)
    private static func grayGradient(_ rows: Rows, x: Int) -> Gradient {
        let dx = Int32(rows.centre[x + 1]) - Int32(rows.centre[x - 1])
        let dy = Int32(rows.below[x]) - Int32(rows.above[x])
        return Gradient(dx: dx, dy: dy, squaredLength: dx &* dx &+ dy &* dy)
    }

    /// Adds the gradient magnitude of one pixel into the four cells around it.
    @inline(__always)
    private static func vote(_ g: Gradient, column: FHOGLayout.AxisSplit, row: Row,
                             bins: UnsafePointer<UInt8>, vectorRounding: Bool) {
        let side = FHOGOrientationTable.side, offset = FHOGOrientationTable.maxComponent
        let bin = Int(bins[(Int(g.dx) + offset) * side + Int(g.dy) + offset])
        let magnitude = Float(g.squaredLength).squareRoot()
        let upperLeft = row.histogram + Int(column.cell) * FHOGLayout.signedBins + bin
        let lowerLeft = upperLeft + row.rowStride
        if vectorRounding {
            let left = column.near * magnitude, right = column.far * magnitude
            upperLeft[0] += row.near * left
            lowerLeft[0] += row.far * left
            upperLeft[FHOGLayout.signedBins] += row.near * right
            lowerLeft[FHOGLayout.signedBins] += row.far * right
        } else {
            upperLeft[0] += (row.near * column.near) * magnitude
            lowerLeft[0] += (row.far * column.near) * magnitude
            upperLeft[FHOGLayout.signedBins] += (row.near * column.far) * magnitude
            lowerLeft[FHOGLayout.signedBins] += (row.far * column.far) * magnitude
        }
    }
}
