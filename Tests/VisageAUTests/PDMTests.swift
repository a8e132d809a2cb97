import Foundation
import Testing
import VisageAU
import VisageCore

/// OpenFace's own FeatureExtraction output on default.wmv: per-frame landmarks and PDM parameters.
struct OpenFaceReferenceFrames {
    static let csvPath = AUTestEnvironment.reference.appendingPathComponent("default/default.csv").path
    static let pdmURL = AUTestEnvironment.auPredictors.appendingPathComponent("In-the-wild_aligned_PDM_68.txt")
    static let trianglesURL = AUTestEnvironment.auPredictors.appendingPathComponent("tris_68_full.txt")

    let table: OpenFaceCSVTable
    private let xColumns: [Int], yColumns: [Int], globalColumns: [Int], localColumns: [Int]

    init() throws {
        let table = try OpenFaceCSVTable(contentsOf: Self.csvPath)
        self.table = table
        xColumns = try (0..<68).map { try table.columnIndex("x_\($0)") }
        yColumns = try (0..<68).map { try table.columnIndex("y_\($0)") }
        globalColumns = try ["p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty"].map { try table.columnIndex($0) }
        localColumns = try (0..<34).map { try table.columnIndex("p_\($0)") }
    }

    var frameCount: Int { table.rowCount }

    /// Landmarks of 1-based frame `frame` (CSV precision: 1 decimal).
    func landmarks(frame: Int) -> [Point] {
        (0..<68).map { Point(Float(table.value(row: frame - 1, column: xColumns[$0])), Float(table.value(row: frame - 1, column: yColumns[$0]))) }
    }

    /// CLNF's parameters of the frame (CSV precision: 3 decimals).
    func global(frame: Int) -> PDMGlobalParameters {
        let g = globalColumns.map { Float(table.value(row: frame - 1, column: $0)) }
        return PDMGlobalParameters(scale: g[0], rx: g[1], ry: g[2], rz: g[3], tx: g[4], ty: g[5])
    }

    func local(frame: Int) -> [Float] { localColumns.map { Float(table.value(row: frame - 1, column: $0)) } }
}

/// Max and mean of absolute differences, for messages.
struct ErrorStats: CustomStringConvertible {
    private(set) var max = 0.0
    private(set) var sum = 0.0
    private(set) var count = 0
    private(set) var sumOfSquares = 0.0
    var mean: Double { count == 0 ? 0 : sum / Double(count) }
    var rms: Double { count == 0 ? 0 : (sumOfSquares / Double(count)).squareRoot() }
    mutating func add(_ difference: Double) {
        max = Swift.max(max, abs(difference)); sum += abs(difference); sumOfSquares += difference * difference; count += 1
    }
    var description: String { String(format: "max %.5f mean %.5f (n=%d)", max, mean, count) }
}

@Suite struct PDMTests {
    static let pdm: PointDistributionModel? = try? PointDistributionModel(contentsOf: OpenFaceReferenceFrames.pdmURL)

    @Test func readsOpenFaceInTheWildPDM() throws {
        let pdm = try PointDistributionModel(contentsOf: OpenFaceReferenceFrames.pdmURL)
        #expect(pdm.pointCount == 68)
        #expect(pdm.modeCount == 34)
        #expect(pdm.meanShape.count == 204 && pdm.principalComponents.count == 204 * 34)
        #expect(pdm.geometryFeatureCount == 238)
        // Variances are positive, sorted (PCA), from ~826 mm² down to ~0.58 mm².
        #expect(pdm.eigenValues.allSatisfy { $0 > 0 })
        #expect(zip(pdm.eigenValues, pdm.eigenValues.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(abs(pdm.eigenValues[0] - 826.213804) < 1e-3 && abs(pdm.eigenValues[33] - 0.582660) < 1e-6)
        // Mean shape: first point -73.393523 mm, face about 150 mm wide; components are unit vectors.
        #expect(pdm.meanShape[0] == Float(-73.393523))
        let xs = pdm.meanShape[0..<68]
        #expect((140...160).contains(xs.max()! - xs.min()!))
        for j in 0..<34 {
            let norm = (0..<204).reduce(0.0) { $0 + Double(pdm.principalComponents[$1 * 34 + j] * pdm.principalComponents[$1 * 34 + j]) }
            #expect(abs(norm - 1) < 1e-4, "mode \(j) has squared norm \(norm)")
        }
    }

    /// CLNF's landmarks are its PDM's projection, so shape2D of the CSV's parameters must give the CSV's
    /// landmarks. Both are rounded in the CSV (landmarks to 0.1 px, parameters to 0.001), which bounds the
    /// agreement to about 0.05 px from the landmarks plus ~0.1 px from the rounded rotation and scale.
    @Test func shape2DOfReferenceParametersGivesReferenceLandmarks() throws {
        let pdm = try #require(Self.pdm)
        let reference = try OpenFaceReferenceFrames()
        var stats = ErrorStats()
        for frame in [1, 50, 100, 150, 200, 250, 288] {
            let shape = pdm.shape2D(global: reference.global(frame: frame), local: reference.local(frame: frame))
            for (p, q) in zip(shape, reference.landmarks(frame: frame)) {
                stats.add(Double(p.x - q.x)); stats.add(Double(p.y - q.y))
            }
        }
        print("shape2D(CSV params) vs CSV landmarks [px]: \(stats)")
        #expect(stats.max < 0.25, "shape2D vs CSV landmarks: \(stats)")
        #expect(stats.mean < 0.06, "shape2D vs CSV landmarks: \(stats)")
    }

