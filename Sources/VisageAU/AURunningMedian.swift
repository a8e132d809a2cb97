/// OpenFace's per-person "neutral face" estimate: an approximate median of every feature over the
/// frames seen so far, kept as one fixed histogram per feature (FaceAnalyser::UpdateRunningMedian).
///
/// Reproduced rules:
/// - a sample goes to bin `Int(clamp((x − lower)·bins / (upper − lower), 0, bins − 1))`;
/// - the median of a feature is the centre of the first bin whose cumulative count reaches
///   `(n + 1) / 2` (integer division), i.e. `lower + j·width + width/2`;
/// - while exactly one sample has been counted, the median is the latest descriptor passed in
///   verbatim — even when that call did not count it (OpenFace's `hist_count == 1` branch);
/// - with no sample counted the rule above yields the centre of bin 0.
///
/// Unlike OpenFace, which rescans every bin of every feature on each update (6.8 million steps for
/// HOG + geometry), the median bin of each feature is tracked incrementally: adding one sample
/// moves the cutoff by at most one, so only the bins between the old and new median are visited.
/// The answer is the same bin, by construction.
public struct AURunningMedian: Sendable {
    public let dimensions: Int
    public let binCount: Int
    public let lowerBound: Double
    public let upperBound: Double
    /// Whether negative medians are replaced by 0 (OpenFace does so for HOG, whose values are ≥ 0).
    public let clampsNegativeToZero: Bool

    /// Samples counted into the histograms so far.
    public private(set) var sampleCount = 0
    /// The current median estimate, one value per dimension.
    public private(set) var values: [Double]

    private var histogram: [Int32]
    /// Per dimension: the median bin and the number of samples in bins `0...medianBin`.
    private var medianBin: [Int32]
    private var countThroughMedianBin: [Int32]
    private let length: Double

    /// OpenFace's HOG median: 1000 bins over [−0.005, 1], negative medians set to 0.
    public static func openFaceHOG(dimensions: Int) -> AURunningMedian {
        AURunningMedian(dimensions: dimensions, binCount: 1000, lowerBound: -0.005, upperBound: 1, clampsNegativeToZero: true)
    }

    /// OpenFace's geometry median: 10000 bins over [−60, 60].
    public static func openFaceGeometry(dimensions: Int) -> AURunningMedian {
        AURunningMedian(dimensions: dimensions, binCount: 10000, lowerBound: -60, upperBound: 60, clampsNegativeToZero: false)
    }

    public init(dimensions: Int, binCount: Int, lowerBound: Double, upperBound: Double, clampsNegativeToZero: Bool) {
        precondition(dimensions > 0 && binCount > 0 && upperBound != lowerBound, "invalid running-median histogram")
        self.dimensions = dimensions
        self.binCount = binCount
        self.lowerBound = lowerBound
        self.upperBound = upperBound
        self.clampsNegativeToZero = clampsNegativeToZero
        length = abs(upperBound - lowerBound)
        histogram = [Int32](repeating: 0, count: dimensions * binCount)
        medianBin = [Int32](repeating: 0, count: dimensions)
        countThroughMedianBin = [Int32](repeating: 0, count: dimensions)
        values = [Double](repeating: 0, count: dimensions)
    }

    /// The histogram bin OpenFace puts `value` in. NaN goes to bin 0 (OpenFace's cast of NaN is undefined).
    @inline(__always)
    public func bin(of value: Double) -> Int {
        Self.bin(of: value, lowerBound: lowerBound, binCount: binCount, length: length)
    }

    @inline(__always)
    private static func bin(of value: Double, lowerBound: Double, binCount: Int, length: Double) -> Int {
        var scaled = (value - lowerBound) * Double(binCount) / length
        if scaled > Double(binCount - 1) { scaled = Double(binCount - 1) }
        if !(scaled >= 0) { scaled = 0 }
        return Int(scaled)
    }

    /// The value OpenFace reports for a median in bin `j`.
    @inline(__always)
    public func centre(ofBin j: Int) -> Double {
        lowerBound + Double(j) * (length / Double(binCount)) + (0.5 * length / Double(binCount))
    }

    /// One call of OpenFace's UpdateRunningMedian: counts `descriptor` when `include` is true,
    /// then refreshes `values`.
    public mutating func update(with descriptor: UnsafeBufferPointer<Double>, include: Bool) {
        precondition(descriptor.count == dimensions, "running median expects \(dimensions) values")
        if include {
            sampleCount += 1
            let cutoff = Int32((sampleCount + 1) / 2)
            let (lowerBound, binCount, length, dimensions) = (lowerBound, binCount, length, dimensions)
            histogram.withUnsafeMutableBufferPointer { hist in
                medianBin.withUnsafeMutableBufferPointer { medians in
                    countThroughMedianBin.withUnsafeMutableBufferPointer { counts in
                        for d in 0..<dimensions {
                            let row = hist.baseAddress! + d * binCount
                            let b = Self.bin(of: descriptor[d], lowerBound: lowerBound, binCount: binCount, length: length)
                            row[b] += 1
                            var j = Int(medians[d]), through = counts[d]
                            if b <= j { through += 1 }
                            while through < cutoff {
                                j += 1
                                through += row[j]
                            }
                            while j > 0 && through - row[j] >= cutoff {
                                through -= row[j]
                                j -= 1
                            }
                            medians[d] = Int32(j)
                            counts[d] = through
                        }
                    }
                }
            }
        }
        if sampleCount == 1 {
            for d in 0..<dimensions { values[d] = descriptor[d] }
        } else {
            for d in 0..<dimensions { values[d] = centre(ofBin: Int(medianBin[d])) }
        }
        if clampsNegativeToZero {
            for d in 0..<dimensions where values[d] < 0 { values[d] = 0 }
        }
    }
}
