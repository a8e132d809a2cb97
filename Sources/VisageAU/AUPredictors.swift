import Foundation
import VisageCore

/// The four kinds of linear model OpenFace 2.2's FaceAnalyser reads: the int32 that opens each
/// `.dat` file (FaceAnalyser.h's `RegressorType`; the other values there are never shipped).
enum AUModelKind: Int32, Sendable, CaseIterable {
    /// SVR on `features − means`.
    case staticRegressor = 0
    /// SVR on `features − means − person median`; the file also carries an offline cutoff.
    case dynamicRegressor = 1
    /// Linear SVM on `features − means`, answering one of two stored labels.
    case staticClassifier = 4
    /// Linear SVM on `features − means − person median`.
    case dynamicClassifier = 5

    var isDynamic: Bool { self == .dynamicRegressor || self == .dynamicClassifier }
    var isClassifier: Bool { self == .staticClassifier || self == .dynamicClassifier }
}

/// All models of one kind, stacked so that one matrix-vector product evaluates them together
/// (OpenFace's `SVR_static_lin_regressors`, `SVR_dynamic_lin_regressors`, `SVM_static_lin`, `SVM_dynamic_lin`).
struct AUModelBank: Sendable {
    let kind: AUModelKind
    let names: [String]
    /// OpenFace keeps the means of the first file of a kind and uses them for every model of that kind.
    let means: [Double]
    /// `names.count × featureCount`, row-major: row k is model k's weight vector.
    let weights: [Double]
    let biases: [Double]
    /// Dynamic regressors: the quantile of a person's predictions subtracted offline (−1: none).
    let cutoffs: [Double]
    /// Classifiers: the label answered for a positive / non-positive margin.
    let positiveLabels: [Double]
    let negativeLabels: [Double]
    /// Where model k's output goes in the name-sorted result (`intensityNames` or `presenceNames`).
    var outputSlots: [Int]

    var count: Int { names.count }
    var featureCount: Int { means.count }

    /// `scores[k] = weights_k · (features − means)`, without bias and without the median term:
    /// the part of a prediction that does not depend on the person's running median.
    /// `centred` is scratch space of `featureCount` doubles.
    func centredScores(features: UnsafePointer<Double>, centred: UnsafeMutablePointer<Double>,
                       into scores: UnsafeMutablePointer<Double>) {
        guard count > 0 else { return }
        means.withUnsafeBufferPointer { m in
            for i in 0..<featureCount { centred[i] = features[i] - m[i] }
        }
        project(centred, into: scores)
    }

    /// `output[k] = weights_k · vector` (used for the median term of the dynamic models).
    func project(_ vector: UnsafePointer<Double>, into output: UnsafeMutablePointer<Double>) {
        guard count > 0 else { return }
        weights.withUnsafeBufferPointer { w in
            VectorMath.multiply(matrix: w.baseAddress!, rows: count, columns: featureCount, vector: vector, into: output)
        }
    }

    /// OpenFace's SVMs answer a stored label, not the sign: `margin > 0` → positive label.
    @inline(__always)
    func label(model k: Int, margin: Double) -> Double {
        margin > 0 ? positiveLabels[k] : negativeLabels[k]
    }
}

/// OpenFace 2.2's AU predictors (SVR intensities and SVM presences), loaded once and shared
/// read-only by every person's `AUSequenceAnalyzer`.
///
/// Outputs are in the order OpenFace writes its CSV: names sorted byte-wise (`AU01_r … AU45_r`,
/// then `AU01_c … AU45_c`), whatever order the list file gives.
public struct AUPredictorSet: Sendable {
    /// HOG part of the feature vector: 12×12 cells × 31 FHOG features (112-pixel face, cell 8).
    public static let hogFeatureCount = 12 * 12 * 31

    /// AU names of the intensity (SVR) outputs, sorted as in OpenFace's CSV.
    public let intensityNames: [String]
    /// AU names of the presence (SVM) outputs, sorted as in OpenFace's CSV.
    public let presenceNames: [String]
    /// HOG followed by geometry: the length every model's weight vector has (4702 for OpenFace 2.2).
    public let featureCount: Int
    /// Geometry part: 68×3 PDM shape offsets + 34 PDM parameters (238 for OpenFace 2.2).
    public var geometryFeatureCount: Int { featureCount - Self.hogFeatureCount }
    /// The list file the models came from (for messages).
    public let source: String

