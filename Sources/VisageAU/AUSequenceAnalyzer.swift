/// AU values of one frame, in the predictor set's name-sorted order (OpenFace's CSV order).
public struct AUFrameResult: Sendable, Equatable {
    /// `AUxx_r`: one per `AUPredictorSet.intensityNames`.
    public var intensities: [Double]
    /// `AUxx_c`: one per `AUPredictorSet.presenceNames` (0 or 1).
    public var presences: [Double]
    public var success: Bool
    public var timestamp: Double

    public init(intensities: [Double], presences: [Double], success: Bool, timestamp: Double) {
        self.intensities = intensities
        self.presences = presences
        self.success = success
        self.timestamp = timestamp
    }

    /// Zeros sized for `predictors`: pass it to `addFrame(…, into:)` to reuse its storage every frame.
    public init(for predictors: AUPredictorSet) {
        self.init(intensities: .init(repeating: 0, count: predictors.intensityNames.count),
                  presences: .init(repeating: 0, count: predictors.presenceNames.count), success: false, timestamp: 0)
    }
}

/// OpenFace 2.2's FaceAnalyser AU state machine for ONE tracked person (one per face id).
///
/// Feed every frame of the person's track in order, including frames where the face was lost
/// (`success: false`; OpenFace records them too). Per frame, the input is OpenFace's feature
/// vector in two parts: the FHOG descriptor of the aligned 112×112 face (4464 values, dlib's float
/// values, in OpenFace's cell-major order) and the PDM geometry (238 doubles: the 204 shape
/// offsets `principal components · local parameters`, then the 34 local parameters).
///
/// Reproduced from FaceAnalyser::AddNextFrame and its post-processing:
/// - on a failed frame both parts are taken as zeros (OpenFace extracts HOG from a black image,
///   which is all zeros, and zeroes the geometry), so callers may pass empty buffers there;
/// - the running medians are updated on the 1st, 3rd, 5th … frame of the track (counting failed
///   frames), and count the frame only when it was tracked successfully;
/// - static models see `features − means`, dynamic ones `features − means − median`;
/// - online (`online: true`, OpenFace's webcam mode): intensities get the 10th-percentile shift
///   and [0, 5] clip of `AUOnlineCorrection`; presences are the raw SVM labels;
/// - offline (`online: false`, a video file): `addFrame` answers the raw values OpenFace keeps
///   before post-processing (unclipped SVR outputs), and `finishOffline()` gives the values
///   OpenFace writes to its CSV: the first 3000 successful frames re-predicted with the final
///   median, then `AUOfflinePostprocessing`. Failed frames answer 0 everywhere.
///
/// Re-predicting early frames uses the models' linearity: for each of those frames the
/// median-independent part `w·(x − means)` of every dynamic model is kept (21 numbers instead
/// of the 4702-value descriptor OpenFace keeps), and the final median's `w·median` is subtracted
/// at the end. `addFrame(…, into:)` allocates nothing per frame apart from the amortised growth
/// of the history arrays (35 doubles a frame); the returning overload allocates its result.
public final class AUSequenceAnalyzer {
    /// OpenFace re-predicts at most this many successful frames with the final median.
    public static let maxRepredictedFrames = 3000

    public let predictors: AUPredictorSet
    public let online: Bool

    /// Frames added so far (failed ones included).
    public private(set) var frameCount = 0
    public private(set) var successfulFrameCount = 0

    private var hogMedian: AURunningMedian
    private var geometryMedian: AURunningMedian
    private var onlineCorrection: AUOnlineCorrection

    // Per-frame work buffers (sized once).
    private var features: [Double]
    private var median: [Double]
    private var centred: [Double]
    private var staticRegressorScores: [Double]
    private var dynamicRegressorScores: [Double]
    private var staticClassifierScores: [Double]
    private var dynamicClassifierScores: [Double]
    /// `w·median` of each dynamic model, refreshed whenever the median is.
    private var dynamicRegressorMedianTerms: [Double]
    private var dynamicClassifierMedianTerms: [Double]
    private var rawIntensities: [Double]

    // History of the whole track (row-major, one row per frame) for the offline pass.
    private var intensityHistory: [Double] = []
    private var presenceHistory: [Double] = []
    private var successes: [Bool] = []
    private var timestamps: [Double] = []
    private var earlyFrameIndices: [Int] = []
    private var earlyDynamicRegressorScores: [Double] = []
    private var earlyDynamicClassifierScores: [Double] = []

