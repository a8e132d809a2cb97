import Foundation
import Testing
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime
import VisageEnhance

/// The numbers of docs/ENHANCE.md, produced by the library's benchmark functions (what `visage bench enhance`
/// will print). Off unless VISAGE_BENCH_ENHANCE=1: the temporal-cache runs enhance hundreds of faces with the
/// 396-GFLOP GFPGAN twin (about 1.2 s each on 2 CPU cores). Speed targets are not asserted here.
///
///     VISAGE_BENCH_ENHANCE=1 VISAGE_BENCH_FRAMES=60 [VISAGE_BENCH_REPLAY=1] VISAGE_BENCH_OUT=/tmp/enhance-bench \
///       VISAGE_MODEL_MIRROR=../shared/models swift test --skip-build --filter EnhanceBenchmarkRun
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["VISAGE_BENCH_ENHANCE"] == "1"))
struct EnhanceBenchmarkRun {
    static let environment = ProcessInfo.processInfo.environment
    static var frames: Int { Int(environment["VISAGE_BENCH_FRAMES"] ?? "") ?? 60 }
    /// VISAGE_BENCH_REPLAY=1: the network runs only in the every-frame pass (see EnhanceBenchmark.temporalCache).
    static var replay: Bool { environment["VISAGE_BENCH_REPLAY"] == "1" }

    static func write<T: Encodable>(_ value: T, _ name: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(value)
        print(String(decoding: data, as: UTF8.self))
        if let dir = environment["VISAGE_BENCH_OUT"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try AtomicFile.write(to: URL(fileURLWithPath: dir).appendingPathComponent(name)) { try data.write(to: $0) }
        }
    }

    static func analyzer(_ store: ModelStore, detectEvery: Int = 5) throws -> FaceAnalyzer {
        try FaceAnalyzer(detector: try DetectorFactory.make(model: DetectorFactory.defaultModel, store: store,
                                                            options: DetectionOptions(maxInputSide: 640)),
                         landmarker: try PFLDLandmarker.make(store: store), embedder: nil,
                         options: AnalysisOptions(landmarks: true, pose: false, embeddings: false, detectEvery: detectEvery))
    }

    @Test func stagesOfOneFaceAt960x540OnOneCore() throws {
        let store = try EnhanceFixtures.store()
        let engine = try FaceEnhancementEngine(enhancer: try ONNXFaceEnhancer(modelPath: try EnhanceFixtures.gfpganTwin(), profile: .gfpgan14))
        var results: [EnhanceBenchmark.StageResult] = []
        let previousThreads = OpenCVInfo.threads
        OpenCVInfo.setThreads(1)
        defer { OpenCVInfo.setThreads(previousThreads) }
        // Three face sizes in a 960×540 frame: a group scene (small faces), a webcam-like face at half the
        // frame's height (the openface clip at half size, centred), and the same clip filling the frame.
        for (video, scale) in [("video/face_recognition/short_hamilton_clip.mp4", 1.0), ("video/openface/2015-10-15-15-14.avi", 0.5),
                               ("video/openface/2015-10-15-15-14.avi", 1.0)] {
            let reader = try VideoReader(path: EnhanceFixtures.media(video))
            let first = try #require(try reader.read())
            let frame: Image
            if scale == 1 {
                frame = try ImageOps.resize(first, width: 960, height: 540)
            } else {
                let small = try ImageOps.resize(first, width: Int(960 * scale), height: Int(540 * scale))
                frame = Image(width: 960, height: 540)
                let x0 = (960 - small.width) / 2, y0 = (540 - small.height) / 2
                for y in 0..<small.height {
                    frame.baseAddress.advanced(by: (y0 + y) * frame.stride + 3 * x0)
                        .copyMemory(from: small.baseAddress.advanced(by: y * small.stride), byteCount: small.rowBytes)
                }
            }
            var timings = AnalysisTimings()
            let faces = try Self.analyzer(store).analyze(frame, timings: &timings)
            let face = try #require(faces.max { $0.box.area < $1.box.area })
            let result = try EnhanceBenchmark.stages(engine: engine, frame: frame,
                                                     face: EnhanceFace(keypoints: face.keypoints, box: face.box), modelRuns: 3, compositeRuns: 200)
            print(String(format: "%@ (x%.1f) 960x540, eyes %.0f px, region %@ (medians, one core, CPU ms): align %.2f, paste-back %.2f, blend %.3f, paste+blend %.2f (wall %.2f); model %.0f ms wall, %.0f ms CPU (%.0f GFLOP/s wall, %.1f GFLOP per CPU-second)",
                         video, scale, result.eyeDistance, "\(result.pasteRegion.map { "\($0.width)x\($0.height)" } ?? "-")",
                         result.alignCPU.median, result.pasteBackCPU.median, result.blendCPU.median, result.compositeCPU.median,
                         result.compositeWall.median, result.modelWall.median, result.modelProcessCPU.median,
                         result.gflopPerSecondWall ?? 0, result.gflopPerCPUSecond ?? 0))
            results.append(result)
        }
        try Self.write(results, "enhance-stages.json")
    }

    @Test func temporalCacheOnTwoVideos() throws {
        let store = try EnhanceFixtures.store()
        let engine = try FaceEnhancementEngine(enhancer: try ONNXFaceEnhancer(modelPath: try EnhanceFixtures.gfpganTwin(), profile: .gfpgan14))
        var rows: [EnhanceBenchmark.CacheRow] = []
        for video in ["video/openface/2015-10-15-15-14.avi", "video/face_recognition/short_hamilton_clip.mp4"] {
            rows += try EnhanceBenchmark.temporalCache(
                video: EnhanceFixtures.media(video), analyzer: try Self.analyzer(store), engine: engine, frames: Self.frames,
                policies: [.every(2), .every(4), .every(8), TemporalCachePolicy(interval: 8, adaptive: true, motionThreshold: 8)],
                replayKeyFrames: Self.replay, progress: { print($0) })
        }
        try Self.write(rows, "enhance-temporal-cache.json")
    }

    /// The cache's own error: the same runs with a restorer that returns its input (StandInModels.identity),
    /// so a reused face differs from a fresh one only by what moved since its key frame. The GFPGAN twin's
    /// random weights make its output jump between unrelated colour fields from one frame to the next,
    /// which measures the twin, not the cache.
    @Test func temporalCacheErrorWithAnIdentityRestorer() throws {
        let store = try EnhanceFixtures.store()
        let engine = try FaceEnhancementEngine(enhancer: try ONNXFaceEnhancer(modelPath: try StandInModels.identity(size: 512), profile: .gfpgan14))
        var rows: [EnhanceBenchmark.CacheRow] = []
        let frames = Int(Self.environment["VISAGE_BENCH_IDENTITY_FRAMES"] ?? "") ?? 120
        for video in ["video/openface/2015-10-15-15-14.avi", "video/face_recognition/short_hamilton_clip.mp4"] {
            rows += try EnhanceBenchmark.temporalCache(
                video: EnhanceFixtures.media(video), analyzer: try Self.analyzer(store), engine: engine, frames: frames,
                policies: [.every(2), .every(4), .every(8), TemporalCachePolicy()]
                    + [8.0, 16, 32].map { TemporalCachePolicy(interval: 8, adaptive: true, motionThreshold: $0) },
                progress: { print($0) })
        }
        try Self.write(rows, "enhance-temporal-cache-identity.json")
    }
}
