import ArgumentParser
import Foundation
import VisageCore
import VisageFace
import VisageLive
import VisageMedia
import VisageRuntime

struct BenchLive: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "End-to-end FPS and capture→output latency of the live pipeline, sequential (one thread, no overlap) vs pipelined, per workload; or a memory soak with --duration.")

    @Option(help: "Video to run (read as fast as it decodes; nothing is dropped).")
    var source: String

    @Option(help: "Comma-separated: detect, au, landmark, inswapper.")
    var workloads: String = "detect,au,landmark,inswapper"

    @Option(help: "Frames per run.")
    var frames: Int = 150

    @Option(help: "Soak: loop the video for this many seconds (pipelined, first workload) and report resident memory each minute.")
    var duration: Double?

    @Option(help: "Soak: seconds between memory samples.")
    var sampleEvery: Double = 60

    @Option(help: "performance | balanced | quality | battery (its settings are held fixed).")
    var mode: String = "balanced"

    @Option(help: "Photo whose face is swapped in (default: Samples/obama.jpg).")
    var swapFace: String = "Samples/obama.jpg"

    @Option(help: "inswapper workload: swap model (default: the inswapper twin in .deps/twins).")
    var swapModel: String = ".deps/twins/inswapper_128_twin.onnx"

    @Option(help: "inswapper workload: ArcFace model (default: the ArcFace twin in .deps/twins).")
    var recognizerModel: String = ".deps/twins/w600k_r50_twin.onnx"

    @Option(help: "Pipelined runs: ONNX Runtime threads per model (0: one per core, as `visage live` runs).")
    var pipelinedThreads: Int = 0

    @Flag(help: "Print JSON on stdout.")
    var json = false

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard frames >= 10 else { throw ValidationError("--frames must be at least 10") }
        let known: Set<String> = ["detect", "au", "landmark", "inswapper"]
        let asked = workloads.split(separator: ",").map(String.init)
        guard !asked.isEmpty, asked.allSatisfy(known.contains) else { throw ValidationError("--workloads takes detect, au, landmark, inswapper") }
    }

    func run() throws {
        let liveMode = try LiveMode.named(mode)
        try ImageIO.checkReadableFile(source)
        let store = ModelStore()
        let asked = workloads.split(separator: ",").map(String.init)
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("visage-bench-live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temp) }

        func work(_ name: String, threads: Int, width: Int, height: Int) throws -> FaceWork {
            var config = try LiveSetup.sessionConfig(runtime, mode: liveMode)
            config.intraOpThreads = threads
            var swap: LiveSetup.SwapChoice?
            if name == "landmark" { swap = .init(face: swapFace) }
            if name == "inswapper" { swap = .init(face: swapFace, swapper: "inswapper", swapModel: swapModel, recognizerModel: recognizerModel) }
            let csv = name == "au" ? temp.appendingPathComponent("au-\(UUID().uuidString).csv") : nil
            return try LiveSetup.makeWork(detector: DetectorFactory.defaultModel, mode: liveMode, settings: QualitySettings.ladder(for: liveMode)[0],
                                          swap: swap, auCSV: csv, multiFace: false, manyFaces: false, frameWidth: width, frameHeight: height,
                                          store: store, config: config)
        }

        if let duration {
            try soak(asked[0], seconds: duration, mode: liveMode, work: work)
            return
        }
        var rows: [[String: Any]] = []
        var lines: [String] = []
        let defaultOpenCVThreads = OpenCVInfo.threads
        for name in asked {
            if name == "inswapper" && !(FileManager.default.fileExists(atPath: swapModel) && FileManager.default.fileExists(atPath: recognizerModel)) {
                lines.append("\(name): skipped (no \(swapModel) / \(recognizerModel); run scripts/setup-twins.sh)")
                continue
            }
            var result: [String: Any] = ["workload": name]
            var fps: [Bool: Double] = [:]
            for pipelined in [false, true] {
                // Sequential is literally one thread: one ONNX Runtime thread, OpenCV single-threaded, no overlap.
                OpenCVInfo.setThreads(pipelined ? defaultOpenCVThreads : 1)
                let src = try VideoFileSource(path: source, realtime: false, loop: true)
                let size = LivePipeline.outputSize(of: src, mode: liveMode)
                let w = try work(name, threads: pipelined ? pipelinedThreads : 1, width: size.width, height: size.height)
                // Warm-up: the first frames pay for lazy initialisation (ORT arenas, detector sizes).
                var warmUp = LiveConfiguration(mode: liveMode, pipelined: pipelined, adaptive: false, maxFrames: 10)
                warmUp.finishesWork = false
                _ = try LivePipeline(source: try VideoFileSource(path: source, realtime: false, loop: true), work: w, outputs: [],
                                     configuration: warmUp, shouldStop: { Interrupt.requested }).run()
                let report = try LivePipeline(source: src, work: w, outputs: [],
                                              configuration: LiveConfiguration(mode: liveMode, pipelined: pipelined, adaptive: false, maxFrames: frames),
                                              shouldStop: { Interrupt.requested }).run()
                try Interrupt.check()
                fps[pipelined] = report.fps
                result[pipelined ? "pipelined" : "sequential"] = [
                    "fps": Stats.r(report.fps), "latency_median_ms": Stats.r(report.latencyMedianMs), "latency_p90_ms": Stats.r(report.latencyP90Ms),
                    "frames": report.output, "stage_mean_ms": ["capture": Stats.r(report.stageMeanMs[0]), "detect": Stats.r(report.stageMeanMs[1]),
                                                               "process": Stats.r(report.stageMeanMs[2]), "output": Stats.r(report.stageMeanMs[3])],
                ]
                lines.append(String(format: "%-10@ %-10@ %6.1f fps  latency median %6.1f ms  p90 %6.1f ms  (ms/frame: capture %.1f, detect %.1f, process %.1f)",
                                    name, pipelined ? "pipelined" : "sequential", report.fps, report.latencyMedianMs, report.latencyP90Ms,
                                    report.stageMeanMs[0], report.stageMeanMs[1], report.stageMeanMs[2]))
            }
            OpenCVInfo.setThreads(defaultOpenCVThreads)
            let ratio = (fps[true] ?? 0) / max(fps[false] ?? 1, 1e-9)
            result["speedup"] = Stats.r(ratio)
            lines.append(String(format: "%-10@ pipelined / sequential = %.2fx", name, ratio))
            rows.append(result)
        }
        let header = "bench live: \(URL(fileURLWithPath: source).lastPathComponent), \(frames) frames per run, mode \(liveMode.name), \(Platform.cpuModel) (\(Platform.logicalCores) cores)"
        if json {
            try JSONOutput.print(["benchmark": "live", "source": source, "frames": frames, "mode": liveMode.name, "workloads": rows,
                                  "pipelined_threads_per_model": pipelinedThreads, "cpu": Platform.cpuModel, "cores": Platform.logicalCores])
        } else {
            print(header)
            lines.forEach { print($0) }
        }
    }

    /// Loops the video through the pipelined workload for `seconds`; resident memory every `sampleEvery` s.
    func soak(_ name: String, seconds: Double, mode: LiveMode, work: (String, Int, Int, Int) throws -> FaceWork) throws {
        let src = try VideoFileSource(path: source, realtime: false, loop: true)
        let size = LivePipeline.outputSize(of: src, mode: mode)
        let w = try work(name, pipelinedThreads, size.width, size.height)
        let configuration = LiveConfiguration(mode: mode, pipelined: true, adaptive: true, duration: seconds,
                                              statsInterval: sampleEvery, memorySampleInterval: sampleEvery)
        let report = try LivePipeline(source: src, work: w, outputs: [], configuration: configuration, onStats: { snapshot in
            FileHandle.standardError.write(Data((snapshot.line + String(format: " | rss %.1f MB", snapshot.residentMB) + "\n").utf8))
        }).run()
        let samples = report.memory
        let atMinute1 = samples.first { $0.0 >= 59 }?.1 ?? samples.first?.1 ?? 0
        let last = samples.last?.1 ?? 0
        let change = atMinute1 > 0 ? (last - atMinute1) / atMinute1 * 100 : 0
        if json {
            let rss: [[Double]] = samples.map { [Stats.r($0.0), Stats.r($0.1)] }
            let decisions: [String] = report.decisions.map { $0.message }
            var result: [String: Any] = ["benchmark": "live-soak", "workload": name, "seconds": Stats.r(report.seconds), "frames": report.output]
            result["fps"] = Stats.r(report.fps)
            result["loops_of_source"] = src.loops
            result["rss_mb"] = rss
            result["rss_first_minute_mb"] = Stats.r(atMinute1)
            result["rss_end_mb"] = Stats.r(last)
            result["rss_change_percent"] = Stats.r(change)
            result["pool_buffers"] = report.poolBuffers
            result["decisions"] = decisions
            try JSONOutput.print(result)
        } else {
            print(String(format: "soak %@: %.0f s, %d frames, %.1f fps, %d loops of the source", name, report.seconds, report.output, report.fps, src.loops))
            for (t, mb) in samples { print(String(format: "  t=%6.0f s  rss %7.1f MB", t, mb)) }
            print(String(format: "  rss after minute 1: %.1f MB, at the end: %.1f MB (%+.1f%%)", atMinute1, last, change))
        }
    }
}
