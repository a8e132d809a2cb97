/// Scratch memory for one `FHOGExtractor.extract` call at a time: the padded cell histograms, the
/// per-cell energies and the float descriptor. Allocated once so extraction allocates nothing per frame.
///
/// A workspace is mutable state and deliberately not `Sendable`: give every thread (or task) its own,
/// from `FHOGExtractor.makeWorkspace()`. The extractor itself is immutable and can be shared freely.
public final class FHOGWorkspace {
    let histogram: UnsafeMutablePointer<Float>
    let histogramCount: Int
    let energy: UnsafeMutablePointer<Float>
    let energyCount: Int
    /// The descriptor as dlib stores it (float), before it is widened to the caller's type.
    let features: UnsafeMutablePointer<Float>
    let featureCount: Int

    init(layout: FHOGLayout) {
        histogramCount = layout.histogramCount
        energyCount = layout.cellRows * layout.cellCols
        featureCount = layout.descriptorLength
        histogram = .allocate(capacity: histogramCount)
        energy = .allocate(capacity: energyCount)
        features = .allocate(capacity: featureCount)
        histogram.initialize(repeating: 0, count: histogramCount)
        energy.initialize(repeating: 0, count: energyCount)
        features.initialize(repeating: 0, count: featureCount)
    }

    /// Whether this workspace was made for an extractor with `layout`'s sizes.
    func fits(_ layout: FHOGLayout) -> Bool {
        histogramCount == layout.histogramCount && energyCount == layout.cellRows * layout.cellCols
            && featureCount == layout.descriptorLength
    }

    deinit {
        histogram.deallocate()
        energy.deallocate()
        features.deallocate()
    }
}

/// Sharing one workspace between threads would race on its buffers; each thread makes its own.
@available(*, unavailable)
extension FHOGWorkspace: Sendable {}
