import Foundation
import VisageCore

/// Multi-face: people, not tracks, get face_ids. A track that starts is matched to someone no longer
/// visible, by identity (SFace) or, when motion blur spoils the embedding, by continuity (lost moments
/// ago, close by). Shared by the PFLD and CLNF landmark sources of the AU stage.
public final class PersonRegistry {
    public struct Sighting: Sendable {
        public var track: Int
        public var box: Box
        public var keypoints: [Point]
        public init(track: Int, box: Box, keypoints: [Point]) { self.track = track; self.box = box; self.keypoints = keypoints }
    }
    private let embedder: FaceEmbedder
    private var personOfTrack: [Int: Int] = [:]
    private struct Person { var id: Int; var embeddings: [[Float]]; var lastFrame: Int; var lastBox: Box }
    private var people: [Person] = []

    public init(embedder: FaceEmbedder) { self.embedder = embedder }

    /// Lets a new track inherit an older track's person (two tracks that were one face).
    public func merge(track: Int, into older: Int) {
        if let person = personOfTrack[older], personOfTrack[track] == nil { personOfTrack[track] = person }
    }

    /// The person of each sighting (same order). Sightings are processed oldest track first.
    public func persons(_ sightings: [Sighting], in frame: Image, index: Int) throws -> [Int] {
        var present = Set(sightings.compactMap { personOfTrack[$0.track] })
        var result = [Int](repeating: 0, count: sightings.count)
        for k in sightings.indices.sorted(by: { sightings[$0].track < sightings[$1].track }) {
            let sighting = sightings[k]
            let person = try personOfTrack[sighting.track] ?? assign(sighting, in: frame, index: index, taken: present)
            personOfTrack[sighting.track] = person
            present.insert(person)
            if let p = people.firstIndex(where: { $0.id == person }) { people[p].lastFrame = index; people[p].lastBox = sighting.box }
            result[k] = person
        }
        return result
    }

    private func assign(_ sighting: Sighting, in frame: Image, index: Int, taken: Set<Int>) throws -> Int {
        let embedding = try embedder.embed(frame, keypoints: sighting.keypoints)
        let absent = people.indices.filter { !taken.contains(people[$0].id) }
        let byIdentity = absent.map { k in (k, people[k].embeddings.map { FaceEmbedder.similarity(embedding, $0) }.max() ?? -1) }
            .max { $0.1 < $1.1 }
        if let (k, similarity) = byIdentity, similarity >= embedder.profile.threshold {
            people[k].embeddings.append(embedding)
            return people[k].id
        }
        let size = max(sighting.box.width, sighting.box.height)
        let nearby = absent.filter { index - people[$0].lastFrame <= 30 }
            .map { k in (k, Self.distance(people[k].lastBox, sighting.box)) }
            .filter { $0.1 <= 2.5 * size }
            .min { $0.1 < $1.1 }
        if let (k, _) = nearby {
            people[k].embeddings.append(embedding)
            return people[k].id
        }
        let id = (people.map(\.id).max() ?? -1) + 1
        people.append(Person(id: id, embeddings: [embedding], lastFrame: index, lastBox: sighting.box))
        return id
    }

    private static func distance(_ a: Box, _ b: Box) -> Float {
        let dx = (a.x1 + a.x2 - b.x1 - b.x2) / 2, dy = (a.y1 + a.y2 - b.y1 - b.y2) / 2
        return (dx * dx + dy * dy).squareRoot()
    }
}
