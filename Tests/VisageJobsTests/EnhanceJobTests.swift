import Foundation
import Testing
import VisageCore
import VisageEnhance
import VisageFace
import VisageJobs
import VisageLive
import VisageMedia
import VisageRuntime

/// The enhancer as a job option: what front ends install first, the names the server decodes, and how
/// the live controller drives the temporal cache.
@Suite struct EnhanceJobTests {
    /// Without an enhancer nothing changes; with one, its model is required (so the CLI installs it and the
    /// server reports it missing), unless a file was given.
    @Test func requiredModelsIncludeTheEnhancerWhenAskedFor() throws {
        var swap = SwapJob(source: "s.jpg", target: "t.jpg", output: "o.png")
        #expect(!swap.requiredModels.contains("gfpgan-1.4"))
        swap.enhancer = "gfpgan-1.4"
        #expect(swap.requiredModels.contains("gfpgan-1.4"))
        swap.enhancerModel = "/some/file.onnx"
        #expect(!swap.requiredModels.contains("gfpgan-1.4"))

        var live = LiveJob(input: "0")
        #expect(!live.requiredModels.contains("codeformer"))
        live.enhancer = "codeformer"
        #expect(live.requiredModels.contains("codeformer"))

        let enhance = EnhanceJob(input: "a.jpg", output: "b.png")
        #expect(enhance.requiredModels.contains("gfpgan-1.4") && enhance.requiredModels.contains("pfld-68"))
        // An empty store: the enhancer is among what a front end reports missing.
        let empty = ModelStore(root: try JobFixtures.temporaryDirectory())
        #expect(try RequiredModels.missing(swap.requiredModels + ["gpen-bfr-512"], store: empty).contains("gpen-bfr-512"))
        #expect(try RequiredModels.missing(enhance.requiredModels, store: empty).contains("gfpgan-1.4"))
    }

    /// The server decodes the same job from JSON with the command line's names; defaults are FaceFusion's.
    @Test func jobsDecodeTheCommandLineNames() throws {
        let swap = try JSONDecoder().decode(SwapJob.self, from: Data("""
            {"source": "s.jpg", "target": "t.mp4", "output": "o.mp4", "enhancer": "gfpgan-1.4", "enhance-blend": 0.5,
             "enhance-every": 2, "enhance-motion": 0}
            """.utf8))
        #expect(swap.enhancer == "gfpgan-1.4" && swap.enhanceBlend == 0.5 && swap.enhanceEvery == 2 && swap.enhanceMotion == 0)
        #expect(swap.enhancerSetup?.policy == TemporalCachePolicy(enabled: true, interval: 2, adaptive: false, motionThreshold: 0))
        let plain = try JSONDecoder().decode(SwapJob.self, from: Data(#"{"source": "s.jpg", "target": "t.jpg", "output": "o.png"}"#.utf8))
        #expect(plain.enhancer == nil && plain.enhancerSetup == nil)

        let enhance = try JSONDecoder().decode(EnhanceJob.self, from: Data(#"{"input": "a.mp4", "output": "b.mp4", "faces": "largest", "enhance-every": 1}"#.utf8))
        #expect(enhance.faces == .largest && enhance.blend == 0.8 && enhance.model == "gfpgan-1.4")
        #expect(enhance.setup.policy == .everyFrame)
        let again = try JSONDecoder().decode(EnhanceJob.self, from: try JSONEncoder().encode(enhance))
        #expect(again.faces == .largest && again.every == 1 && again.input == "a.mp4")
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(EnhanceJob.self, from: Data(#"{"input": "a.jpg", "output": "b.png", "faces": "some"}"#.utf8))
        }
    }

    /// Ranges are checked once for every job, with the option's name and range in the message.
    @Test func rangesAreCheckedForEveryJob() {
        var swap = SwapJob(source: "s.jpg", target: "t.jpg", output: "o.png")
        swap.enhanceBlend = 1.2
        #expect(throws: VisageError.invalidArgument("enhance-blend must be from 0 to 1 (got 1.2)")) { try swap.validateOptions() }
        var enhance = EnhanceJob(input: "a.jpg", output: "b.png")
        enhance.every = 101
        #expect(throws: VisageError.invalidArgument("enhance-every must be from 1 to 100 (got 101)")) { try enhance.validateOptions() }
        enhance.every = 4
        enhance.model = "inswapper-128"
        #expect(throws: VisageError.self) { try enhance.validateOptions() }
        var live = LiveJob(input: "0")
        live.enhancer = "gfpgan-1.4"
        live.enhanceMotion = -1
        #expect(throws: VisageError.invalidArgument("enhance-motion must be from 0 to 512 (got -1.0)")) { try live.validateOptions() }
    }

    /// `EnhanceJob` on a video, run as a front end runs it: progress per frame under the "enhance" stage, and
    /// a cancel stops it within a frame, leaving no output (filled GFPGAN twin, one face, so one network run).
    @Test func aCancelledEnhanceJobStopsWithinAFrameAndLeavesNoOutput() throws {
        let twin = JobFixtures.repository.appendingPathComponent(".deps/twins/GFPGANv1.4_twin.onnx").path
        try #require(FileManager.default.fileExists(atPath: twin), "run scripts/setup-twins.sh (make test does)")
        let dir = try JobFixtures.temporaryDirectory()
        var job = EnhanceJob(input: JobFixtures.media("video/openface/2015-10-15-15-14.avi"), output: dir.appendingPathComponent("out.mp4").path)
        job.enhancerModel = twin
        let token = CancellationToken()
        let events = Locked<[JobProgress]>([])
        let context = try JobFixtures.context(job.requiredModels, cancellation: token) { p in
            events.withLock { $0.append(p) }
            if p.done >= 2 { token.cancel() }
        }
        #expect(throws: VisageError.cancelled) { try job.run(in: context) }
        let seen = events.value
        #expect(seen.allSatisfy { $0.stage == "enhance" } && (seen.last?.done ?? 0) == 2, "\(seen.map(\.done))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    /// The live controller raises the cache's interval as it detects less often (and skips frames); quality
    /// mode turns the cache off.
    @Test func liveEnhancementFollowsTheController() throws {
        let engine = try FaceEnhancementEngine(enhancer: PassThroughEnhancer())
        let live = LiveEnhancement(temporal: try TemporalFaceEnhancer(engine: engine, policy: TemporalCachePolicy(interval: 4)),
                                   baseDetectEvery: 3, cache: true)
        #expect(live.interval(for: QualitySettings(detectEvery: 3, detectorSide: 640)) == 4)
        #expect(live.interval(for: QualitySettings(detectEvery: 5, detectorSide: 640)) == 8)
        #expect(live.interval(for: QualitySettings(detectEvery: 12, detectorSide: 320, scale: 0.5, skip: 2)) == 32)
        let quality = LiveEnhancement(temporal: try TemporalFaceEnhancer(engine: engine), baseDetectEvery: 1, cache: false)
        #expect(quality.temporal.policy.enabled == false)
    }
}

/// Returns its input: only the cache's interval rule is under test here, not a network.
private final class PassThroughEnhancer: FaceEnhancer, @unchecked Sendable {
    let profile = EnhancerProfile.gfpgan14
    func restore(_ crop: Image, fidelity: Double) throws -> Image { crop.copy() }
}
