import Foundation
import Testing
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime
@testable import VisageEnhance

/// Key frames, reuse between them, and what forces a new key frame.
@Suite struct TemporalCacheTests {
    static func temporal(_ policy: TemporalCachePolicy) throws -> TemporalFaceEnhancer {
        try TemporalFaceEnhancer(engine: try EnhanceEngineTests.engine(), policy: policy)
    }

    static func tracked(_ face: EnhanceFace, id: Int?, landmarks: [Point]? = nil) -> EnhanceFace {
        var f = face
        f.trackID = id
        f.landmarks = landmarks
        return f
    }

    @Test func everyNthFrameRunsTheNetworkAndReusedFramesMatchTheKeyFrame() throws {
        let temporal = try Self.temporal(.every(4))
        let image = try ImageIO.read(EnhanceFixtures.sample("obama.jpg"))
        let face = Self.tracked(EnhanceEngineTests.face(), id: 1)
        var decisions: [CacheDecision] = []
        var outputs: [Image] = []
        for _ in 0..<9 {
            let frame = image.copy()
            decisions += try temporal.enhance(frame, faces: [face])
            outputs.append(frame)
        }
        #expect(decisions == [.newTrack, .reused, .reused, .reused, .interval, .reused, .reused, .reused, .interval])
        #expect(temporal.statistics.modelRuns == 3 && temporal.statistics.reused == 6 && temporal.statistics.frames == 9)
        #expect(abs(temporal.statistics.savedFraction - 6.0 / 9) < 1e-9)
        // A still frame: the reused face is the key frame's, pasted through the same alignment.
        for output in outputs.dropFirst() { #expect(EnhanceFixtures.difference(output, outputs[0]).differing == 0) }
    }

    @Test func theCachedFaceFollowsTheHead() throws {
        let temporal = try Self.temporal(.every(8))
        let image = try ImageIO.read(EnhanceFixtures.sample("obama.jpg"))
        let first = image.copy()
        try temporal.enhance(first, faces: [Self.tracked(EnhanceEngineTests.face(), id: 3)])
        // The whole picture moves 13 px right and 7 px down, keypoints with it.
        let (dx, dy) = (13, 7)
        let moved = Image(width: image.width, height: image.height)
        for y in dy..<image.height {
            let src = image.baseAddress.advanced(by: (y - dy) * image.stride)
            moved.baseAddress.advanced(by: y * moved.stride + dx * 3).copyMemory(from: src, byteCount: (image.width - dx) * 3)
        }
        var face = EnhanceEngineTests.face()
        face.keypoints = face.keypoints.map { Point($0.x + Float(dx), $0.y + Float(dy)) }
        #expect(try temporal.enhance(moved, faces: [Self.tracked(face, id: 3)]) == [.reused])
        // The pasted face moved with the keypoints: same pixels one shift away (up to warp rounding).
        let a = try #require(first.region(x: 380, y: 120, width: 240, height: 280)).copy()
        let b = try #require(moved.region(x: 380 + dx, y: 120 + dy, width: 240, height: 280)).copy()
        let d = EnhanceFixtures.difference(a, b)
        // Bilinear positions are quantised to 1/32 px from different starting points: edges may move a level or few.
        #expect(d.worst <= 8 && d.overOne * 20 < 240 * 280 * 3, "moved face differs by up to \(d.worst) (\(d.overOne) samples over 1)")
    }

    @Test func motionNewTracksAndGapsForceKeyFrames() throws {
        let temporal = try Self.temporal(TemporalCachePolicy(interval: 100, adaptive: true, motionThreshold: 8))
        let image = try ImageIO.read(EnhanceFixtures.sample("obama.jpg"))
        let base = EnhanceEngineTests.face()
        // Dense landmarks: the 5 keypoints plus two mouth points that can open.
        func landmarks(mouthOpen: Float) -> [Point] {
            base.keypoints + [Point(497, 300 - mouthOpen / 2), Point(497, 330 + mouthOpen / 2)]
        }
        func step(_ faces: [EnhanceFace]) throws -> [CacheDecision] { try temporal.enhance(image.copy(), faces: faces) }
        #expect(try step([Self.tracked(base, id: 1, landmarks: landmarks(mouthOpen: 0))]) == [.newTrack])
        #expect(try step([Self.tracked(base, id: 1, landmarks: landmarks(mouthOpen: 2))]) == [.reused])
        // 12 px of mouth opening in the frame is ~14 px in a 512 crop: over the 8 px threshold.
        #expect(try step([Self.tracked(base, id: 1, landmarks: landmarks(mouthOpen: 12))]) == [.motion])
        #expect(try step([Self.tracked(base, id: 1, landmarks: landmarks(mouthOpen: 12))]) == [.reused])
        // The tracker hands the face a new id: key frame.
        #expect(try step([Self.tracked(base, id: 2, landmarks: landmarks(mouthOpen: 12))]) == [.newTrack])
        // A frame without the face, then it is back: its cache was dropped.
        #expect(try step([]) == [])
        #expect(try step([Self.tracked(base, id: 2, landmarks: landmarks(mouthOpen: 12))]) == [.newTrack])
        // Without a track id nothing can be reused.
        #expect(try step([Self.tracked(base, id: nil)]) == [.untracked])
        #expect(try step([Self.tracked(base, id: nil)]) == [.untracked])
        // Too small: skipped, the others still enhanced.
        #expect(try step([Self.tracked(EnhanceEngineTests.face(scale: 0.1), id: 9), Self.tracked(base, id: 2, landmarks: landmarks(mouthOpen: 12))]) == [.skipped, .newTrack])
    }

    @Test func theQualityFlagAndTheIntervalCanChangeMidStream() throws {
        let temporal = try Self.temporal(.every(2))
        let image = try ImageIO.read(EnhanceFixtures.sample("obama.jpg"))
        let face = Self.tracked(EnhanceEngineTests.face(), id: 1)
        func step() throws -> CacheDecision { try temporal.enhance(image.copy(), faces: [face])[0] }
        #expect(try [step(), step(), step()] == [.newTrack, .reused, .interval])
        temporal.policy.interval = 4   // the live controller raises N under load
        #expect(try [step(), step(), step(), step()] == [.reused, .reused, .reused, .interval])
        temporal.policy.enabled = false
        #expect(try [step(), step()] == [.disabled, .disabled])
        temporal.policy.interval = 0
        #expect(throws: VisageError.self) { try step() }
        temporal.reset()
        #expect(temporal.statistics.frames == 0)
    }

    @Test func onARealVideoWithTrackedFaces() throws {
        // The analyser the swap job uses (YuNet + PFLD, tracking ids) on the first frames of a real video,
        // with the GPEN-256 stand-in: the bookkeeping must add up frame by frame.
        let store = try EnhanceFixtures.store()
        func analyzer() throws -> FaceAnalyzer {
            try FaceAnalyzer(detector: try DetectorFactory.make(model: DetectorFactory.defaultModel, store: store),
                             landmarker: try PFLDLandmarker.make(store: store), embedder: nil,
                             options: AnalysisOptions(landmarks: true, pose: false, embeddings: false, detectEvery: 5))
        }
        let policies = [TemporalCachePolicy.every(4), TemporalCachePolicy(interval: 8, adaptive: true, motionThreshold: 8)]
        let video = EnhanceFixtures.media("video/openface/2015-10-15-15-14.avi")
        let rows = try EnhanceBenchmark.temporalCache(video: video, analyzer: try analyzer(), engine: try EnhanceEngineTests.engine(),
                                                      frames: 12, policies: policies)
        // Replaying the every-frame pass's network outputs on key frames changes nothing but the time spent.
        let replayed = try EnhanceBenchmark.temporalCache(video: video, analyzer: try analyzer(), engine: try EnhanceEngineTests.engine(),
                                                          frames: 12, policies: policies, replayKeyFrames: true)
        for (a, b) in zip(rows, replayed) {
            #expect(a.modelRuns == b.modelRuns && a.meanAbsDiff == b.meanAbsDiff && a.p99AbsDiff == b.p99AbsDiff && a.maxAbsDiff == b.maxAbsDiff)
        }
        #expect(replayed.dropFirst().allSatisfy(\.modelTimesReplayed) && !replayed[0].modelTimesReplayed)
        #expect(rows.count == 3)
        let every = rows[0], n4 = rows[1], adaptive = rows[2]
        #expect(every.frames == 12 && every.faces >= 12 && every.modelRuns == every.faces && every.maxAbsDiff == 0)
        #expect(n4.faces == every.faces && n4.modelRuns >= 3 && n4.modelRuns * 2 <= every.faces && n4.savedFraction >= 0.5)
        #expect(n4.maxAbsDiff > 0 && n4.meanAbsDiff < 10, "reused faces differ from fresh ones, but not wildly")
        #expect(adaptive.modelRuns >= 2 && adaptive.modelRuns <= every.faces)
        #expect(adaptive.decisions.values.reduce(0, +) == every.faces)
        for row in rows { print(EnhanceBenchmark.describe(row)) }
    }
}
