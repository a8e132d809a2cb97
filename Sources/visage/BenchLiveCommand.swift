import ArgumentParser
import Foundation
import VisageCore
import VisageJobs

struct BenchLive: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "End-to-end FPS and capture→output latency of the live pipeline, sequential (one thread, no overlap) vs pipelined, per workload; or a memory soak with --duration.")

    @Option(help: "Video to run (read as fast as it decodes; nothing is dropped).") var source: String
    @Option(help: "Comma-separated: detect, au, landmark, inswapper.") var workloads: String = "detect,au,landmark,inswapper"
    @Option(parsing: .unconditional, help: "Frames per run.") var frames: Int = 150
    @Option(parsing: .unconditional, help: "Soak: loop the video for this many seconds (pipelined, first workload) and report resident memory each minute.") var duration: Double?
    @Option(parsing: .unconditional, help: "Soak: seconds between memory samples.") var sampleEvery: Double = 60
    @Option(help: "performance | balanced | quality | battery (its settings are held fixed).") var mode: LiveModeName = .balanced
    @Option(help: "Photo whose face is swapped in (default: Samples/obama.jpg).") var swapFace: String = "Samples/obama.jpg"
    @Option(help: "inswapper workload: swap model (default: the inswapper twin in .deps/twins).") var swapModel: String = ".deps/twins/inswapper_128_twin.onnx"
    @Option(help: "inswapper workload: ArcFace model (default: the ArcFace twin in .deps/twins).") var recognizerModel: String = ".deps/twins/w600k_r50_twin.onnx"
    @Option(parsing: .unconditional, help: "Pipelined runs: ONNX Runtime threads per model (0: one per core, as `visage live` runs).") var pipelinedThreads: Int = 0
    @Flag(help: "Print JSON on stdout.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    var job: BenchLiveJob {
        var job = BenchLiveJob(source: source)
        job.workloads = (try? BenchLiveJob.Workload.list(workloads)) ?? []
        job.frames = frames
        job.duration = duration
        job.sampleEvery = sampleEvery
        job.mode = mode
        job.swapFace = swapFace
        job.swapModel = swapModel
        job.recognizerModel = recognizerModel
        job.pipelinedThreads = pipelinedThreads
        return job
    }

    func validate() throws {
        try parseCheck {
            _ = try BenchLiveJob.Workload.list(workloads)
            try OptionRules.check("frames", frames, in: 10...1_000_000)
        }
    }

    func run() throws {
        let context = try runtime.context()
        let job = self.job
        try CLIJob.prepare(job.requiredModels, context: context, banner: false)
        let r = try job.run(in: context) { snapshot in
            FileHandle.standardError.write(Data((snapshot.line + String(format: " | rss %.1f MB", snapshot.residentMB) + "\n").utf8))
        }
        if json { try Output.json(r); return }
        if let soak = r.soak {
            print(String(format: "soak %@: %.0f s, %d frames, %.1f fps, %d loops of the source", soak.workload, soak.seconds, soak.frames, soak.fps, soak.loopsOfSource))
            for sample in soak.rssMB { print(String(format: "  t=%6.0f s  rss %7.1f MB", sample[0], sample[1])) }
            print(String(format: "  rss after minute 1: %.1f MB, at the end: %.1f MB (%+.1f%%)", soak.rssFirstMinuteMB, soak.rssEndMB, soak.rssChangePercent))
            return
        }
        print("bench live: \(URL(fileURLWithPath: source).lastPathComponent), \(frames) frames per run, mode \(r.mode), \(r.cpu) (\(r.cores) cores)")
        for line in r.skipped { print(line) }
        for row in r.workloads {
            for (label, run) in [("sequential", row.sequential), ("pipelined", row.pipelined)] {
                guard let run else { continue }
                print(String(format: "%-10@ %-10@ %6.1f fps  latency median %6.1f ms  p90 %6.1f ms  (ms/frame: capture %.1f, detect %.1f, process %.1f)",
                             row.workload, label, run.fps, run.latencyMedianMs, run.latencyP90Ms,
                             run.stageMeanMs["capture"] ?? 0, run.stageMeanMs["detect"] ?? 0, run.stageMeanMs["process"] ?? 0))
            }
            print(String(format: "%-10@ pipelined / sequential = %.2fx", row.workload, row.speedup))
        }
    }
}
