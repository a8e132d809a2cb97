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
            expectEquivalent(faces, entry.faces.map { ReferenceFace(box: $0.box, points: $0.kps, score: $0.score) },
                             boxIsCorners: true, label: "\(model) \(entry.image)")
            compared += min(faces.count, entry.faces.count)
        }
        #expect(compared > 40)
    }
}
