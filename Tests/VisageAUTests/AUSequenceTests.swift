import Foundation
import Testing
@testable import VisageAU
import VisageCore

/// OpenFace's own features for default.wmv: the HOG it wrote (`-hogalign`) and the geometry of
/// each frame rebuilt from the CSV's PDM parameters.
struct AUReferenceSequence {
    static let hogURL = AUTestEnvironment.reference.appendingPathComponent("default_hogalign/default.hog")
    static let csvPath = AUTestEnvironment.reference.appendingPathComponent("default/default.csv").path
    static let pdmURL = AUTestEnvironment.auPredictors.appendingPathComponent("In-the-wild_aligned_PDM_68.txt")

    let frameCount: Int
    /// `frameCount × 4464` floats, OpenFace's order.
    let hog: [Float]
    /// `frameCount × 238` doubles.
    let geometry: [Double]
    let successes: [Bool]
    let timestamps: [Double]
    let table: OpenFaceCSVTable

    /// Where the per-frame PDM local parameters come from.
    enum GeometrySource {
        /// The CSV's `p_0…p_33` (CLNF's own parameters, 3 decimals).
        case csvParameters
        /// `PDM::CalcParams` on the CSV's 2D landmarks (1 decimal), as FaceAnalyser refits them.
        case refitLandmarks
    }

    /// Loaded once per test process and shared by the suites (parsing takes a while in debug).
    static let fromCSVParameters = Result { try AUReferenceSequence(geometry: .csvParameters) }
    static let fromRefittedLandmarks = Result { try AUReferenceSequence(geometry: .refitLandmarks) }

    init(geometry source: GeometrySource) throws {
        let hogCount = AUPredictorSet.hogFeatureCount
        let data = try Data(contentsOf: Self.hogURL)
        let frameBytes = 16 + 4 * hogCount
        #expect(data.count % frameBytes == 0, "default.hog is a whole number of frames")
        var hog = [Float](), successes = [Bool]()
        data.withUnsafeBytes { raw in
            for f in 0..<(data.count / frameBytes) {
                let base = f * frameBytes
                let header = (0..<3).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: base + 4 * $0, as: Int32.self)) }
                precondition(header == [12, 12, 31], "unexpected .hog frame header \(header)")
                successes.append(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: base + 12, as: UInt32.self))) > 0)
                for i in 0..<hogCount {
                    hog.append(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: base + 16 + 4 * i, as: UInt32.self))))
                }
            }
        }
        let table = try OpenFaceCSVTable(contentsOf: Self.csvPath)
        let frameCount = successes.count
        #expect(frameCount == table.rowCount, "one .hog frame per CSV row")
        let pdm = try PointDistributionModel(contentsOf: Self.pdmURL)
        let localColumns = try (0..<pdm.modeCount).map { try table.columnIndex("p_\($0)") }
        let xColumns = try (0..<pdm.pointCount).map { try table.columnIndex("x_\($0)") }
        let yColumns = try (0..<pdm.pointCount).map { try table.columnIndex("y_\($0)") }
        var fitter = PDMFitter(pdm: pdm)
        let geometryCount = pdm.geometryFeatureCount
        var geometry = [Double](repeating: 0, count: frameCount * geometryCount)
        geometry.withUnsafeMutableBufferPointer { g in
            for f in 0..<frameCount {
                let local: [Float]
                switch source {
                case .csvParameters:
                    local = localColumns.map { Float(table.value(row: f, column: $0)) }
                case .refitLandmarks:
                    let points = zip(xColumns, yColumns).map {
                        Point(Float(table.value(row: f, column: $0)), Float(table.value(row: f, column: $1)))
                    }
                    local = fitter.fit(landmarks: points).local
                }
                pdm.geometryFeatures(local: local, into: UnsafeMutableBufferPointer(rebasing: g[(f * geometryCount)..<((f + 1) * geometryCount)]))
            }
        }
        self.table = table
        self.frameCount = frameCount
        self.hog = hog
        self.geometry = geometry
        self.successes = successes
        timestamps = try table.column("timestamp")
    }

    /// HOG then geometry of 0-based frame `f`, widened to double as FaceAnalyser does.
    func features(frame f: Int) -> [Double] {
        let h = AUPredictorSet.hogFeatureCount, g = geometry.count / frameCount
        return hog[(f * h)..<((f + 1) * h)].map(Double.init) + Array(geometry[(f * g)..<((f + 1) * g)])
    }

    func withFrame<R>(_ f: Int, _ body: (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Double>) -> R) -> R {
        let h = AUPredictorSet.hogFeatureCount, g = geometry.count / frameCount
        return hog.withUnsafeBufferPointer { hp in
            geometry.withUnsafeBufferPointer { gp in
                body(UnsafeBufferPointer(rebasing: hp[(f * h)..<((f + 1) * h)]), UnsafeBufferPointer(rebasing: gp[(f * g)..<((f + 1) * g)]))
            }
        }
    }
}

