import Foundation
import VisageCore
import VisageFace
import VisageLive
import VisageMedia

/// End-to-end FPS and capture→output latency of the live pipeline, sequential (one thread, no overlap) vs
/// pipelined, per workload; or a memory soak (`duration`).
public struct BenchLiveJob: Codable, Sendable {
    /// What the pipeline does to each frame.
    public enum Workload: String, Codable, Sendable, CaseIterable {
        case detect, au, landmark, inswapper

        /// "detect,au" as the command line writes a list.
        public static func list(_ text: String) throws -> [Workload] {
            let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let found = names.compactMap(Workload.init(rawValue:))
            guard !names.isEmpty, found.count == names.count else {
                throw VisageError.invalidArgument("workloads are \(allCases.map(\.rawValue).joined(separator: ", ")) (got '\(text)')")
            }
            return found
        }
    }

    /// Video to run (read as fast as it decodes; nothing is dropped).
    public var source: String
    public var workloads: [Workload] = Workload.allCases
    public var frames = 150
    /// Soak: loop the video for this many seconds (pipelined, first workload), memory sampled.
    public var duration: Double?
    public var sampleEvery: Double = 60
    public var mode = LiveModeName.balanced
    public var swapFace = "Samples/obama.jpg"
    /// inswapper workload: the twins made by scripts/setup-twins.sh unless given.
    public var swapModel = ".deps/twins/inswapper_128_twin.onnx"
    public var recognizerModel = ".deps/twins/w600k_r50_twin.onnx"
    /// Pipelined runs: ONNX Runtime threads per model (0: one per core, as `visage live` runs).
    public var pipelinedThreads = 0

    public init(source: String) { self.source = source }

    public var requiredModels: [String] {
        FacePipeline.requiredModels(detector: DetectorFactory.defaultModel) + (workloads.contains(.au) ? [AUJob.openFaceModel] : [])
    }

    public func validate() throws {
        try OptionRules.check("frames", frames, in: 10...1_000_000)
        if let duration { try OptionRules.check("duration", duration, in: 0.001...1e7) }
        try OptionRules.check("sample-every", sampleEvery, in: 0.1...1e6)
        guard !workloads.isEmpty else { throw VisageError.invalidArgument("give at least one workload") }
        try ImageIO.checkReadableFile(source)
    }

    /// - Parameter onStats: soak runs: the pipeline's stats about once per sample interval.
    public func run(in context: JobContext, onStats: ((LiveStats.Snapshot) -> Void)? = nil) throws -> BenchLiveResult {
        try validate()
        let liveMode = mode.mode
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("visage-bench-live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temp) }
        let token = context.cancellation

        func work(_ workload: Workload, threads: Int, feed: LiveSource) throws -> FaceWork {
            var config = context
            config.session = LiveJob.sessionConfig(context.session, mode: liveMode)
            config.session.intraOpThreads = threads
            var live = LiveJob(input: source)
            if workload == .landmark || workload == .inswapper { live.swapFace = swapFace }
            if workload == .inswapper {
                live.swapper = .inswapper
                live.swapModel = swapModel
                live.recognizerModel = recognizerModel
            }
            let csv = workload == .au ? temp.appendingPathComponent("au-\(UUID().uuidString).csv") : nil
            return try live.makeWork(mode: liveMode, settings: QualitySettings.ladder(for: liveMode)[0], sourceWidth: feed.width,
                                     sourceHeight: feed.height, auCSV: csv, context: config)
        }

        var result = BenchLiveResult(source: source, frames: frames, mode: liveMode.name, pipelinedThreads: pipelinedThreads)
        if let duration {
            let src = try VideoFileSource(path: source, realtime: false, loop: true)
            let w = try work(workloads[0], threads: pipelinedThreads, feed: src)
            let configuration = LiveConfiguration(mode: liveMode, pipelined: true, adaptive: true, duration: duration,
                                                  statsInterval: sampleEvery, memorySampleInterval: sampleEvery)
            let report = try LivePipeline(source: src, work: w, outputs: [], configuration: configuration, shouldStop: { token.isCancelled },
                                          onStats: onStats).run()
            result.soak = BenchLiveResult.Soak(report, workload: workloads[0].rawValue, loops: src.loops)
            return result
        }
        let defaultOpenCVThreads = OpenCVInfo.threads
        defer { OpenCVInfo.setThreads(defaultOpenCVThreads) }
        for workload in workloads {
            if workload == .inswapper && !(FileManager.default.fileExists(atPath: swapModel) && FileManager.default.fileExists(atPath: recognizerModel)) {
                result.skipped.append("\(workload.rawValue): no \(swapModel) / \(recognizerModel); run scripts/setup-twins.sh")
                continue
            }
            var row = BenchLiveResult.Row(workload: workload.rawValue)
            for pipelined in [false, true] {
                try token.check()
                // Sequential is literally one thread: one ONNX Runtime thread, OpenCV single-threaded, no overlap.
                OpenCVInfo.setThreads(pipelined ? defaultOpenCVThreads : 1)
                let src = try VideoFileSource(path: source, realtime: false, loop: true)
                let w = try work(workload, threads: pipelined ? pipelinedThreads : 1, feed: src)
                // Warm-up: the first frames pay for lazy initialisation (ORT arenas, detector sizes).
                var warmUp = LiveConfiguration(mode: liveMode, pipelined: pipelined, adaptive: false, maxFrames: 10)
                warmUp.finishesWork = false
                _ = try LivePipeline(source: try VideoFileSource(path: source, realtime: false, loop: true), work: w, outputs: [],
                                     configuration: warmUp, shouldStop: { token.isCancelled }).run()
                let report = try LivePipeline(source: src, work: w, outputs: [],
                                              configuration: LiveConfiguration(mode: liveMode, pipelined: pipelined, adaptive: false, maxFrames: frames),
                                              shouldStop: { token.isCancelled }).run()
                try token.check()
                let run = BenchLiveResult.Run(report)
                if pipelined { row.pipelined = run } else { row.sequential = run }
            }
            row.speedup = Stats.r((row.pipelined?.fps ?? 0) / max(row.sequential?.fps ?? 1, 1e-9))
            result.workloads.append(row)
        }
        return result
    }
}

public struct BenchLiveResult: Codable, Sendable {
    public var benchmark = "live"
    public var source: String
    public var frames: Int
    public var mode: String
    public var pipelinedThreads: Int
    public var workloads: [Row] = []
    /// Workloads that could not run, and why.
    public var skipped: [String] = []
    public var soak: Soak?
    public var cpu = Platform.cpuModel
    public var cores = Platform.logicalCores