    public init(predictors: AUPredictorSet, online: Bool) {
        self.predictors = predictors
        self.online = online
        let hogCount = AUPredictorSet.hogFeatureCount
        hogMedian = .openFaceHOG(dimensions: hogCount)
        geometryMedian = .openFaceGeometry(dimensions: predictors.geometryFeatureCount)
        onlineCorrection = AUOnlineCorrection(auCount: predictors.intensityNames.count)
        features = .init(repeating: 0, count: predictors.featureCount)
        median = features
        centred = features
        staticRegressorScores = .init(repeating: 0, count: predictors.staticRegressors.count)
        dynamicRegressorScores = .init(repeating: 0, count: predictors.dynamicRegressors.count)
        staticClassifierScores = .init(repeating: 0, count: predictors.staticClassifiers.count)
        dynamicClassifierScores = .init(repeating: 0, count: predictors.dynamicClassifiers.count)
        dynamicRegressorMedianTerms = dynamicRegressorScores
        dynamicClassifierMedianTerms = dynamicClassifierScores
        rawIntensities = .init(repeating: 0, count: predictors.intensityNames.count)
    }

    /// The person's current neutral-face estimate (HOG medians then geometry medians).
    public var currentMedian: [Double] { median }

    // MARK: - Per frame

    /// Adds the next frame and writes its values into `result` (storage reused, nothing allocated).
    public func addFrame(hog: UnsafeBufferPointer<Float>, geometry: UnsafeBufferPointer<Double>,
                         success: Bool, timestamp: Double, into result: inout AUFrameResult) {
        loadFeatures(hog: hog, geometry: geometry, success: success)
        process(success: success, timestamp: timestamp, into: &result)
    }

    /// The same for a HOG descriptor already widened to double.
    public func addFrame(hog: UnsafeBufferPointer<Double>, geometry: UnsafeBufferPointer<Double>,
                         success: Bool, timestamp: Double, into result: inout AUFrameResult) {
        loadFeatures(hog: hog, geometry: geometry, success: success)
        process(success: success, timestamp: timestamp, into: &result)
    }

    /// Convenience form of `addFrame(…, into:)` that returns a fresh result.
    public func addFrame(hog: UnsafeBufferPointer<Float>, geometry: UnsafeBufferPointer<Double>,
                         success: Bool, timestamp: Double) -> AUFrameResult {
        var result = AUFrameResult(for: predictors)
        addFrame(hog: hog, geometry: geometry, success: success, timestamp: timestamp, into: &result)
        return result
    }

    private func loadFeatures<T: BinaryFloatingPoint>(hog: UnsafeBufferPointer<T>, geometry: UnsafeBufferPointer<Double>, success: Bool) {
        let hogCount = AUPredictorSet.hogFeatureCount
        guard success else {
            features.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            return
        }
        precondition(hog.count == hogCount && geometry.count == predictors.geometryFeatureCount,
                     "AU features: expected \(hogCount) HOG and \(predictors.geometryFeatureCount) geometry values, got \(hog.count) and \(geometry.count)")
        features.withUnsafeMutableBufferPointer { f in
            for i in 0..<hogCount { f[i] = Double(hog[i]) }
            for i in 0..<geometry.count { f[hogCount + i] = geometry[i] }
        }
    }

    private func process(success: Bool, timestamp: Double, into result: inout AUFrameResult) {
        frameCount += 1
        if success { successfulFrameCount += 1 }
        if frameCount % 2 == 1 { updateMedians(include: success) }

        result.intensities.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        result.presences.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        if success {
            computeScores()
            writePredictions(intensities: &result.intensities, presences: &result.presences)
        }
        intensityHistory.append(contentsOf: result.intensities)
        presenceHistory.append(contentsOf: result.presences)
        if online {
            result.intensities.withUnsafeMutableBufferPointer { onlineCorrection.correct($0, countFrame: success) }
        }
        if success && successfulFrameCount <= Self.maxRepredictedFrames {
            earlyFrameIndices.append(frameCount - 1)
            earlyDynamicRegressorScores.append(contentsOf: dynamicRegressorScores)
            earlyDynamicClassifierScores.append(contentsOf: dynamicClassifierScores)
        }
        successes.append(success)
        timestamps.append(timestamp)
        result.success = success
        result.timestamp = timestamp
    }

