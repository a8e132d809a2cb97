import Foundation
import Testing
import VisageCore
@testable import VisageAU

/// The AU list and `.dat` files read again here the simplest possible way, independently of
/// `AUPredictorSet`, and evaluated with plain loops in double.
private struct NaiveAUModel {
    let name: String
    let kind: Int32
    let means: [Double], weights: [Double]
    let bias: Double, positive: Double, negative: Double

    static func loadAll(listFile: URL) throws -> [NaiveAUModel] {
        let text = try String(contentsOf: listFile, encoding: .utf8)
        return try text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 2 else { return nil }
            let bytes = [UInt8](try Data(contentsOf: listFile.deletingLastPathComponent().appendingPathComponent(String(fields[0]))))
            var offset = 0
            func int32() -> Int32 {
                var v: Int32 = 0
                for b in 0..<4 { v |= Int32(bytes[offset + b]) << (8 * b) }
                offset += 4
                return v
            }
            func double() -> Double {
                var bits: UInt64 = 0
                for b in 0..<8 { bits |= UInt64(bytes[offset + b]) << (8 * b) }
                offset += 8
                return Double(bitPattern: bits)
            }
            func matrix() -> [Double] {
                let rows = Int(int32()), cols = Int(int32())
                _ = int32()
                return (0..<(rows * cols)).map { _ in double() }
            }
            let kind = int32()
            if kind == 1 { _ = double() }
            let means = matrix(), weights = matrix(), bias = double()
            let positive = kind >= 4 ? double() : 0, negative = kind >= 4 ? double() : 0
            return NaiveAUModel(name: String(fields[1]), kind: kind, means: means, weights: weights,
                                bias: bias, positive: positive, negative: negative)
        }
    }

    /// `((x − means) − median)·w + b` for dynamic models, `(x − means)·w + b` for static ones.
    func value(features x: [Double], median: [Double]) -> Double {
        var sum = 0.0
        for j in 0..<x.count {
            var centred = x[j] - means[j]
            if kind == 1 || kind == 5 { centred -= median[j] }
            sum += centred * weights[j]
        }
        return sum + bias
    }

    var isClassifier: Bool { kind >= 4 }
}

@Suite struct AUPredictorTests {
    static let listFile = AUTestEnvironment.auPredictors.appendingPathComponent("AU_all_best.txt")

    @Test func namesAndCutoffsFollowOpenFace() throws {
        let predictors = try AUPredictorSet(directory: AUTestEnvironment.auPredictors)
        #expect(predictors.intensityNames == OpenFaceCSVLayout.openFaceDefault.intensityNames)
        #expect(predictors.presenceNames == OpenFaceCSVLayout.openFaceDefault.presenceNames)
        #expect(predictors.featureCount == 4702 && predictors.geometryFeatureCount == 238)
        let cutoffs = Dictionary(uniqueKeysWithValues: zip(predictors.intensityNames, predictors.intensityCutoffs))
        // Values stored in the dynamic .dat files; static models have none (−1).
        for (name, stored) in [("AU01", 0.55), ("AU05", 0.8), ("AU25", 0.3), ("AU45", 0.6)] {
            #expect(abs((cutoffs[name] ?? -1) - stored) < 1e-12, "\(name) cutoff \(cutoffs[name] ?? -1)")
        }
        #expect(cutoffs["AU04"] == -1 && cutoffs["AU12"] == -1)
    }

    /// Every SVR output and SVM margin equals the naive evaluation of the `.dat` files to 1e-9,
    /// on real OpenFace feature vectors against a real median and against none.
    @Test func predictionsEqualNaiveEvaluationOfTheModelFiles() throws {
        let predictors = try AUPredictorSet(directory: AUTestEnvironment.auPredictors)
        let naive = try NaiveAUModel.loadAll(listFile: Self.listFile)
        #expect(naive.count == predictors.intensityNames.count + predictors.presenceNames.count)
        let reference = try AUReferenceSequence.fromCSVParameters.get()
        let zeroMedian = [Double](repeating: 0, count: predictors.featureCount)
        var maxError = 0.0, comparisons = 0, labelMismatches = 0
        for (frame, medianFrame) in [(0, 60), (120, 60), (250, nil), (287, 3)] as [(Int, Int?)] {
            let x = reference.features(frame: frame)
            let median = medianFrame.map { reference.features(frame: $0) } ?? zeroMedian
            let ours = x.withUnsafeBufferPointer { xp in median.withUnsafeBufferPointer { predictors.evaluate(features: xp, median: $0) } }
            for model in naive {
                let expected = model.value(features: x, median: median)
                if model.isClassifier {
                    let slot = try #require(predictors.presenceNames.firstIndex(of: model.name))
                    maxError = max(maxError, abs(ours.presenceMargins[slot] - expected))
                    if ours.presences[slot] != (expected > 0 ? model.positive : model.negative) { labelMismatches += 1 }
                } else {
                    let slot = try #require(predictors.intensityNames.firstIndex(of: model.name))
                    maxError = max(maxError, abs(ours.intensities[slot] - expected))
                }
                comparisons += 1
            }
        }
        print("AU predictors vs naive .dat evaluation: max |diff| \(maxError) over \(comparisons) outputs, \(labelMismatches) label mismatches")
        #expect(maxError <= 1e-9, "max |diff| \(maxError) over \(comparisons) outputs")
        #expect(labelMismatches == 0)
    }