    /// CalcParams on the CSV's landmarks recovers CLNF's parameters. It cannot do so exactly: the landmarks
    /// are rounded to 0.1 px, CLNF fitted with its own regularisation weight, and CalcParams stops on its
    /// 0.1 %-improvement rule after ~11 steps. Rigid parameters agree closely (translation to ~0.01 px);
    /// local parameters trade off against each other within a fraction of a mode's standard deviation.
    @Test func calcParamsRecoversReferenceParameters() throws {
        let pdm = try #require(Self.pdm)
        let reference = try OpenFaceReferenceFrames()
        var fitter = PDMFitter(pdm: pdm)
        var scale = ErrorStats(), rotation = ErrorStats(), translation = ErrorStats(), local = ErrorStats()
        var reprojection = ErrorStats(), iterations = ErrorStats(), inDeviations = ErrorStats()
        for frame in stride(from: 1, through: reference.frameCount, by: 10) {
            let landmarks = reference.landmarks(frame: frame)
            let fit = fitter.fit(landmarks: landmarks)
            let expected = reference.global(frame: frame)
            scale.add(Double(fit.global.scale - expected.scale))
            rotation.add(Double(fit.global.rx - expected.rx))
            rotation.add(Double(fit.global.ry - expected.ry))
            rotation.add(Double(fit.global.rz - expected.rz))
            translation.add(Double(fit.global.tx - expected.tx))
            translation.add(Double(fit.global.ty - expected.ty))
            for (j, (a, b)) in zip(fit.local, reference.local(frame: frame)).enumerated() {
                local.add(Double(a - b))
                inDeviations.add(Double(a - b) / Double(pdm.eigenValues[j]).squareRoot())
            }
            for (p, q) in zip(pdm.shape2D(global: fit.global, local: fit.local), landmarks) {
                reprojection.add(Double(p.x - q.x)); reprojection.add(Double(p.y - q.y))
            }
            iterations.add(Double(fit.iterations))
        }
        let report = "scale \(scale); rotation [rad] \(rotation); translation [px] \(translation); local \(local), in mode standard deviations \(inDeviations); reprojection [px] \(reprojection); iterations \(iterations)"
        print("CalcParams vs CSV params: \(report)")
        #expect(scale.max < 0.01 && scale.mean < 0.005, "\(report)")
        #expect(rotation.max < 0.015 && rotation.mean < 0.003, "\(report)")
        #expect(translation.max < 0.03 && translation.mean < 0.005, "\(report)")
        #expect(inDeviations.max < 1.0 && inDeviations.mean < 0.1, "\(report)")
        #expect(reprojection.max < 0.35 && reprojection.mean < 0.06, "\(report)")
    }

    /// The geometry descriptor is V·p (the shape's non-rigid displacement, 204 values) then p (34 values).
    @Test func geometryFeaturesAreDisplacementThenParameters() throws {
        let pdm = try #require(Self.pdm)
        let local = try OpenFaceReferenceFrames().local(frame: 100)
        var features = [Double](repeating: .nan, count: pdm.geometryFeatureCount)
        features.withUnsafeMutableBufferPointer { pdm.geometryFeatures(local: local, into: $0) }
        let shape = pdm.shape3D(local: local)
        var stats = ErrorStats()
        for i in 0..<204 { stats.add(features[i] - Double(shape[i] - pdm.meanShape[i])) }
        #expect(stats.max < 1e-4, "V·p vs shape3D − mean: \(stats)")
        #expect(Array(features[204...]) == local.map(Double.init))
    }

    @Test func corruptOrMissingModelFilesThrowNamingTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("visage-pdm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try String(contentsOf: OpenFaceReferenceFrames.pdmURL, encoding: .utf8)
        let cases: [(String, String)] = [
            ("truncated.txt", String(text.prefix(text.count / 2))),
            ("garbage.txt", text.replacingOccurrences(of: "-73.393523", with: "-73.39x523")),
            ("wrongsize.txt", text.replacingOccurrences(of: "204\n34\n6", with: "203\n34\n6")),
        ]
        for (name, contents) in cases {
            let url = dir.appendingPathComponent(name)
            try contents.write(to: url, atomically: true, encoding: .utf8)
            do {
                _ = try PointDistributionModel(contentsOf: url)
                Issue.record("\(name) was accepted")
            } catch let error as VisageError {
                #expect(error.description.contains(name), "\(error)")
            }
        }
        #expect(throws: VisageError.fileNotFound(path: dir.appendingPathComponent("none.txt").path)) {
            try PointDistributionModel(contentsOf: dir.appendingPathComponent("none.txt"))
        }
        let badTris = dir.appendingPathComponent("tris.txt")
        try "2\n3\n4\n1 2 3\n4 5\n".write(to: badTris, atomically: true, encoding: .utf8)
        #expect(throws: VisageError.self) { try FaceTriangulation(contentsOf: badTris) }
    }

    /// Timing only (no assertion): a CalcParams per frame.
    @Test func calcParamsTiming() throws {
        let pdm = try #require(Self.pdm)
        let reference = try OpenFaceReferenceFrames()
        var fitter = PDMFitter(pdm: pdm)
        let frames = (0..<20).map { reference.landmarks(frame: 1 + $0 * 14) }
        _ = fitter.fit(landmarks: frames[0])
        let clock = ContinuousClock()
        var iterations = 0
        let elapsed = clock.measure { for f in frames { iterations += fitter.fit(landmarks: f).iterations } }
        let perFit = elapsed / frames.count
        print("calcParams: \(perFit) per fit, \(iterations / frames.count) iterations on average (this build's optimisation level)")
    }
}