@Suite struct AUSequenceTests {
    static let predictors = Result { try AUPredictorSet(directory: AUTestEnvironment.auPredictors) }

    // MARK: Running median

    /// Brute force: sort the bins of every counted sample, take the ((n+1)/2)-th smallest (1-based)
    /// and report that bin's centre; n == 1 reports the last descriptor verbatim.
    private func bruteForceMedian(_ counted: [[Double]], last: [Double], median: AURunningMedian) -> [Double] {
        (0..<median.dimensions).map { d in
            let bins = counted.map { median.bin(of: $0[d]) }.sorted()
            let value = counted.count == 1 ? last[d] : median.centre(ofBin: counted.isEmpty ? 0 : bins[(counted.count + 1) / 2 - 1])
            return median.clampsNegativeToZero && value < 0 ? 0 : value
        }
    }

    @Test func histogramMedianEqualsBruteForceOnQuantisedValues() {
        var generator = AUSplitMix(seed: 7)
        for (make, spread) in [(AURunningMedian.openFaceGeometry(dimensions: 6), 70.0), (.openFaceHOG(dimensions: 6), 0.6)] {
            var median = make
            var counted: [[Double]] = []
            var mismatches = 0
            for step in 0..<301 {
                // Mostly clustered values, some beyond both ends of the range, some repeats.
                let sample = (0..<median.dimensions).map { d -> Double in
                    if step % 17 == 3 { return d % 2 == 0 ? 1e6 : -1e6 }
                    return (generator.unit() - 0.4) * spread * (d % 3 == 0 ? 0.1 : 1)
                }
                let include = step % 5 != 4
                if include { counted.append(sample) }
                sample.withUnsafeBufferPointer { median.update(with: $0, include: include) }
                if median.values != bruteForceMedian(counted, last: sample, median: median) { mismatches += 1 }
            }
            #expect(mismatches == 0, "histogram median differs from brute force on \(mismatches) of 301 updates")
            #expect(median.sampleCount == counted.count)
        }
    }

    @Test func medianQuirksOfOpenFace() {
        var median = AURunningMedian.openFaceGeometry(dimensions: 2)
        let first: [Double] = [1.23456, -7.5], second: [Double] = [3.0, 2.0], failed: [Double] = [0, 0]
        failed.withUnsafeBufferPointer { median.update(with: $0, include: false) }
        let binZeroCentre: Double = -60 + 0.5 * 120 / 10000
        #expect(median.values == [binZeroCentre, binZeroCentre], "nothing counted yet: centre of bin 0")
        first.withUnsafeBufferPointer { median.update(with: $0, include: true) }
        #expect(median.values == first, "one sample: the descriptor itself, not a bin centre")
        failed.withUnsafeBufferPointer { median.update(with: $0, include: false) }
        #expect(median.values == failed, "still one sample: OpenFace copies the uncounted descriptor")
        second.withUnsafeBufferPointer { median.update(with: $0, include: true) }
        // (2+1)/2 = 1 → the lower of the two samples' bins.
        #expect(median.values == [median.centre(ofBin: median.bin(of: 1.23456)), median.centre(ofBin: median.bin(of: -7.5))])
        var hog = AURunningMedian.openFaceHOG(dimensions: 1)
        [Double(0)].withUnsafeBufferPointer { hog.update(with: $0, include: false) }
        #expect(hog.values == [0], "HOG medians below 0 (bin-0 centre −0.0045) are set to 0")
    }

