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
}