    let staticRegressors: AUModelBank
    let dynamicRegressors: AUModelBank
    let staticClassifiers: AUModelBank
    let dynamicClassifiers: AUModelBank

    /// Loads OpenFace's default video set: `main_dynamic_svms.txt` in `directory` (FaceAnalyser's
    /// `AU_predictors`) names the AU list file (`AU_all_best.txt`) on its `AUPredictor` line.
    public init(directory: URL) throws {
        let mainFile = directory.appendingPathComponent("main_dynamic_svms.txt")
        let text = try AUModelFileReader.text(of: mainFile)
        var listName: String?
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.count >= 2, fields[0] == "AUPredictor" { listName = String(fields[1]) }
        }
        guard let listName else {
            throw VisageError.unreadable(path: mainFile.path, reason: "no 'AUPredictor <file>' line naming the AU list file")
        }
        try self.init(listFile: directory.appendingPathComponent(listName))
    }

    /// Loads an AU list file such as `AU_all_best.txt`: one `<relative .dat path> <AU name>` per line.
    public init(listFile: URL) throws {
        let text = try AUModelFileReader.text(of: listFile)
        let root = listFile.deletingLastPathComponent()
        var entries: [(name: String, model: AUModelFile)] = []
        for (number, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard fields.count == 2 else {
                throw VisageError.unreadable(path: listFile.path,
                                             reason: "line \(number + 1): expected '<model .dat> <AU name>', got '\(line)'")
            }
            let names = fields[1].split(separator: ",").map(String.init)
            guard names.count == 1 else {
                throw VisageError.unreadable(path: listFile.path,
                                             reason: "line \(number + 1): each model file predicts one AU, got '\(fields[1])'")
            }
            entries.append((names[0], try AUModelFile(url: root.appendingPathComponent(String(fields[0])))))
        }
        guard let first = entries.first else {
            throw VisageError.unreadable(path: listFile.path, reason: "lists no AU model files")
        }
        let featureCount = first.model.means.count
        self.featureCount = featureCount
        guard featureCount > Self.hogFeatureCount else {
            throw VisageError.unreadable(path: first.model.path,
                                         reason: "models take \(featureCount) features; expected HOG (\(Self.hogFeatureCount)) plus geometry")
        }
        for entry in entries where entry.model.means.count != featureCount {
            throw VisageError.unreadable(path: entry.model.path,
                                         reason: "takes \(entry.model.means.count) features, \(first.model.path) takes \(featureCount)")
        }
        func bank(_ kind: AUModelKind) -> AUModelBank {
            let ofKind = entries.filter { $0.model.kind == kind }
            return AUModelBank(
                kind: kind, names: ofKind.map(\.name),
                means: ofKind.first?.model.means ?? [Double](repeating: 0, count: featureCount),
                weights: ofKind.flatMap(\.model.weights), biases: ofKind.map(\.model.bias),
                cutoffs: ofKind.map { $0.model.cutoff ?? -1 },
                positiveLabels: ofKind.map { $0.model.labels?.positive ?? 1 },
                negativeLabels: ofKind.map { $0.model.labels?.negative ?? 0 },
                outputSlots: [])
        }
        var regressors = (bank(.staticRegressor), bank(.dynamicRegressor))
        var classifiers = (bank(.staticClassifier), bank(.dynamicClassifier))
        intensityNames = try Self.sortedUnique(regressors.0.names + regressors.1.names, what: "intensity", in: listFile)
        presenceNames = try Self.sortedUnique(classifiers.0.names + classifiers.1.names, what: "presence", in: listFile)
        // Every bank name is in the sorted list built from the same names, so the lookups below succeed.
        let intensitySlot = Dictionary(uniqueKeysWithValues: intensityNames.enumerated().map { ($1, $0) })
        let presenceSlot = Dictionary(uniqueKeysWithValues: presenceNames.enumerated().map { ($1, $0) })
        regressors.0.outputSlots = regressors.0.names.map { intensitySlot[$0]! }
        regressors.1.outputSlots = regressors.1.names.map { intensitySlot[$0]! }
        classifiers.0.outputSlots = classifiers.0.names.map { presenceSlot[$0]! }
        classifiers.1.outputSlots = classifiers.1.names.map { presenceSlot[$0]! }
        (staticRegressors, dynamicRegressors) = regressors
        (staticClassifiers, dynamicClassifiers) = classifiers
        source = listFile.path
    }

    /// OpenFace sorts names with `std::sort` on `std::string` (byte order). It keys predictions by
    /// name in a map, so a name listed twice would silently merge two AUs: refuse it instead.
    private static func sortedUnique(_ names: [String], what: String, in file: URL) throws -> [String] {
        let sorted = names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for i in sorted.indices.dropFirst() where sorted[i] == sorted[i - 1] {
            throw VisageError.unreadable(path: file.path, reason: "lists the \(what) AU \(sorted[i]) twice")
        }
        return sorted
    }

    /// Offline cutoff per intensity output (name-sorted); −1 where OpenFace applies no offset
    /// (static models, or a dynamic model stored with cutoff −1).
    public var intensityCutoffs: [Double] {
        var cutoffs = [Double](repeating: -1, count: intensityNames.count)
        for (k, slot) in dynamicRegressors.outputSlots.enumerated() { cutoffs[slot] = dynamicRegressors.cutoffs[k] }
        return cutoffs
    }

    /// One stateless evaluation, for checks and single images: raw SVR outputs (not clipped) and
    /// SVM margins/labels for `features` (HOG then geometry, `featureCount` values) against a
    /// person `median` of the same length (zeros when there is none). `AUSequenceAnalyzer` does
    /// the same arithmetic with preallocated buffers.
    public func evaluate(features: UnsafeBufferPointer<Double>, median: UnsafeBufferPointer<Double>) -> AURawPrediction {
        precondition(features.count == featureCount && median.count == featureCount,
                     "AU features and median must have \(featureCount) values")
        var result = AURawPrediction(intensities: .init(repeating: 0, count: intensityNames.count),
                                     presenceMargins: .init(repeating: 0, count: presenceNames.count),
                                     presences: .init(repeating: 0, count: presenceNames.count))
        var centred = [Double](repeating: 0, count: featureCount)
        var scores = [Double](repeating: 0, count: max(staticRegressors.count, dynamicRegressors.count,
                                                        staticClassifiers.count, dynamicClassifiers.count))
        var medianTerm = scores
        for bank in [staticRegressors, dynamicRegressors, staticClassifiers, dynamicClassifiers] {
            centred.withUnsafeMutableBufferPointer { c in
                scores.withUnsafeMutableBufferPointer { s in
                    bank.centredScores(features: features.baseAddress!, centred: c.baseAddress!, into: s.baseAddress!)
                }
            }
            if bank.kind.isDynamic {
                medianTerm.withUnsafeMutableBufferPointer { bank.project(median.baseAddress!, into: $0.baseAddress!) }
            }
            for k in 0..<bank.count {
                let value = scores[k] - (bank.kind.isDynamic ? medianTerm[k] : 0) + bank.biases[k]
                if bank.kind.isClassifier {
                    result.presenceMargins[bank.outputSlots[k]] = value
                    result.presences[bank.outputSlots[k]] = bank.label(model: k, margin: value)
                } else {
                    result.intensities[bank.outputSlots[k]] = value
                }
            }
        }
        return result
    }
}

