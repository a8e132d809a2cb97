import Foundation
import VisageCore
import VisageFace

/// 68 landmarks from our detector + PFLD, with tracking between detections (`--landmarks pfld`).
public final class PFLDLandmarkSource: AULandmarkSource {
    public let name = "pfld"
    public let analyzer: FaceAnalyzer
    public var timings = AnalysisTimings()
    private let registry: PersonRegistry?

    /// - Parameters:
    ///   - analyzer: detection + PFLD with tracking (its own: tracking state is per stream).
    ///   - reidentify: an SFace embedder for `--multi-face` (people keep their face_id across tracks).
    public init(analyzer: FaceAnalyzer, reidentify embedder: FaceEmbedder? = nil) {
        self.analyzer = analyzer
        registry = embedder.map(PersonRegistry.init)
    }

    public func observe(_ frame: Image, index: Int) throws -> [AUFaceObservation] {
        var faces = try analyzer.analyzeNext(frame, timings: &timings).faces.filter { $0.landmarks != nil }
        guard let registry else {
            return faces.map { AUFaceObservation(faceID: $0.id ?? 0, points: $0.landmarks!, confidence: Double($0.score)) }
        }
        // Two tracks on one face (a drifting track and a fresh detection): keep the newer one,
        // under the older one's person.
        faces.sort { ($0.id ?? 0) > ($1.id ?? 0) }
        var kept: [AnalyzedFace] = []
        for face in faces {
            if let twin = kept.first(where: { $0.box.iou(face.box) > 0.3 }) {
                if let track = twin.id, let older = face.id { registry.merge(track: track, into: older) }
                continue
            }
            kept.append(face)
        }
        let persons = try registry.persons(kept.map { PersonRegistry.Sighting(track: $0.id ?? 0, box: $0.box, keypoints: $0.keypoints) },
                                           in: frame, index: index)
        return zip(kept, persons).map { face, person in
            AUFaceObservation(faceID: person, points: face.landmarks!, confidence: Double(face.score))
        }
    }

    /// Independent photos: every face of `image`, detected afresh (never tracked from the previous photo).
    public func observePhoto(_ image: Image) throws -> [AUFaceObservation] {
        var photoTimings = AnalysisTimings()
        return try analyzer.analyze(image, timings: &photoTimings).enumerated().compactMap { k, face in
            face.landmarks.map { AUFaceObservation(faceID: k, points: $0, confidence: Double(face.score)) }
        }
    }
}
