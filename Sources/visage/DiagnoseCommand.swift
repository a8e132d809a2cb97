import ArgumentParser
import Foundation
import VisageCore
import VisageJobs
import VisageRuntime

/// `visage diagnose`: options → `DiagnoseJob` → table, JSON or HTML.
struct Diagnose: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure every installed model on every accelerator here (load, first run, latency, batch sweep, memory, GFLOP/s) and save the fastest setting for --accelerator auto.")

    @Option(name: .customLong("model"), help: "Catalog id or .onnx file to measure (repeatable; default: every installed ONNX model).")
    var models: [String] = []
    @Option(name: .customLong("only"), help: "Accelerators to measure, comma-separated (default: every one this ONNX Runtime offers).")
    var only: String?
    @Option(parsing: .unconditional, help: "Timed runs at batch 1.") var runs: Int = 20
    @Option(help: "Batch sizes of the sweep, comma-separated.") var batches: String = "1,2,4,8,16"
    @Option(parsing: .unconditional, help: "Seconds at most per batch size of one model.") var secondsPerBatch: Double = 10
    @Option(parsing: .unconditional, help: "Input side for models that leave height and width open.") var inputSide: Int = 640
    @Flag(help: "Skip the float16 copies on GPU accelerators.") var noFloat16 = false
    @Flag(help: "Do not save the recommendation.") var noSave = false
    @Flag(help: "Print JSON on stdout.") var json = false
    @Option(help: "Also write an HTML report with plots to this file.") var html: String?
    @OptionGroup var runtime: RuntimeOptions

    var job: DiagnoseJob {
        get throws {
            var job = DiagnoseJob()
            let ids = models.filter { !$0.hasSuffix(".onnx") }
            job.models = ids.isEmpty ? (models.isEmpty ? nil : []) : ids
            job.extraFiles = models.filter { $0.hasSuffix(".onnx") }
            if let only {
                job.accelerators = try only.split(separator: ",").map { name in
                    guard let a = Accelerator(rawValue: name.trimmingCharacters(in: .whitespaces).lowercased()) else {
                        throw ValidationError("--only takes cpu, cuda, tensorrt or coreml, not '\(name)'")
                    }
                    return a
                }
            }
            job.runs = runs
            job.batches = try batches.split(separator: ",").map {
                guard let b = Int($0.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--batches is a list like 1,2,4,8,16") }
                return b
            }
            job.secondsPerBatch = secondsPerBatch
            job.inputSide = inputSide
            job.float16 = !noFloat16
            job.save = !noSave
            return job
        }
    }

    func validate() throws { try parseCheck { try job.validate() } }

    func run() throws {
        let job = try self.job
        let context = try runtime.context()
        try CLIJob.prepare(job.requiredModels, context: context)
        let r = try job.run(in: context)
        if let html {
            try AtomicFile.write(Data(DiagnoseHTML.render(r).utf8), to: URL(fileURLWithPath: html))
            Output.note("wrote \(html)")
        }
        if json { try Output.json(r); return }
        print("diagnose: \(r.machine)")
        print("  model                      accel     prec      load   first     min  median     p90   GFLOP  GFLOP/s  faces/s by batch")
        for m in r.results {
            let sweep = m.sweep.map { "\($0.batch):\(String(format: "%.1f", $0.itemsPerSecond))" }.joined(separator: " ")
            print("  " + m.model.padding(toLength: 26, withPad: " ", startingAt: 0) + " " + m.accelerator.padding(toLength: 9, withPad: " ", startingAt: 0)
                  + " " + m.precision.padding(toLength: 8, withPad: " ", startingAt: 0)
                  + String(format: " %6.0f %7.1f %7.2f %7.2f %7.2f %7.3f %8.1f  ", m.loadMs, m.firstRunMs ?? 0, m.steadyMs?.min ?? 0,
                           m.steadyMs?.median ?? 0, m.steadyMs?.p90 ?? 0, m.gflopPerItem ?? 0, m.gflopPerSecond ?? 0) + sweep)
            if let a = m.allocationsPerRun {
                print("      allocations per run: \(String(format: "%.1f", a)) bound (\(String(format: "%.1f", m.allocationsPerRunInsideOnnxRuntime ?? 0)) inside ONNX Runtime's run), \(String(format: "%.1f", m.allocationsPerRunUnbound ?? 0)) unbound")
            }
            for note in m.notes { print("      note: \(note)") }
        }
        for note in r.notes { print("  not measured: \(note)") }
        if let rec = r.recommendation {
            print("  recommendation: \(rec.summary) — \(rec.reason)")
            if let file = r.recommendationFile { print("  saved in \(file); --accelerator auto follows it") }
        }
    }
}