    /// The running medians only move on odd frames (1st, 3rd, …, failed frames counted in the
    /// numbering) and only count successful frames.
    @Test func mediansUpdateOnEveryOtherTrackedFrame() throws {
        let predictors = try Self.predictors.get()
        let analyzer = AUSequenceAnalyzer(predictors: predictors, online: false)
        let hogCount = AUPredictorSet.hogFeatureCount, geometryCount = predictors.geometryFeatureCount
        let successPattern = [true, true, false, true, true, true, false, false, true, true, true, true, true]
        var countedGeometry: [Double] = [], countedHOG: [Double] = []
        var lastGeometry = 0.0, lastHOG = 0.0
        var result = AUFrameResult(for: predictors)
        for (f, success) in successPattern.enumerated() {
            let hogValue = 0.01 * Double((f * 37) % 11), geometryValue = Double((f * 13) % 7) - 3
            let hog = [Float](repeating: Float(hogValue), count: hogCount)
            let geometry = [Double](repeating: geometryValue, count: geometryCount)
            hog.withUnsafeBufferPointer { h in geometry.withUnsafeBufferPointer { g in
                analyzer.addFrame(hog: h, geometry: g, success: success, timestamp: Double(f), into: &result)
            } }
            if f % 2 == 0 {  // 1-based frame number f + 1 is odd
                if success {
                    countedHOG.append(Double(Float(hogValue)))
                    countedGeometry.append(geometryValue)
                }
                // A failed frame's descriptor is zeros whatever the caller passed.
                lastHOG = success ? Double(Float(hogValue)) : 0
                lastGeometry = success ? geometryValue : 0
            }
            let reference = AURunningMedian.openFaceGeometry(dimensions: 1), hogReference = AURunningMedian.openFaceHOG(dimensions: 1)
            let expectedGeometry = bruteForceMedian(countedGeometry.map { [$0] }, last: [lastGeometry], median: reference)[0]
            let expectedHOG = bruteForceMedian(countedHOG.map { [$0] }, last: [lastHOG], median: hogReference)[0]
            let median = analyzer.currentMedian
            #expect(median[0] == expectedHOG && median[hogCount - 1] == expectedHOG, "frame \(f + 1): HOG median")
            #expect(median[hogCount] == expectedGeometry && median[hogCount + geometryCount - 1] == expectedGeometry,
                    "frame \(f + 1): geometry median")
            if !success {
                #expect(result.intensities.allSatisfy { $0 == 0 } && result.presences.allSatisfy { $0 == 0 },
                        "failed frame \(f + 1) answers zeros")
            }
        }
        #expect(analyzer.frameCount == successPattern.count)
    }

    // MARK: Online correction

    @Test func onlineCorrectionShiftsByTenthPercentileAfterTenFrames() {
        var generator = AUSplitMix(seed: 11)
        var correction = AUOnlineCorrection(auCount: 2)
        var counted: [[Double]] = [[], []]
        for frame in 0..<60 {
            let success = frame % 9 != 8
            let raw = [generator.unit() * 4 - 1.5, 2.5 + generator.unit()]
            var corrected = raw
            corrected.withUnsafeMutableBufferPointer { correction.correct($0, countFrame: success) }
            for au in 0..<2 {
                var expected = raw[au]
                if success {
                    counted[au].append(raw[au])
                    if counted[au].count >= 10 {
                        // Bin lower edge of the (Int(0.1·n) + 1)-th smallest counted value.
                        let bins = counted[au].map { min(max(Int(($0 + 3) * 200 / 8), 0), 199) }.sorted()
                        expected -= -3 + Double(bins[Int(0.1 * Double(bins.count))]) * (8.0 / 200)
                    }
                }
                expected = min(max(expected, 0), 5)
                #expect(abs(corrected[au] - expected) < 1e-12, "frame \(frame) AU \(au): \(corrected[au]) vs \(expected)")
            }
        }
        #expect(correction.frameCount == counted[0].count)
    }

    // MARK: Offline rules

    @Test func offlineIntensitySmoothingOffsetsAndFailedFrames() {
        let values: [Double] = [1.0, 2.0, 6.0, -1.0, 3.0, 0.5, 4.0]
        let successes = [true, true, true, true, false, true, true]
        // No offset (static model): clip to [0, 5], failed frame → 0, then 3-frame mean inside.
        let clipped: [Double] = [1, 2, 5, 0, 0, 0.5, 4]
        let expected = movingMeanOf3(clipped)
        #expect(expected[1] == 8.0 / 3 && expected[4] == 0.5 / 3)
        #expect(AUOfflinePostprocessing.intensities(values, successes: successes, cutoff: -1) == expected)
        // Dynamic model with cutoff 0.5: successful values sorted [-1, 0.5, 1, 2, 4, 6], element Int(6·0.5) = 3 → 2.
        let shifted: [Double] = [0, 0, 4, 0, 0, 0, 2]
        #expect(AUOfflinePostprocessing.intensities(values, successes: successes, cutoff: 0.5) == movingMeanOf3(shifted))
        #expect(AUOfflinePostprocessing.intensities([3, 7], successes: [true, true], cutoff: -1) == [3, 5], "too short to smooth")
    }

    /// Interior frames get the mean of themselves and their two neighbours; the ends keep their value.
    private func movingMeanOf3(_ v: [Double]) -> [Double] {
        var out = v
        for i in 1..<(v.count - 1) {
            let sum: Double = v[i - 1] + v[i] + v[i + 1]
            out[i] = sum / 3
        }
        return out
    }

    @Test func offlinePresenceSmoothingUsesSevenFrameMajority() {
        let values: [Double] = [1, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1]
        // Interior frames 3...7 get the majority of their 7-frame window; 3 frames at each end keep theirs.
        let expected: [Double] = [1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 1]
        for i in 3..<8 {
            let mean = values[(i - 3)...(i + 3)].reduce(0, +) / 7
            #expect(expected[i] == (mean >= 0.5 ? 1 : 0))
        }
        #expect(AUOfflinePostprocessing.presences(values) == expected)
        #expect(AUOfflinePostprocessing.presences([1, 0, 1, 0, 1, 0]) == [1, 0, 1, 0, 1, 0], "fewer than 7 frames: unchanged")
    }

    // MARK: End to end against OpenFace's CSV

    /// Agreement of our offline values with default.csv's AU columns.
    struct CSVAgreement {
        var worstIntensityR = 1.0, worstIntensityDiff = 0.0, meanIntensityDiff = 0.0
        var intensityCellsEqualAt2Decimals = 0, intensityCells = 0
        var presenceCellsEqual = 0, presenceCells = 0
        var perAU: [String] = []
        var perAUIntensityR: [String: Double] = [:]

        var summary: String {
            "intensity: worst r \(String(format: "%.5f", worstIntensityR)), max|d| \(String(format: "%.4f", worstIntensityDiff)), "
                + "mean|d| \(String(format: "%.4f", meanIntensityDiff)), \(intensityCellsEqualAt2Decimals)/\(intensityCells) cells equal at 2 decimals; "
                + "presence: \(presenceCellsEqual)/\(presenceCells) cells equal"
        }
    }

    /// Runs the whole sequence offline (as FeatureExtraction does on a video file) and compares.
    private func compareOfflineWithOpenFace(_ reference: AUReferenceSequence, label: String) throws -> CSVAgreement {
        let predictors = try Self.predictors.get()
        let analyzer = AUSequenceAnalyzer(predictors: predictors, online: false)
        var result = AUFrameResult(for: predictors)
        for f in 0..<reference.frameCount {
            reference.withFrame(f) { hog, geometry in
                analyzer.addFrame(hog: hog, geometry: geometry, success: reference.successes[f],
                                  timestamp: reference.timestamps[f], into: &result)
            }
        }
        let offline = analyzer.finishOffline()
        #expect(offline.count == reference.frameCount)

        var agreement = CSVAgreement()
        var diffSum = 0.0
        for (au, name) in predictors.intensityNames.enumerated() {
            let ours = offline.map { $0.intensities[au] }
            let theirs = try reference.table.column("\(name)_r")
            let diffs = zip(ours, theirs).map { abs($0 - $1) }
            let r = auPearson(ours, theirs)
            agreement.perAUIntensityR[name] = r
            agreement.worstIntensityR = min(agreement.worstIntensityR, r)
            agreement.worstIntensityDiff = max(agreement.worstIntensityDiff, diffs.max() ?? 0)
            diffSum += diffs.reduce(0, +)
            agreement.intensityCells += ours.count
            agreement.intensityCellsEqualAt2Decimals += zip(ours, theirs).filter { String(format: "%.2f", $0) == String(format: "%.2f", $1) }.count
            agreement.perAU.append("\(name)_r r=\(String(format: "%.5f", r)) max|d|=\(String(format: "%.4f", diffs.max() ?? 0)) mean|d|=\(String(format: "%.4f", diffs.reduce(0, +) / Double(diffs.count)))")
        }
        agreement.meanIntensityDiff = diffSum / Double(max(agreement.intensityCells, 1))
        for (au, name) in predictors.presenceNames.enumerated() {
            let ours = offline.map { $0.presences[au] }
            let theirs = try reference.table.column("\(name)_c")
            let equal = zip(ours, theirs).filter { $0 == $1 }.count
            agreement.presenceCellsEqual += equal
            agreement.presenceCells += ours.count
            agreement.perAU.append("\(name)_c equal=\(equal)/\(ours.count)")
        }
        print("AU offline vs OpenFace default.csv (\(label)) — \(agreement.summary)\n  " + agreement.perAU.joined(separator: "\n  "))
        return agreement
    }

    /// OpenFace wrote default.csv from exactly these HOG values. The geometry is FaceAnalyser's own
    /// recipe (PDM::CalcParams on the tracked landmarks) applied to the CSV's landmarks, which are
    /// rounded to 0.1 px: that rounding is the only input that is not bit-identical.
    @Test func offlineSequenceReproducesOpenFaceCSV() throws {
        let agreement = try compareOfflineWithOpenFace(try AUReferenceSequence.fromRefittedLandmarks.get(),
                                                       label: "geometry refitted from CSV landmarks")
        for (name, r) in agreement.perAUIntensityR.sorted(by: { $0.key < $1.key }) {
            #expect(r >= 0.999, "\(name)_r: Pearson r \(r) < 0.999; \(agreement.summary)")
        }
        // Measured: worst r 0.99965, max|d| 0.0152, 89 % of cells equal at 2 decimals, 5180/5184 presences.
        #expect(agreement.worstIntensityDiff <= 0.03, "\(agreement.summary)")
        #expect(Double(agreement.intensityCellsEqualAt2Decimals) >= 0.85 * Double(agreement.intensityCells), "\(agreement.summary)")
        #expect(Double(agreement.presenceCellsEqual) >= 0.995 * Double(agreement.presenceCells), "\(agreement.summary)")
    }

    /// The same with the geometry built from the CSV's p_0…p_33 (CLNF's parameters, 3 decimals),
    /// which are not the parameters FaceAnalyser refits: a looser but still close agreement.
    @Test func offlineSequenceFromCSVParametersStaysClose() throws {
        let reference = try AUReferenceSequence.fromCSVParameters.get()
        let agreement = try compareOfflineWithOpenFace(reference, label: "geometry from CSV p_0…p_33")
        for (name, r) in agreement.perAUIntensityR.sorted(by: { $0.key < $1.key }) {
            #expect(r >= 0.99, "\(name)_r: Pearson r \(r) < 0.99; \(agreement.summary)")
        }
        // Measured: worst r 0.99438 (AU23), max|d| 0.0951, 5154/5184 presences.
        #expect(agreement.worstIntensityDiff <= 0.15, "\(agreement.summary)")
        #expect(Double(agreement.presenceCellsEqual) >= 0.98 * Double(agreement.presenceCells), "\(agreement.summary)")

        // Online mode on the first 60 frames (the shift starts at frame 10): intensities stay in [0, 5].
        let predictors = try Self.predictors.get()
        let online = AUSequenceAnalyzer(predictors: predictors, online: true)
        var result = AUFrameResult(for: predictors)
        var outOfRange = 0
        for f in 0..<60 {
            reference.withFrame(f) { hog, geometry in
                online.addFrame(hog: hog, geometry: geometry, success: true, timestamp: reference.timestamps[f], into: &result)
            }
            if !result.intensities.allSatisfy({ $0 >= 0 && $0 <= 5 }) { outOfRange += 1 }
        }
        #expect(outOfRange == 0)
    }
}

/// Pearson correlation; 1 when both series are the same constant (nothing to correlate).
func auPearson(_ a: [Double], _ b: [Double]) -> Double {
    let n = Double(a.count)
    let ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
    var sab = 0.0, saa = 0.0, sbb = 0.0
    for (x, y) in zip(a, b) {
        sab += (x - ma) * (y - mb); saa += (x - ma) * (x - ma); sbb += (y - mb) * (y - mb)
    }
    if saa == 0 && sbb == 0 { return a == b ? 1 : 0 }
    return sab / (saa * sbb).squareRoot()
}

/// A tiny deterministic generator so synthetic sequences are the same on every run.
struct AUSplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
