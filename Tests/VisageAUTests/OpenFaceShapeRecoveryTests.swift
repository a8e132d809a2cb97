import Foundation
import Testing
import VisageAU
import VisageCore

/// Restoring an OpenFace CSV's landmarks from its own PDM parameters (`OpenFaceShapeRecovery`).
@Suite struct OpenFaceShapeRecoveryTests {
    static func rounded(_ v: Float, _ step: Float) -> Float { (v / step).rounded() * step }

    /// A deterministic stand-in for OpenFace's unrounded parameters: the CSV's values moved anywhere
    /// inside their rounding interval.
    struct Jitter {
        var state: UInt64
        mutating func next(_ halfWidth: Float) -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * halfWidth
        }
    }

    /// Shapes built from real parameter sets (default.wmv's CSV rows), written the way FeatureExtraction
    /// writes them (landmarks %.1f, parameters %.3f), come back far closer to the unrounded shape than
    /// the written landmarks are.
    @Test func recoversUnroundedShapeFromWrittenParameters() throws {
        let pdm = try PointDistributionModel(contentsOf: OpenFaceReferenceFrames.pdmURL)
        let recovery = OpenFaceShapeRecovery(pdm: pdm)
        let reference = try OpenFaceReferenceFrames()
        var jitter = Jitter(state: 7)
        var writtenError = ErrorStats(), recoveredError = ErrorStats()
        for frame in stride(from: 1, through: reference.frameCount, by: 7) {
            let g = reference.global(frame: frame)
            let truth = PDMGlobalParameters(scale: g.scale + jitter.next(0.0005), rx: g.rx + jitter.next(0.0005), ry: g.ry + jitter.next(0.0005),
                                            rz: g.rz + jitter.next(0.0005), tx: g.tx + jitter.next(0.0005), ty: g.ty + jitter.next(0.0005))
            let local = reference.local(frame: frame).map { $0 + jitter.next(0.0005) }
            let exact = pdm.shape2D(global: truth, local: local)
            let n = exact.count
            var written = [Float](repeating: 0, count: 2 * n)
            for (i, p) in exact.enumerated() { written[i] = Self.rounded(p.x, 0.1); written[n + i] = Self.rounded(p.y, 0.1) }
            let writtenFit = PDMFit(global: PDMGlobalParameters(scale: Self.rounded(truth.scale, 0.001), rx: Self.rounded(truth.rx, 0.001),
                                                                ry: Self.rounded(truth.ry, 0.001), rz: Self.rounded(truth.rz, 0.001),
                                                                tx: Self.rounded(truth.tx, 0.001), ty: Self.rounded(truth.ty, 0.001)),
                                    local: local.map { Self.rounded($0, 0.001) })
            let recovered = try #require(recovery.recover(landmarks: written, fit: writtenFit), "frame \(frame) not recovered")
            for (i, p) in exact.enumerated() {
                writtenError.add(Double(written[i] - p.x)); writtenError.add(Double(written[n + i] - p.y))
                recoveredError.add(Double(recovered.landmarks[i] - p.x)); recoveredError.add(Double(recovered.landmarks[n + i] - p.y))
            }
            #expect(abs(recovered.fit.global.scale - truth.scale) < 0.0005 && abs(recovered.fit.global.rz - truth.rz) < 0.0005)
        }
        print("shape recovery: written landmarks rms \(writtenError.rms) px, recovered rms \(recoveredError.rms) px, max \(recoveredError.max) px")
        #expect(writtenError.rms > 0.025, "the written landmarks carry the 0.1 px rounding")
        #expect(recoveredError.rms < 0.008 && recoveredError.max < 0.04,
                "recovered rms \(recoveredError.rms), max \(recoveredError.max) px")
    }

    /// Landmarks that the parameters do not describe, or that are finer than OpenFace writes them, are
    /// used as written.
    @Test func leavesOtherLandmarksAsWritten() throws {
        let pdm = try PointDistributionModel(contentsOf: OpenFaceReferenceFrames.pdmURL)
        let recovery = OpenFaceShapeRecovery(pdm: pdm)
        let reference = try OpenFaceReferenceFrames()
        let frame = 100
        let fit = PDMFit(global: reference.global(frame: frame), local: reference.local(frame: frame))
        let points = reference.landmarks(frame: frame)
        let n = points.count
        var landmarks = [Float](repeating: 0, count: 2 * n)
        for (i, p) in points.enumerated() { landmarks[i] = p.x; landmarks[n + i] = p.y }
        #expect(recovery.recover(landmarks: landmarks, fit: fit) != nil, "OpenFace's own row")

        var edited = landmarks
        edited[30] += 1.0   // nose tip moved by hand
        #expect(recovery.recover(landmarks: edited, fit: fit) == nil)

        var finer = landmarks
        finer[5] += 0.03    // a tool that writes two decimals
        #expect(recovery.recover(landmarks: finer, fit: fit) == nil)

        #expect(recovery.recover(landmarks: Array(landmarks.prefix(100)), fit: fit) == nil)
    }

    /// `--landmarks-from` on OpenFace's CSV: every row restored, with the CSV's parameters as the model fit;
    /// a CSV without `p_*` columns is replayed as written.
    @Test func csvSourceRestoresRowsWithParameters() throws {
        let pdm = try PointDistributionModel(contentsOf: OpenFaceReferenceFrames.pdmURL)
        let path = OpenFaceReferenceFrames.csvPath
        let restored = try CSVLandmarkSource(contentsOf: path, recovery: OpenFaceShapeRecovery(pdm: pdm))
        #expect(restored.recoveredRows == 288 && restored.rowCount == 288)
        let face = try #require(restored.observe(Image(width: 1, height: 1, channels: 1), index: 0).first)
        let fit = try #require(face.modelFit)
        #expect(abs(fit.global.scale - 1.303) <= 0.0006 && abs(fit.local[0] - -16.861) < 1e-4)
        #expect(abs(face.landmarks[0] - 147.5) <= 0.05 && face.landmarks[0] != 147.5)

        let asWritten = try CSVLandmarkSource(contentsOf: path)
        #expect(asWritten.recoveredRows == 0)
        #expect(try asWritten.observe(Image(width: 1, height: 1, channels: 1), index: 0).first?.landmarks[0] == 147.5)

        // Only the landmark columns: nothing to restore from.
        let table = try OpenFaceCSVTable(contentsOf: path)
        let columns = (0..<68).map { "x_\($0)" } + (0..<68).map { "y_\($0)" }
        var text = columns.joined(separator: ", ") + "\n"
        let indices = try columns.map { try table.columnIndex($0) }
        text += indices.map { String(format: "%.1f", table.value(row: 0, column: $0)) }.joined(separator: ", ") + "\n"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("visage-recovery-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bare = dir.appendingPathComponent("landmarks.csv")
        try Data(text.utf8).write(to: bare)
        let plain = try CSVLandmarkSource(contentsOf: bare.path, recovery: OpenFaceShapeRecovery(pdm: pdm))
        #expect(plain.rowCount == 1 && plain.recoveredRows == 0)
        #expect(try plain.observe(Image(width: 1, height: 1, channels: 1), index: 0).first?.modelFit == nil)
    }
}