    init(source: String, frames: Int, mode: String, pipelinedThreads: Int) {
        self.source = source; self.frames = frames; self.mode = mode; self.pipelinedThreads = pipelinedThreads
    }

    public struct Row: Codable, Sendable {
        public var workload: String
        public var sequential: Run?
        public var pipelined: Run?
        public var speedup = 0.0
    }

    public struct Run: Codable, Sendable {
        public var fps: Double
        public var latencyMedianMs: Double
        public var latencyP90Ms: Double
        public var frames: Int
        public var stageMeanMs: [String: Double]

        init(_ report: LiveReport) {
            fps = Stats.r(report.fps)
            latencyMedianMs = Stats.r(report.latencyMedianMs)
            latencyP90Ms = Stats.r(report.latencyP90Ms)
            frames = report.output
            stageMeanMs = ["capture": Stats.r(report.stageMeanMs[0]), "detect": Stats.r(report.stageMeanMs[1]),
                           "process": Stats.r(report.stageMeanMs[2]), "output": Stats.r(report.stageMeanMs[3])]
        }

        enum CodingKeys: String, CodingKey {
            case fps, frames
            case latencyMedianMs = "latency_median_ms", latencyP90Ms = "latency_p90_ms", stageMeanMs = "stage_mean_ms"
        }
    }

    public struct Soak: Codable, Sendable {
        public var workload: String
        public var seconds: Double
        public var frames: Int
        public var fps: Double
        public var loopsOfSource: Int
        /// [seconds, resident MB] samples.
        public var rssMB: [[Double]]
        public var rssFirstMinuteMB: Double
        public var rssEndMB: Double
        public var rssChangePercent: Double
        public var poolBuffers: Int
        public var decisions: [String]

        init(_ report: LiveReport, workload: String, loops: Int) {
            self.workload = workload
            seconds = Stats.r(report.seconds)
            frames = report.output
            fps = Stats.r(report.fps)
            loopsOfSource = loops
            rssMB = report.memory.map { [Stats.r($0.0), Stats.r($0.1)] }
            let atMinute1 = report.memory.first { $0.0 >= 59 }?.1 ?? report.memory.first?.1 ?? 0
            let last = report.memory.last?.1 ?? 0
            rssFirstMinuteMB = Stats.r(atMinute1)
            rssEndMB = Stats.r(last)
            rssChangePercent = Stats.r(atMinute1 > 0 ? (last - atMinute1) / atMinute1 * 100 : 0)
            poolBuffers = report.poolBuffers
            decisions = report.decisions.map(\.message)
        }

        enum CodingKeys: String, CodingKey {
            case workload, seconds, frames, fps, decisions
            case loopsOfSource = "loops_of_source", rssMB = "rss_mb", rssFirstMinuteMB = "rss_first_minute_mb", rssEndMB = "rss_end_mb"
            case rssChangePercent = "rss_change_percent", poolBuffers = "pool_buffers"
        }
    }

    enum CodingKeys: String, CodingKey {
        case benchmark, source, frames, mode, workloads, skipped, cpu, cores
        case pipelinedThreads = "pipelined_threads_per_model"
    }

    /// Soak results are printed at the top level (as `visage bench live --duration` always has).
    public func encode(to encoder: Encoder) throws {
        if let soak {
            try SoakEnvelope(soak: soak).encode(to: encoder)
            return
        }
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(benchmark, forKey: .benchmark)
        try c.encode(source, forKey: .source)
        try c.encode(frames, forKey: .frames)
        try c.encode(mode, forKey: .mode)
        try c.encode(workloads, forKey: .workloads)
        if !skipped.isEmpty { try c.encode(skipped, forKey: .skipped) }
        try c.encode(pipelinedThreads, forKey: .pipelinedThreads)
        try c.encode(cpu, forKey: .cpu)
        try c.encode(cores, forKey: .cores)
    }

    private struct SoakEnvelope: Encodable {
        let soak: Soak
        enum Keys: String, CodingKey { case benchmark }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode("live-soak", forKey: .benchmark)
            try soak.encode(to: encoder)
        }
    }
}
