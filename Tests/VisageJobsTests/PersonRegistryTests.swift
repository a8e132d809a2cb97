import Foundation
import Testing
import VisageCore
import VisageFace
import VisageJobs
import VisageMedia

/// People, not tracks, keep their id: a person who comes back on a new track is recognised (SFace),
/// someone new gets a new id, and two tracks found on one face merge.
@Suite struct PersonRegistryTests {
    @Test func aPersonWhoComesBackOnANewTrackKeepsTheirID() throws {
        let context = try JobFixtures.context(["yunet-2023mar", "sface-2021dec-int8bq"])
        let pipeline = FacePipeline(context: context)
        let detector = try pipeline.detector(DetectorFactory.defaultModel)
        let registry = PersonRegistry(embedder: try pipeline.embedder())
        let twoPeople = try ImageIO.read(JobFixtures.media("images/face_recognition/two_people.jpg"))
        let faces = try detector.detect(twoPeople).sorted { $0.box.x1 < $1.box.x1 }   // Obama left, Biden right
        #expect(faces.count == 2)
        func sighting(_ track: Int, _ face: DetectedFace) -> PersonRegistry.Sighting {
            .init(track: track, box: face.box, keypoints: face.keypoints)
        }
        // Frame 0: two tracks, two people.
        let first = try registry.persons([sighting(1, faces[0]), sighting(2, faces[1])], in: twoPeople, index: 0)
        #expect(Set(first).count == 2)
        // Frame 100 (long after: continuity cannot explain it): Obama is back on track 7, Biden stays on track 2.
        let later = try registry.persons([sighting(7, faces[0]), sighting(2, faces[1])], in: twoPeople, index: 100)
        #expect(later == first, "\(later) vs \(first)")
        // Someone new (another photo's face) gets an id nobody had.
        let astronaut = try ImageIO.read(JobFixtures.sample("astronaut.png"))
        let stranger = try #require(try detector.detect(astronaut).first)
        let third = try registry.persons([sighting(9, stranger)], in: astronaut, index: 200)
        #expect(!first.contains(third[0]))
        // A second track on a known face merges into the older track's person.
        registry.merge(track: 11, into: 2)
        #expect(try registry.persons([sighting(11, faces[1])], in: twoPeople, index: 201) == [first[1]])
    }
}
