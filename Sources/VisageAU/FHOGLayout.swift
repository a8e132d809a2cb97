/// Everything about FHOG that depends only on the image size and the cell size, computed once
/// when an `FHOGExtractor` is made so the per-frame loops only read tables.
///
/// Reproduces dlib 19.24's `extract_fhog_features` (the code OpenFace 2.2 calls with cell size 8):
/// - the cell grid has `Int(Float(n) / Float(cellSize) + 0.5)` cells per axis (rounded, not floored);
/// - the histogram grid carries one extra cell of padding on every side, so pixels near the border
///   vote into cells that are never read back;
/// - pixels `1 ..< min(cells * cellSize, n) - 1` are visited on each axis (the outermost pixel ring
///   has no central difference);
/// - the descriptor drops the outermost cell ring: `cells - 2` rows and columns (12 × 12 for 112 × 112).
struct FHOGLayout: Sendable {
    /// Number of orientation bins in a cell histogram: 18 signed orientations (20° apart).
    static let signedBins = 18
    /// Features per descriptor cell: 18 signed + 9 unsigned orientations + 4 texture (energy) terms.
    static let featuresPerCell = 31

    let width: Int
    let height: Int
    let cellSize: Int
    /// Cells per axis before the border ring is dropped.
    let cellRows: Int
    let cellCols: Int
    /// Descriptor grid (`cellRows - 2` × `cellCols - 2`).
    let rows: Int
    let cols: Int
    /// Exclusive end of the visited pixel range on each axis (the start is always 1).
    let visibleRowEnd: Int
    let visibleColEnd: Int
    /// dlib processes columns in blocks of 8 with SIMD code and the remaining columns with scalar code;
    /// the two paths round the bilinear weights differently and break colour ties differently, so we
    /// must know which path each column took. Columns `1 ..< vectorColEnd` took the 8-wide path.
    let vectorColEnd: Int
    /// Histogram grid including its one-cell padding ring.
    let histRows: Int
    let histCols: Int

    /// How a pixel position splits its vote between two neighbouring cells along one axis:
    /// the padded histogram index of the nearer-to-origin cell, and the bilinear weights of that cell
    /// (`near`) and of the next one (`far`).
    struct AxisSplit: Sendable {
        var cell: Int32
        var near: Float
        var far: Float
    }

    /// Indexed by pixel row `y` (entry 0 unused).
    let rowSplits: [AxisSplit]
    /// Indexed by pixel column `x` (entry 0 unused).
    let colSplits: [AxisSplit]

    var histogramCount: Int { histRows * histCols * Self.signedBins }
    var descriptorLength: Int { rows * cols * Self.featuresPerCell }

    init(width: Int, height: Int, cellSize: Int) {
        precondition(cellSize > 1, "FHOG cell size must be at least 2 (dlib handles 1 with a different algorithm)")
        self.width = width
        self.height = height
        self.cellSize = cellSize
        // dlib rounds with float arithmetic: (int)((float)n / (float)cell + 0.5).
        cellRows = Int(Float(height) / Float(cellSize) + 0.5)
        cellCols = Int(Float(width) / Float(cellSize) + 0.5)
        rows = max(cellRows - 2, 0)
        cols = max(cellCols - 2, 0)
        precondition(rows > 0 && cols > 0 && width >= 3 && height >= 3,
                     "FHOG needs an image of at least 3 cells per axis; got \(width)x\(height) with cell size \(cellSize)")
        visibleRowEnd = min(cellRows * cellSize, height) - 1
        visibleColEnd = min(cellCols * cellSize, width) - 1
        histRows = cellRows + 2
        histCols = cellCols + 2

        var blockStart = 1
        while blockStart < visibleColEnd - 7 { blockStart += 8 }
        let vectorEnd = blockStart
        vectorColEnd = vectorEnd

        // Rows: dlib computes yp in double and stores it as float; every row uses the scalar formula.
        let unused = AxisSplit(cell: 0, near: 0, far: 0)
        rowSplits = (0..<max(visibleRowEnd, 1)).map { y in y == 0 ? unused : Self.scalarSplit(y, cellSize: cellSize) }
        colSplits = (0..<max(visibleColEnd, 1)).map { x in
            if x == 0 { return unused }
            return x < vectorEnd ? Self.vectorSplit(x, cellSize: cellSize) : Self.scalarSplit(x, cellSize: cellSize)
        }
    }

    /// The scalar path: position `(p + 0.5) / cell - 0.5` computed in double, stored as float, floored;
    /// the padded cell index is that floor + 1.
    private static func scalarSplit(_ p: Int, cellSize: Int) -> AxisSplit {
        let position = Float((Double(p) + 0.5) / Double(cellSize) - 0.5)
        let lower = position.rounded(.down)
        let fraction = position - lower
        return AxisSplit(cell: Int32(lower) + 1, near: Float(1.0 - Double(fraction)), far: fraction)
    }

    /// The 8-wide path: position `(p + 0.5) / cell + 0.5` in float (already shifted by the padding),
    /// truncated to an integer.
    private static func vectorSplit(_ p: Int, cellSize: Int) -> AxisSplit {
        let position = (Float(p) + 0.5) / Float(cellSize) + 0.5
        let lower = position.rounded(.towardZero)
        let fraction = position - lower
        return AxisSplit(cell: Int32(lower), near: 1 - fraction, far: fraction)
    }
}