/// What the models say about one feature vector before any OpenFace post-processing.
public struct AURawPrediction: Sendable, Equatable {
    /// SVR outputs in `intensityNames` order, unclipped.
    public var intensities: [Double]
    /// SVM decision values `w·x + b` in `presenceNames` order.
    public var presenceMargins: [Double]
    /// The SVM answers (the file's positive label where the margin is > 0, else its negative label).
    public var presences: [Double]
}

/// One OpenFace AU model `.dat` file: int32 kind, [float64 cutoff], means matrix, weight matrix,
/// float64 bias, [float64 positive label, float64 negative label]. Matrices are OpenCV's
/// `ReadMatBin` layout: int32 rows, int32 cols, int32 OpenCV type, then the elements row by row.
/// Everything is little-endian (the files were written on x86).
struct AUModelFile {
    let path: String
    let kind: AUModelKind
    let cutoff: Double?
    let means: [Double]
    let weights: [Double]
    let bias: Double
    let labels: (positive: Double, negative: Double)?

    init(url: URL) throws {
        path = url.path
        var reader = AUModelFileReader(data: try AUModelFileReader.bytes(of: url), path: path)
        let rawKind = try reader.int32("model kind")
        guard let kind = AUModelKind(rawValue: rawKind) else {
            throw VisageError.unreadable(path: path, reason: "unknown AU model kind \(rawKind); expected 0, 1, 4 or 5 (OpenFace 2.2 linear SVR/SVM)")
        }
        self.kind = kind
        cutoff = kind == .dynamicRegressor ? try reader.float64("cutoff") : nil
        let means = try reader.matrix("means")
        let weights = try reader.matrix("support vector")
        guard means.rows == 1, weights.columns == 1, weights.rows == means.columns else {
            throw VisageError.unreadable(path: path, reason: "means are \(means.rows)×\(means.columns) and weights \(weights.rows)×\(weights.columns); expected 1×N and N×1")
        }
        self.means = means.values
        self.weights = weights.values
        bias = try reader.float64("bias")
        labels = kind.isClassifier ? (try reader.float64("positive label"), try reader.float64("negative label")) : nil
        guard reader.remaining == 0 else {
            throw VisageError.unreadable(path: path, reason: "\(reader.remaining) unexpected bytes after the model; is this an OpenFace 2.2 AU model?")
        }
        let scalars = [cutoff ?? 0, bias, labels?.positive ?? 0, labels?.negative ?? 0]
        guard self.means.allSatisfy(\.isFinite), self.weights.allSatisfy(\.isFinite), scalars.allSatisfy(\.isFinite) else {
            throw VisageError.unreadable(path: path, reason: "contains NaN or infinite values; the file is corrupt")
        }
    }
}

