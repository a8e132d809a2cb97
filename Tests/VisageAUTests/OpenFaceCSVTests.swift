import Foundation
import Testing
import VisageAU

@Suite struct OpenFaceCSVTests {
    static let referenceCSV = AUTestEnvironment.reference.appendingPathComponent("default/default.csv").path

    @Test func headerIsOpenFaceFeatureExtractionHeader() throws {
        let text = try String(contentsOfFile: Self.referenceCSV, encoding: .utf8)
        let header = String(text.prefix { $0 != "\n" })
        let layout = OpenFaceCSVLayout.openFaceDefault
        #expect(layout.columns.count == 714)
        #expect(layout.header == header)
    }

    @Test func fixedDecimalMatchesCFormatting() {
        let values: [Double] = [0, -0.0, 0.005, -0.004, 0.125, 0.135, 1.0049999, 2.675, 123456.789, -59.25, 0.0000004,
                                377.55, 1e-9, -1e-9, 99.995, 0.045]
        for v in values {
            for d in [0, 1, 2, 3, 6] {
                #expect(FixedDecimal.string(v, decimals: d) == String(format: "%.\(d)f", v), "\(v) with \(d) decimals")
            }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20000 {
            let v = Double.random(in: -500...500, using: &generator)
            let d = Int.random(in: 0...6, using: &generator)
            #expect(FixedDecimal.string(v, decimals: d) == String(format: "%.\(d)f", v))
        }
    }

    /// Reading OpenFace's own CSV and writing it back through our writer gives the same bytes:
    /// columns, order, precisions, signs and the offline AU pass all match RecorderCSV.
    @Test func roundTripReproducesOpenFaceBytes() throws {
        let table = try OpenFaceCSVTable(contentsOf: Self.referenceCSV)
        let layout = OpenFaceCSVLayout.openFaceDefault
        let columns = layout.columns
        let idx = try columns.map { try table.columnIndex($0) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("visage-csv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.csv")
        let writer = try OpenFaceCSVWriter(destination: out, layout: layout, auMode: .offline)
        var aus: [([Double], [Double])] = []
        for r in 0..<table.rowCount {
            let v = idx.map { table.value(row: r, column: $0) }
            var rec = OpenFaceRecord(frame: Int(v[0]), faceID: Int(v[1]), timestamp: v[2], layout: layout)
            rec.confidence = v[3]
            rec.success = v[4] != 0
            var k = 5
            func take(_ n: Int) -> [Float] { defer { k += n }; return v[k..<k + n].map { Float($0) } }
            rec.gaze = take(8)
            rec.eyeLandmarks2D = take(112)
            rec.eyeLandmarks3D = take(168)
            rec.pose = take(6)
            rec.landmarks2D = take(136)
            rec.landmarks3D = take(204)
            rec.globalParameters = take(6)
            rec.localParameters = take(34)
            aus.append((Array(v[k..<k + 17]), Array(v[k + 17..<k + 35])))
            try writer.append(rec)
        }
        #expect(!FileManager.default.fileExists(atPath: out.path), "nothing at the destination before finish")
        try writer.finish { aus[$0] }
        let ours = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        let theirs = try String(contentsOfFile: Self.referenceCSV, encoding: .utf8).split(separator: "\n")
        #expect(ours.count == theirs.count)
        var differing = 0
        for (a, b) in zip(ours, theirs) where a != b { differing += 1 }
        #expect(differing == 0, "\(differing) of \(theirs.count) lines differ")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(leftovers == ["out.csv"], "temporary files left: \(leftovers)")
    }

    @Test func landmarkTrackReadsReferenceLandmarks() throws {
        let track = try OpenFaceLandmarkTrack(contentsOf: Self.referenceCSV)
        #expect(track.entries.count == 288)
        #expect(track.entries[0].frame == 1 && track.entries[0].success)
        #expect(abs(track.entries[0].landmarks[0] - 147.5) < 1e-4 && abs(track.entries[0].landmarks[68] - 219.1) < 1e-4)
    }

    @Test func rejectsFilesThatAreNotOpenFaceCSVs() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("visage-csv-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.csv")
        try Data("a,b\n1,2\n".utf8).write(to: bad)
        #expect(throws: (any Error).self) { try OpenFaceLandmarkTrack(contentsOf: bad.path) }
        let ragged = dir.appendingPathComponent("ragged.csv")
        try Data("x_0,y_0\n1\n".utf8).write(to: ragged)
        #expect(throws: (any Error).self) { try OpenFaceCSVTable(contentsOf: ragged.path) }
        #expect(throws: (any Error).self) { try OpenFaceCSVTable(contentsOf: dir.appendingPathComponent("missing.csv").path) }
    }
}
