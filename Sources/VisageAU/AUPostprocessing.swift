/// OpenFace's online intensity correction (FaceAnalyser::CorrectOnlineAUs with
/// UpdatePredictionTrack): assume the lowest 10 % of a person's predictions are neutral and shift
/// every prediction down by that level.
///
/// Reproduced rules: one 200-bin histogram per AU over [−3, 5]; a prediction is counted only on a
/// successfully tracked frame; from the 10th counted frame on, the shift is the lower edge of the
/// first bin whose cumulative count exceeds `Int(0.1·n)`; frames that are not counted get no
/// shift; the result is always clipped to [0, 5].
public struct AUOnlineCorrection: Sendable {
    public static let binCount = 200
    public static let lowerBound = -3.0
    public static let upperBound = 5.0
    public static let neutralFraction = 0.10
    public static let minimumFrames = 10

    public let auCount: Int
    public private(set) var frameCount = 0
    private var histogram: [Int32]

    public init(auCount: Int) {
        self.auCount = auCount
        histogram = [Int32](repeating: 0, count: auCount * Self.binCount)
    }

    /// Corrects `predictions` (one per AU) in place; `countFrame` is the frame's tracking success.
    public mutating func correct(_ predictions: UnsafeMutableBufferPointer<Double>, countFrame: Bool) {
        precondition(predictions.count == auCount, "online correction expects \(auCount) AUs")
        let length = Self.upperBound - Self.lowerBound
        let bins = Self.binCount
        if countFrame {
            for au in 0..<auCount {
                var index = Int(clampedForIntConversion((predictions[au] - Self.lowerBound) * Double(bins) / length))
                if index < 0 { index = 0 } else if index > bins - 1 { index = bins - 1 }
                histogram[au * bins + index] += 1
            }
            frameCount += 1
            if frameCount >= Self.minimumFrames {
                let cutoff = Int32(Self.neutralFraction * Double(frameCount))
                for au in 0..<auCount {
                    var cumulative: Int32 = 0
                    for j in 0..<bins {
                        cumulative += histogram[au * bins + j]
                        if cumulative > cutoff {
                            predictions[au] -= Self.lowerBound + Double(j) * (length / Double(bins))
                            break
                        }
                    }
                }
            }
        }
        for au in 0..<auCount {
            predictions[au] = min(max(predictions[au], 0), 5)
        }
    }

    /// C++ truncates toward zero; Swift's `Int(_:)` traps on NaN and out-of-range values, so those
    /// are mapped to a bin-0 value first (an SVR never produces them from finite features).
    @inline(__always)
    private func clampedForIntConversion(_ x: Double) -> Double {
        x.isNaN ? -1 : min(max(x, -1e9), 1e9)
    }
}

/// OpenFace's offline post-processing of a whole sequence of one person (FeatureExtraction on a
/// video file: FaceAnalyser::ExtractAllPredictionsOfflineReg / ...OfflineClass, called from
/// PostprocessOutputFile after PostprocessPredictions has re-predicted the early frames).
public enum AUOfflinePostprocessing {
    /// Intensity of one AU over all frames:
    /// 1. `offset` = the `cutoff` quantile of the successful frames' predictions (sorted, element
    ///    `Int(n·cutoff)`), only for dynamic models with `cutoff ≠ −1`, else 0;
    /// 2. successful frames: `clip(value − offset, 0, 5)`; failed frames: 0;
    /// 3. a 3-frame moving mean over every interior frame (failed frames included, ends untouched).
    public static func intensities(_ values: [Double], successes: [Bool], cutoff: Double) -> [Double] {
        precondition(values.count == successes.count, "one success flag per frame")
        var offset = 0.0
        if cutoff != -1 {
            let good = zip(values, successes).filter(\.1).map(\.0).sorted()
            if !good.isEmpty {
                offset = good[min(Int(Double(good.count) * cutoff), good.count - 1)]
            }
        }
        var shifted = values
        for i in shifted.indices {
            shifted[i] = successes[i] ? min(max(shifted[i] - offset, 0), 5) : 0
        }
        var smoothed = shifted
        if shifted.count >= 3 {
            for i in 1..<(shifted.count - 1) {
                var sum = 0.0
                sum += shifted[i - 1]
                sum += shifted[i]
                sum += shifted[i + 1]
                smoothed[i] = sum / 3
            }
        }
        return smoothed
    }

    /// Presence of one AU over all frames: every frame with 3 neighbours on each side becomes 1
    /// when the mean of its 7-frame window is ≥ 0.5, else 0; the first and last 3 frames keep their
    /// value. OpenFace does not zero failed frames here (their stored value is 0, but a failed frame
    /// inside a run of 1s comes out 1), and neither do we.
    public static func presences(_ values: [Double]) -> [Double] {
        var smoothed = values
        if values.count > 6 {
            for i in 3..<(values.count - 3) {
                var sum = 0.0
                for w in -3...3 { sum += values[i + w] }
                smoothed[i] = sum / 7 < 0.5 ? 0 : 1
            }
        }
        return smoothed
    }
}
