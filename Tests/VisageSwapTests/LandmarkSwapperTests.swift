import Foundation
import Testing
import VisageCore
import VisageFace
import VisageMedia
import VisageSwap

@Suite struct LandmarkSwapperTests {
    static func analyzer() throws -> FaceAnalyzer {
        try FaceAnalyzer(detector: try DetectorFactory.make(model: DetectorFactory.defaultModel, store: SwapFixtures.store),
                         landmarker: try PFLDLandmarker.make(store: SwapFixtures.store), embedder: nil,
                         options: AnalysisOptions(pose: false))
    }

    @Test func swapChangesOnlyTheFaceRegion() throws {
        let analyzer = try Self.analyzer()
        var t = AnalysisTimings()
        let source = try ImageIO.read(SwapFixtures.media("images/face_recognition/obama.jpg"))
        let target = try ImageIO.read(SwapFixtures.media("images/face_recognition/biden.jpg"))
        let s = try #require(try analyzer.analyze(source, timings: &t).first?.landmarks)
        let face = try #require(try analyzer.analyze(target, timings: &t).first)
        let original = target.copy()
        try LandmarkSwapper().swap(source: source, sourceLandmarks: s, into: target, targetLandmarks: face.landmarks!)
        let bounds = Landmarks68.bounds(face.landmarks!)
        var inside = 0, outside = 0
        for y in stride(from: 0, to: target.height, by: 2) {
            for x in stride(from: 0, to: target.width, by: 2) {
                let changed = (0..<3).contains { abs(Int(target.byte(x: x, y: y, channel: $0)) - Int(original.byte(x: x, y: y, channel: $0))) > 8 }
                guard changed else { continue }
                let margin: Float = max(bounds.width, bounds.height) * 0.2
                if Float(x) > bounds.x1 - margin && Float(x) < bounds.x2 + margin && Float(y) > bounds.y1 - margin && Float(y) < bounds.y2 + margin { inside += 1 } else { outside += 1 }
            }
        }
        #expect(inside > 2000, "the face changed")
        #expect(outside == 0, "pixels outside the face region changed")
    }

    /// Identity effect, measured with SFace on deepface identity pairs: how much closer the swapped
    /// face is to the source identity than the original target was.
    @Test func swappedFacesMoveTowardTheSourceIdentity() throws {
        let analyzer = try Self.analyzer()
        let embedder = try FaceEmbedder.make(store: SwapFixtures.store)
        let detector = analyzer.detector
        var t = AnalysisTimings()
        // Source and target from different identity clusters (groundtruth/deepface/identity_clusters_derived.csv).
        let csv = try String(contentsOfFile: SwapFixtures.media("groundtruth/deepface/identity_clusters_derived.csv"), encoding: .utf8)
        var firstOfCluster: [String: String] = [:]
        for line in csv.split(whereSeparator: \.isNewline).dropFirst() {
            let f = line.split(separator: ",").map(String.init)
            if f.count == 2, firstOfCluster[f[1]] == nil { firstOfCluster[f[1]] = f[0] }
        }
        let people = firstOfCluster.keys.sorted().compactMap { firstOfCluster[$0] }
        let pairs = (0..<min(8, people.count - 1)).map { (people[$0], people[$0 + 1]) }
        var before: [Float] = [], after: [Float] = []
        for (s, g) in pairs {
            let source = try ImageIO.read(SwapFixtures.media("images/deepface/" + s))
            let target = try ImageIO.read(SwapFixtures.media("images/deepface/" + g))
            guard let sf = try analyzer.analyze(source, timings: &t).max(by: { $0.box.area < $1.box.area }),
                  let tf = try analyzer.analyze(target, timings: &t).max(by: { $0.box.area < $1.box.area }) else { continue }
            let sourceIdentity = try embedder.embed(source, keypoints: sf.keypoints)
            before.append(FaceEmbedder.similarity(sourceIdentity, try embedder.embed(target, keypoints: tf.keypoints)))
            try LandmarkSwapper().swap(source: source, sourceLandmarks: sf.landmarks!, into: target, targetLandmarks: tf.landmarks!)
            guard let swapped = try detector.detect(target).max(by: { $0.box.area < $1.box.area }) else { continue }
            after.append(FaceEmbedder.similarity(sourceIdentity, try embedder.embed(target, keypoints: swapped.keypoints)))
        }
        let meanBefore = before.reduce(0, +) / Float(before.count), meanAfter = after.reduce(0, +) / Float(after.count)
        print("landmark swap identity (SFace cosine to source): target before \(meanBefore), swapped \(meanAfter) over \(after.count) pairs; per pair before \(before) after \(after)")
        #expect(after.count >= 5)
        #expect(meanAfter > meanBefore + 0.15)
    }
}