/// Bounds-checked little-endian reading of model files; every failure names the file.
struct AUModelFileReader {
    private let bytes: [UInt8]
    private let path: String
    private var offset = 0

    init(data: Data, path: String) {
        bytes = [UInt8](data)
        self.path = path
    }

    var remaining: Int { bytes.count - offset }

    static func bytes(of url: URL) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw VisageError.fileNotFound(path: url.path)
        }
        guard !isDirectory.boolValue else { throw VisageError.notAFile(path: url.path) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw VisageError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        guard !data.isEmpty else { throw VisageError.emptyFile(path: url.path) }
        return data
    }

    static func text(of url: URL) throws -> String {
        guard let text = String(data: try bytes(of: url), encoding: .utf8) else {
            throw VisageError.unreadable(path: url.path, reason: "not a UTF-8 text file")
        }
        return text
    }

    private mutating func take(_ count: Int, _ what: String) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw VisageError.unreadable(path: path, reason: "truncated: \(what) needs \(count) bytes at offset \(offset), \(remaining) left")
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func int32(_ what: String) throws -> Int32 {
        let slice = try take(4, what)
        return Int32(bitPattern: slice.reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    }

    mutating func float64(_ what: String) throws -> Double {
        let slice = try take(8, what)
        return Double(bitPattern: slice.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    /// OpenCV types accepted: CV_64FC1 (6, what OpenFace ships) and CV_32FC1 (5, widened as
    /// OpenCV does when a float matrix is assigned to `Mat_<double>`).
    mutating func matrix(_ what: String) throws -> (rows: Int, columns: Int, values: [Double]) {
        let rows = Int(try int32("\(what) rows")), columns = Int(try int32("\(what) columns"))
        let type = try int32("\(what) type")
        guard rows > 0, columns > 0, rows <= 1 << 24, columns <= 1 << 24 else {
            throw VisageError.unreadable(path: path, reason: "\(what) matrix claims \(rows)×\(columns) elements")
        }
        let elementSize: Int
        switch type {
        case 6: elementSize = 8
        case 5: elementSize = 4
        default:
            throw VisageError.unreadable(path: path, reason: "\(what) matrix has OpenCV type \(type); expected 6 (CV_64F) or 5 (CV_32F)")
        }
        let count = rows * columns
        let raw = try take(count * elementSize, "\(what) matrix")
        var values = [Double](repeating: 0, count: count)
        raw.withUnsafeBytes { buffer in
            for i in 0..<count {
                if elementSize == 8 {
                    values[i] = Double(bitPattern: UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))
                } else {
                    values[i] = Double(Float(bitPattern: UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))))
                }
            }
        }
        return (rows, columns, values)
    }
}
