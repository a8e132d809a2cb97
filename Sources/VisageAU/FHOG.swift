import VisageCore

/// OpenFace 2.2's appearance descriptor for action units: dlib's Felzenszwalb HOG ("FHOG") of the
/// 112 × 112 masked, similarity-aligned face, cell size 8, giving 12 × 12 cells × 31 features.
///
/// OpenFace (`Extract_FHOG_descriptor`) wraps the BGR `cv::Mat` as a dlib `bgr_pixel` image, calls
/// `dlib::extract_fhog_features(img, hog, 8)` into float cells, and copies them row by row, cell by cell,
/// feature by feature into a `cv::Mat_<double>`. This type reproduces that pipeline bit for bit
/// (see `FHOGHistogram` and `FHOGNormalization` for the float details), and writes the same order:
/// index `(row * cols + col) * 31 + feature`, each value a float widened to the output type.
///
/// The extractor is immutable and `Sendable`; all mutable scratch lives in an `FHOGWorkspace`, one per
/// thread, so several threads can extract at once.
public struct FHOGExtractor: Sendable {
    let layout: FHOGLayout
    private let orientationBins: [UInt8]

    /// - Precondition: the image must span at least 3 cells per axis (dlib returns no features otherwise)
    ///   and `cellSize` must be at least 2.
    public init(width: Int = 112, height: Int = 112, cellSize: Int = 8) {
        layout = FHOGLayout(width: width, height: height, cellSize: cellSize)
        orientationBins = FHOGOrientationTable.bins
    }

    public var width: Int { layout.width }
    public var height: Int { layout.height }
    public var cellSize: Int { layout.cellSize }
    /// Descriptor rows (12 for OpenFace's 112 × 112 face).
    public var rows: Int { layout.rows }
    /// Descriptor columns (12 for OpenFace's 112 × 112 face).
    public var cols: Int { layout.cols }
    /// Features per cell: 18 signed + 9 unsigned orientations + 4 texture terms.
    public static let featuresPerCell = FHOGLayout.featuresPerCell
    /// `rows * cols * 31` (4464 for OpenFace's face).
    public var descriptorLength: Int { layout.descriptorLength }

    /// Scratch memory sized for this extractor; one per thread.
    public func makeWorkspace() -> FHOGWorkspace { FHOGWorkspace(layout: layout) }

    /// Computes the descriptor of `image` into `output`, as OpenFace's `cv::Mat_<double>` holds it.
    ///
    /// - Parameters:
    ///   - image: 8-bit BGR (3 channels) or grayscale (1 channel) image of exactly `width × height`
    ///     pixels; any row stride.
    ///   - workspace: from `makeWorkspace()` of an extractor with the same sizes; not shared between threads.
    ///   - output: exactly `descriptorLength` elements.
    /// - Throws: `VisageError.invalidArgument` when the image, the workspace or the output do not fit.
    public func extract(_ image: Image, workspace: FHOGWorkspace, into output: UnsafeMutableBufferPointer<Double>) throws {
        try computeFloatDescriptor(image, workspace: workspace, outputCount: output.count)
        guard let destination = output.baseAddress else { return }
        let source = UnsafePointer(workspace.features)
        for i in 0..<descriptorLength { destination[i] = Double(source[i]) }
    }

    /// The same descriptor in dlib's own element type (float), e.g. for writing OpenFace's `.hog` files.
    public func extract(_ image: Image, workspace: FHOGWorkspace, into output: UnsafeMutableBufferPointer<Float>) throws {
        try computeFloatDescriptor(image, workspace: workspace, outputCount: output.count)
        guard let destination = output.baseAddress else { return }
        destination.update(from: workspace.features, count: descriptorLength)
    }

    /// Convenience for one-off use: allocates a workspace and the result.
    public func descriptor(of image: Image) throws -> [Double] {
        var result = [Double](repeating: 0, count: descriptorLength)
        try result.withUnsafeMutableBufferPointer { try extract(image, workspace: makeWorkspace(), into: $0) }
        return result
    }

    private func computeFloatDescriptor(_ image: Image, workspace: FHOGWorkspace, outputCount: Int) throws {
        guard image.depth == .uint8, image.channels == 3 || image.channels == 1 else {
            throw VisageError.invalidArgument(
                "FHOG needs an 8-bit BGR or grayscale image; got \(image.channels) channel(s) of \(image.depth)")
        }
        guard image.width == layout.width, image.height == layout.height else {
            throw VisageError.invalidArgument(
                "FHOG extractor is set up for \(layout.width)x\(layout.height) images; got \(image.width)x\(image.height)")
        }
        guard image.stride >= image.rowBytes else {
            throw VisageError.invalidArgument("image row stride \(image.stride) is shorter than a row (\(image.rowBytes) bytes)")
        }
        guard outputCount == descriptorLength else {
            throw VisageError.invalidArgument("FHOG output buffer holds \(outputCount) values; the descriptor has \(descriptorLength)")
        }
        guard workspace.fits(layout) else {
            throw VisageError.invalidArgument("FHOG workspace was made for a different image or cell size; use makeWorkspace() of this extractor")
        }
        orientationBins.withUnsafeBufferPointer { bins in
            FHOGHistogram.accumulate(image: image, layout: layout, workspace: workspace, bins: bins)
        }
        FHOGNormalization.computeFeatures(layout: layout, workspace: workspace)
    }
}