    private func updateMedians(include: Bool) {
        let hogCount = AUPredictorSet.hogFeatureCount
        features.withUnsafeBufferPointer { f in
            hogMedian.update(with: UnsafeBufferPointer(rebasing: f[0..<hogCount]), include: include)
            geometryMedian.update(with: UnsafeBufferPointer(rebasing: f[hogCount...]), include: include)
        }
        median.withUnsafeMutableBufferPointer { m in
            for i in 0..<hogCount { m[i] = hogMedian.values[i] }
            for i in 0..<geometryMedian.dimensions { m[hogCount + i] = geometryMedian.values[i] }
            predictors.dynamicRegressors.project(m.baseAddress!, into: &dynamicRegressorMedianTerms)
            predictors.dynamicClassifiers.project(m.baseAddress!, into: &dynamicClassifierMedianTerms)
        }
    }

    private func computeScores() {
        features.withUnsafeBufferPointer { f in
            centred.withUnsafeMutableBufferPointer { c in
                let x = f.baseAddress!, scratch = c.baseAddress!
                predictors.staticRegressors.centredScores(features: x, centred: scratch, into: &staticRegressorScores)
                predictors.dynamicRegressors.centredScores(features: x, centred: scratch, into: &dynamicRegressorScores)
                predictors.staticClassifiers.centredScores(features: x, centred: scratch, into: &staticClassifierScores)
                predictors.dynamicClassifiers.centredScores(features: x, centred: scratch, into: &dynamicClassifierScores)
            }
        }
    }

    /// Bias and median term added to the centred scores, written to the name-sorted slots.
    private func writePredictions(intensities: inout [Double], presences: inout [Double]) {
        let p = predictors
        for k in 0..<p.staticRegressors.count {
            intensities[p.staticRegressors.outputSlots[k]] = staticRegressorScores[k] + p.staticRegressors.biases[k]
        }
        for k in 0..<p.dynamicRegressors.count {
            intensities[p.dynamicRegressors.outputSlots[k]] =
                dynamicRegressorScores[k] - dynamicRegressorMedianTerms[k] + p.dynamicRegressors.biases[k]
        }
        for k in 0..<p.staticClassifiers.count {
            let margin = staticClassifierScores[k] + p.staticClassifiers.biases[k]
            presences[p.staticClassifiers.outputSlots[k]] = p.staticClassifiers.label(model: k, margin: margin)
        }
        for k in 0..<p.dynamicClassifiers.count {
            let margin = dynamicClassifierScores[k] - dynamicClassifierMedianTerms[k] + p.dynamicClassifiers.biases[k]
            presences[p.dynamicClassifiers.outputSlots[k]] = p.dynamicClassifiers.label(model: k, margin: margin)
        }
    }

    // MARK: - Offline

    /// OpenFace's offline values for every frame added so far (what FeatureExtraction writes to
    /// its CSV for a video file). Does not change the analyzer; more frames may follow.
    public func finishOffline() -> [AUFrameResult] {
        let p = predictors
        let intensityCount = p.intensityNames.count, presenceCount = p.presenceNames.count
        var intensities = intensityHistory, presences = presenceHistory
        let dynReg = p.dynamicRegressors, dynCls = p.dynamicClassifiers
        for (n, frame) in earlyFrameIndices.enumerated() {
            for k in 0..<dynReg.count {
                intensities[frame * intensityCount + dynReg.outputSlots[k]] =
                    earlyDynamicRegressorScores[n * dynReg.count + k] - dynamicRegressorMedianTerms[k] + dynReg.biases[k]
            }
            for k in 0..<dynCls.count {
                let margin = earlyDynamicClassifierScores[n * dynCls.count + k] - dynamicClassifierMedianTerms[k] + dynCls.biases[k]
                presences[frame * presenceCount + dynCls.outputSlots[k]] = dynCls.label(model: k, margin: margin)
            }
        }
        var results = (0..<frameCount).map {
            AUFrameResult(intensities: .init(repeating: 0, count: intensityCount),
                          presences: .init(repeating: 0, count: presenceCount),
                          success: successes[$0], timestamp: timestamps[$0])
        }
        let cutoffs = p.intensityCutoffs
        for au in 0..<intensityCount {
            let column = (0..<frameCount).map { intensities[$0 * intensityCount + au] }
            let processed = AUOfflinePostprocessing.intensities(column, successes: successes, cutoff: cutoffs[au])
            for f in 0..<frameCount { results[f].intensities[au] = processed[f] }
        }
        for au in 0..<presenceCount {
            let column = (0..<frameCount).map { presences[$0 * presenceCount + au] }
            let processed = AUOfflinePostprocessing.presences(column)
            for f in 0..<frameCount { results[f].presences[au] = processed[f] }
        }
        return results
    }
}
