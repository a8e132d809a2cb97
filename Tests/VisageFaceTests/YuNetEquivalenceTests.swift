import Foundation
import Testing
import VisageCore
import VisageFace
import VisageMedia

/// Our YuNet against OpenCV's own FaceDetectorYN (score 0.9, NMS 0.3, input = image size; fixtures
/// from scripts/reference/scrfd_reference.py): same faces, boxes and landmarks within 1 px, scores within 1e-3.
@Suite struct YuNetEquivalenceTests {
    struct Reference: Decodable {
        struct Face: Decodable { let box: [Float]; let landmarks: [[Float]]; let score: Float }
        struct Entry: Decodable { let image: String; let faces: [Face] }
        struct YuNet: Decodable { let results: [Entry] }
        let yunet: YuNet
    }

    @Test func matchesOpenCVFaceDetectorYN() throws {
        let url = try #require(Bundle.module.url(forResource: "detector_reference", withExtension: "json", subdirectory: "Fixtures"))
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        // OpenCV runs at the full image size: lift our size cap above the largest fixture image.
        let options = DetectionOptions(scoreThreshold: 0.9, nmsThreshold: 0.3, maxInputSide: 5000, multiScale: false)
        let detector = try DetectorFactory.make(model: "yunet-2023mar", store: TestEnvironment.store, options: options)
        var compared = 0
        for entry in reference.yunet.results {
            let faces = try detector.detect(try ImageIO.read(TestEnvironment.media("images/" + entry.image)))
            expectEquivalent(faces, entry.faces.map { ReferenceFace(box: $0.box, points: $0.landmarks, score: $0.score) },
                             boxIsCorners: false, label: entry.image)
            compared += min(faces.count, entry.faces.count)
        }
        #expect(compared > 40)
    }
}
