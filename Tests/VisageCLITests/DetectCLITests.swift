import Foundation
import Testing

@Suite struct DetectCLITests {
    @Test func findsTheSixFacesOfT1() throws {
        let r = try CLI.run(["detect", CLI.media("images/insightface/t1.jpg"), "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let results = try #require(r.json?["results"] as? [[String: Any]])
        let faces = try #require(results.first?["faces"] as? [[String: Any]])
        #expect(faces.count == 6)
        #expect(faces.allSatisfy { ($0["kps"] as? [[Double]])?.count == 5 })
        let scores = faces.compactMap { $0["score"] as? Double }
        #expect(scores == scores.sorted(by: >))
    }

    @Test(arguments: ["scrfd-500m", "scrfd-2.5g"])
    func scrfdFindsTheSixFacesToo(model: String) throws {
        let r = try CLI.run(["detect", CLI.media("images/insightface/t1.jpg"), "--json", "--model", model])
        #expect(r.status == 0, "\(r.stderr)")
        let faces = (r.json?["results"] as? [[String: Any]])?.first?["faces"] as? [[String: Any]]
        #expect(faces?.count == 6)
    }

    @Test func drawsAnAnnotatedImageAndPrintsFaces() throws {
        let out = try CLI.temporaryDirectory().appendingPathComponent("faces.png")
        let r = try CLI.run(["detect", "Samples/obama.jpg", "--draw", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("1 face"))
        #expect(FileManager.default.fileExists(atPath: out.path))
        #expect(r.stderr.contains("ONNX Runtime"))   // the startup banner
    }

    @Test func noFaceImageGivesZeroFaces() throws {
        let r = try CLI.run(["detect", CLI.media("images/skimage/coffee.png"), "--json"])
        #expect(r.status == 0)
        let faces = (r.json?["results"] as? [[String: Any]])?.first?["faces"] as? [[String: Any]]
        #expect(faces?.isEmpty == true)
    }

    /// ONNX Runtime's own telemetry (1.29+ on Linux: a device id and an event queue under the user's cache
    /// folder, an uploader) stays off: a run leaves nothing of it in a fresh home folder. The same run with
    /// VISAGE_ORT_TELEMETRY=1 shows whether this ONNX Runtime build collects any at all.
    @Test func onnxRuntimeTelemetryStaysOff() throws {
        let home = try CLI.temporaryDirectory().appendingPathComponent("home")
        let optedIn = try CLI.temporaryDirectory().appendingPathComponent("home")
        for folder in [home, optedIn] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        func env(_ folder: URL) -> [String: String] { ["HOME": folder.path, "XDG_CACHE_HOME": folder.appendingPathComponent(".cache").path] }
        let telemetryVariables = ["ORT_DISABLE_TELEMETRY", "ORT_TELEMETRY_DISABLED", "VISAGE_ORT_TELEMETRY"]
        let quiet = try CLI.run(["detect", "Samples/obama.jpg", "--json"], environment: env(home), removing: telemetryVariables)
        #expect(quiet.status == 0, "\(quiet.stderr)")
        let leftovers = FileManager.default.enumerator(atPath: home.path)?.allObjects as? [String] ?? []
        #expect(!leftovers.contains { $0.contains("onnxruntime") || $0.contains("Microsoft") }, "telemetry files: \(leftovers)")

        var asked = env(optedIn)
        asked["VISAGE_ORT_TELEMETRY"] = "1"
        let loud = try CLI.run(["detect", "Samples/obama.jpg", "--json"], environment: asked,
                               removing: ["ORT_DISABLE_TELEMETRY", "ORT_TELEMETRY_DISABLED"])
        #expect(loud.status == 0, "\(loud.stderr)")
        let written = FileManager.default.enumerator(atPath: optedIn.path)?.allObjects as? [String] ?? []
        print("ONNX Runtime telemetry when asked for: \(written.filter { $0.contains("onnxruntime") }.isEmpty ? "none (this build collects none)" : "writes \(written.filter { $0.contains("onnxruntime") })")")
    }
}
