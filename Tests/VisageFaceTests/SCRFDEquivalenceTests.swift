import Foundation
import Testing
import VisageCore
import VisageFace
import VisageMedia

/// Our SCRFD against insightface's own `SCRFD.detect` on the same models and images
/// (fixtures from scripts/reference/scrfd_reference.py): boxes and keypoints within 1 px, scores within 1e-3.
@Suite struct SCRFDEquivalenceTests {
    struct Reference: Decodable {
        struct Face: Decodable { let box: [Float]; let score: Float; let kps: [[Float]] }
        struct Entry: Decodable { let image: String; let width: Int; let height: Int; let faces: [Face] }
        struct SCRFD: Decodable { let results: [String: [Entry]] }
        let scrfd: SCRFD
    }

    static func reference() throws -> Reference {
        let url = try #require(Bundle.module.url(forResource: "detector_reference", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    @Test(arguments: ["scrfd-500m", "scrfd-2.5g"])
    func matchesInsightface(model: String) throws {
        let reference = try Self.reference()
        let entries = try #require(reference.scrfd.results[model])
        let detector = try DetectorFactory.make(model: model, store: TestEnvironment.store)
        var compared = 0
        for entry in entries {
            let image = try ImageIO.read(TestEnvironment.media("images/" + entry.image))
            #expect(image.width == entry.width && image.height == entry.height)
            let faces = try detector.detect(image)
            try #require(faces.count == entry.faces.count, "\(model) \(entry.image): \(faces.count) faces, insightface \(entry.faces.count)")
            for (ours, theirs) in zip(faces, entry.faces) {
                let box = [ours.box.x1, ours.box.y1, ours.box.x2, ours.box.y2]
                for (a, b) in zip(box, theirs.box) { #expect(abs(a - b) <= 1, "\(entry.image) box \(box) vs \(theirs.box)") }
                for (p, q) in zip(ours.keypoints, theirs.kps) {
                    #expect(abs(p.x - q[0]) <= 1 && abs(p.y - q[1]) <= 1, "\(entry.image) kps \(p) vs \(q)")
                }
                #expect(abs(ours.score - theirs.score) <= 1e-3, "\(entry.image) score \(ours.score) vs \(theirs.score)")
                compared += 1
            }
        }
        #expect(compared > 40)
    }
}