    /// The analyzer's per-frame path (preallocated buffers, median term kept separately) gives the
    /// same numbers: after frame 1 the median is frame 1's own descriptor, and frame 2 keeps it.
    @Test func analyzerFramesEqualNaiveEvaluation() throws {
        let predictors = try AUPredictorSet(directory: AUTestEnvironment.auPredictors)
        let naive = try NaiveAUModel.loadAll(listFile: Self.listFile)
        let reference = try AUReferenceSequence.fromCSVParameters.get()
        let analyzer = AUSequenceAnalyzer(predictors: predictors, online: false)
        let median = reference.features(frame: 0)
        var maxError = 0.0
        for frame in 0..<2 {
            let result = reference.withFrame(frame) { analyzer.addFrame(hog: $0, geometry: $1, success: true, timestamp: 0) }
            #expect(analyzer.currentMedian == median, "frame \(frame + 1): median is frame 1's descriptor")
            let x = reference.features(frame: frame)
            for model in naive {
                let expected = model.value(features: x, median: median)
                if model.isClassifier {
                    let slot = try #require(predictors.presenceNames.firstIndex(of: model.name))
                    #expect(result.presences[slot] == (expected > 0 ? model.positive : model.negative), "\(model.name)_c frame \(frame + 1)")
                } else {
                    let slot = try #require(predictors.intensityNames.firstIndex(of: model.name))
                    maxError = max(maxError, abs(result.intensities[slot] - expected))
                }
            }
        }
        #expect(maxError <= 1e-9, "analyzer vs naive: max |diff| \(maxError)")
    }

    /// The math seam against plain loops, on sizes that exercise every SIMD tail.
    @Test func vectorMathMatchesPlainLoops() {
        var generator = AUSplitMix(seed: 3)
        for (rows, columns) in [(1, 1), (3, 5), (4, 16), (7, 37), (11, 4702)] {
            let matrix = (0..<(rows * columns)).map { _ in generator.unit() - 0.5 }
            let vector = (0..<columns).map { _ in generator.unit() * 2 }
            var output = [Double](repeating: .nan, count: rows)
            matrix.withUnsafeBufferPointer { m in vector.withUnsafeBufferPointer { v in output.withUnsafeMutableBufferPointer { o in
                VectorMath.multiply(matrix: m.baseAddress!, rows: rows, columns: columns, vector: v.baseAddress!, into: o.baseAddress!)
            } } }
            for r in 0..<rows {
                var expected = 0.0
                for c in 0..<columns { expected += matrix[r * columns + c] * vector[c] }
                let dot = matrix.withUnsafeBufferPointer { m in vector.withUnsafeBufferPointer { v in
                    VectorMath.dot(m.baseAddress! + r * columns, v.baseAddress!, count: columns)
                } }
                #expect(abs(output[r] - expected) <= 1e-12 * Double(columns), "\(rows)×\(columns) row \(r)")
                #expect(abs(dot - expected) <= 1e-12 * Double(columns), "dot \(rows)×\(columns) row \(r)")
            }
        }
    }

    // MARK: Bad model files

    private func scratchDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("visage-au-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    private func expectFailure(naming fileName: String, containing words: String, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected a VisageError naming \(fileName)")
        } catch let error as VisageError {
            #expect(error.description.contains(fileName) && error.description.contains(words), "\(error)")
        } catch {
            Issue.record("expected VisageError, got \(error)")
        }
    }

    @Test func corruptModelFilesThrowErrorsNamingTheFile() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = try Data(contentsOf: AUTestEnvironment.auPredictors.appendingPathComponent("svr_combined/AU_1_dynamic_intensity_comb.dat"))
        let list = dir.appendingPathComponent("list.txt")
        func install(_ bytes: Data) throws {
            try bytes.write(to: dir.appendingPathComponent("model.dat"))
            try "model.dat AU01\n".write(to: list, atomically: true, encoding: .utf8)
        }

        expectFailure(naming: "main_dynamic_svms.txt", containing: "not found") { _ = try AUPredictorSet(directory: dir) }
        try install(original.prefix(5000))
        expectFailure(naming: "model.dat", containing: "truncated") { _ = try AUPredictorSet(listFile: list) }
        var badKind = original
        badKind[0] = 9
        try install(badKind)
        expectFailure(naming: "model.dat", containing: "kind 9") { _ = try AUPredictorSet(listFile: list) }
        try install(original + Data([0, 0, 0, 0]))
        expectFailure(naming: "model.dat", containing: "unexpected bytes") { _ = try AUPredictorSet(listFile: list) }
        var nan = original
        nan.replaceSubrange(40..<48, with: withUnsafeBytes(of: Double.nan.bitPattern.littleEndian) { Data($0) })
        try install(nan)
        expectFailure(naming: "model.dat", containing: "NaN") { _ = try AUPredictorSet(listFile: list) }
        try install(Data())
        expectFailure(naming: "model.dat", containing: "empty") { _ = try AUPredictorSet(listFile: list) }
        try install(original)
        try "model.dat\n".write(to: list, atomically: true, encoding: .utf8)
        expectFailure(naming: "list.txt", containing: "line 1") { _ = try AUPredictorSet(listFile: list) }
        try "model.dat AU01\nmodel.dat AU01\n".write(to: list, atomically: true, encoding: .utf8)
        expectFailure(naming: "list.txt", containing: "twice") { _ = try AUPredictorSet(listFile: list) }
        try "model.dat AU01\n".write(to: list, atomically: true, encoding: .utf8)
        let single = try AUPredictorSet(listFile: list)
        #expect(single.intensityNames == ["AU01"] && single.presenceNames.isEmpty)
    }
}
