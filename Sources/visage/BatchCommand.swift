import ArgumentParser
import Foundation
import VisageCore
import VisageJobs
import VisageRuntime

// `visage batch`: options → a manifest and a BatchRunner (VisageJobs/Batch) → printed summary. Everything
// between (sharding, skipping, scheduling, status files, Slurm and Kubernetes files) is library code.

struct Batch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Thousands of items on one machine or a cluster: a JSONL manifest, resumable items, Slurm arrays and Kubernetes Indexed Jobs.",
        discussion: """
        A manifest has one item per line: {"kind": "au", "input": "a.mp4", "output": "csv/a.csv", "landmarks": "pfld"} — kind
        au, swap, analyze or enhance, and the command's options under their command-line names (paths relative to the
        manifest's folder). `visage batch au|swap|analyze|enhance` write one from file patterns. Finished items (output + OUTPUT.done) are
        skipped, a failing item is recorded and the rest go on, and the exit status is the number of failed items.
        See docs/BATCH.md.
        """,
        subcommands: [BatchRun.self, BatchAU.self, BatchSwap.self, BatchAnalyze.self, BatchEnhance.self, BatchStatus.self, BatchMerge.self, BatchSlurm.self,
                      BatchKubernetes.self],
        defaultSubcommand: BatchRun.self)
}

/// How a task runs: where its status goes, which slice it is, how many items at once.
struct BatchRunArguments: ParsableArguments {
    @Option(help: "Run directory for the status files (default: MANIFEST without extension + .run, beside it).") var runDir: String?
    @Option(parsing: .unconditional, help: "Items at once (0: one per core, each single-threaded; --threads sets threads per item).")
    var parallel: Int = 0
    @Option(parsing: .unconditional, help: "Cores this task may use (0: $SLURM_CPUS_PER_TASK, else the machine's).") var cores: Int = 0
    @Option(help: "Run slice INDEX/COUNT of the manifest (item k belongs to slice k mod COUNT).") var shard: String?
    @Option(parsing: .unconditional, help: "Slices the manifest is cut into; the index comes from --index, $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX.")
    var tasks: Int?
    @Option(parsing: .unconditional, help: "This task's slice, from 0 (with --tasks).") var index: Int?
    @Flag(help: "Run only the items that failed before (after fixing what made them fail).") var retryFailed = false
    @Flag(help: "Print the summary as JSON on stdout.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        try parseCheck {
            try OptionRules.check("parallel", parallel, in: BatchPlan.parallelRange)
            try OptionRules.check("cores", cores, in: 0...4096)
            if let tasks { try OptionRules.check("tasks", tasks, in: BatchShard.countRange) }
            if let shard { _ = try BatchShard(parsing: shard) }
        }
        if shard != nil && (tasks != nil || index != nil) { throw ValidationError("give --shard I/N, or --tasks N (with --index I), not both") }
        if index != nil && tasks == nil { throw ValidationError("--index needs --tasks N") }
    }

    /// Runs a manifest the command-line way: models installed first, a progress line, a summary, and the
    /// exit status the number of failed items (130 when stopped).
    func run(manifestPath: String) throws {
        let context = try runtime.context()
        var request = BatchTaskRequest(manifestPath: manifestPath)
        request.runDirectory = runDir.map { BatchRunFiles.runDirectory($0, forManifest: manifestPath) }
        (request.shard, request.index, request.tasks) = (shard, index, tasks)
        (request.cores, request.parallel, request.threads, request.retryFailed) = (cores, parallel, runtime.threads, retryFailed)
        let (runner, mine, cores) = try request.runner(context: context) { Output.note($0) }
        let shard = runner.options.shard
        try CLIJob.prepare(runner.requiredModels, context: context)
        Output.note("\(mine) item\(mine == 1 ? "" : "s") in \(shard == .whole ? manifestPath : "slice \(shard) of \(manifestPath)"); \(cores.count) cores (\(cores.source)); status in \(runner.options.runDirectory.path)")
        let summary = try runner.run(in: context, progress: BatchTerminalProgress.sink())
        if json {
            try Output.json(summary)
        } else {
            print(summary.summaryLine)
        }
        if summary.interrupted { throw VisageError.interrupted }
        if summary.failedTotal > 0 {
            throw PartialFailure(failures: summary.failures.map { InputFailure(input: $0.label, error: $0.error) },
                                 total: summary.items)
        }
    }
}

struct BatchRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a manifest (or this task's slice of it).")

    @Argument(help: "The JSONL manifest.") var manifest: String
    @OptionGroup var options: BatchRunArguments

    func run() throws { try options.run(manifestPath: manifest) }
}

/// Where a generated manifest goes, and whether to run it.
struct BatchManifestArguments: ParsableArguments {
    @Option(help: "Where to write the manifest (default: batch-KIND.jsonl here).") var manifest: String?
    @Flag(help: "Write the manifest and stop (run it later, or on a cluster with `visage batch slurm|k8s`).") var manifestOnly = false

    func path(kind: String) -> String { manifest ?? "batch-\(kind).jsonl" }
    var folder: URL { URL(fileURLWithPath: manifest ?? "batch.jsonl").standardizedFileURL.deletingLastPathComponent() }
    func relative(_ path: String) -> String { BatchManifestBuilder.manifestPath(path, manifestFolder: folder) }

    /// One `kind` item per file of the `inputs` pattern (`make` gives an input's job, paths as the manifest
    /// writes them), then the manifest is written and run unless told not to.
    func build(kind: String, inputs: String, output: String, run: BatchRunArguments,
               make: (_ input: String, _ output: String) throws -> any BatchItemJob) throws {
        let template = try BatchOutputTemplate(output)
        let items = try BatchManifestBuilder.items(kind: kind, inputs: inputs, output: template) { input, output in
            try make(relative(input), relative(output))
        }
        try finish(items, kind: kind, run: run)
    }

    /// Writes the manifest, then runs it unless told not to.
    func finish(_ items: [BatchItem], kind: String, run: BatchRunArguments) throws {
        let path = path(kind: kind)
        try BatchManifest.write(items, to: path)
        Output.note("wrote \(path): \(items.count) \(kind) item\(items.count == 1 ? "" : "s")")
        if !manifestOnly { try run.run(manifestPath: path) }
    }
}

/// Parses the options of a one-file command for one batch item, so an item means what the command means.
func parseItemOptions<C: ParsableCommand>(_ type: C.Type, _ arguments: [String], command: String) throws -> C {
    do { return try C.parse(arguments) } catch {
        throw ValidationError("visage \(command) options: \(C.message(for: error))")
    }
}

struct BatchAU: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "au", abstract: "A manifest of `visage au` items from a file pattern, then run it.",
        discussion: "Every other option is `visage au`'s (e.g. --landmarks pfld, --multi-face) and applies to every item.")

    @Option(help: "Input files: a pattern with *, ? and ** (quote it), e.g. 'videos/**/*.mp4'.") var inputs: String
    @Option(name: [.short, .customLong("output")], help: "CSV path template: {stem}, {name}, {ext}, {dir}, {index}, e.g. 'csv/{dir}/{stem}.csv'.")
    var output: String
    @OptionGroup var manifest: BatchManifestArguments
    @OptionGroup var runArguments: BatchRunArguments
    @Argument(parsing: .allUnrecognized, help: .hidden) var auOptions: [String] = []

    func run() throws {
        try manifest.build(kind: "au", inputs: inputs, output: output, run: runArguments) { input, output in
            let au = try parseItemOptions(AU.self, [input, "-o", output] + auOptions, command: "au")
            if au.jsonl { throw ValidationError("--jsonl prints to this terminal; a batch writes each item's CSV") }
            try au.job.validatePatternItem()
            return au.job
        }
    }
}

struct BatchSwap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swap", abstract: "A manifest of `visage swap` items (every source onto every target), then run it.",
        discussion: "Every other option is `visage swap`'s (e.g. --many-faces, --swapper inswapper) and applies to every item.")

    @Option(name: [.short, .customLong("source")], help: "Source photo(s): a file or a pattern.") var source: String
    @Option(name: [.short, .customLong("target")], help: "Targets: a pattern, e.g. 'clips/*.mp4'.") var target: String
    @Option(name: [.short, .customLong("output")], help: "Output template: {source_name}, {target_name}, {ext}, {target_extension}, {dir}, {index}, e.g. 'out/{source_name}-{target_name}{ext}'.")
    var output: String
    @OptionGroup var manifest: BatchManifestArguments
    @OptionGroup var runArguments: BatchRunArguments
    @Argument(parsing: .allUnrecognized, help: .hidden) var swapOptions: [String] = []

    func run() throws {
        let template = try BatchOutputTemplate(output)
        let items = try BatchManifestBuilder.swapItems(sources: source, targets: target, output: template) { source, target, output in
            try parseItemOptions(Swap.self, ["-s", manifest.relative(source), "-t", manifest.relative(target), "-o", manifest.relative(output)] + swapOptions,
                                 command: "swap").job
        }
        try manifest.finish(items, kind: "swap", run: runArguments)
    }
}

struct BatchAnalyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze", abstract: "A manifest of `visage analyze` items from a file pattern, then run it.",
        discussion: "Outputs ending in .jsonl hold what --jsonl prints (a line per frame and track event), .json what --json prints. Every other option is `visage analyze`'s.")

    @Option(help: "Input files: a pattern with *, ? and ** (quote it).") var inputs: String
    @Option(name: [.short, .customLong("output")], help: "Output template (.jsonl or .json): {stem}, {name}, {ext}, {dir}, {index}.") var output: String
    @OptionGroup var manifest: BatchManifestArguments
    @OptionGroup var runArguments: BatchRunArguments
    @Argument(parsing: .allUnrecognized, help: .hidden) var analyzeOptions: [String] = []

    func run() throws {
        try manifest.build(kind: "analyze", inputs: inputs, output: output, run: runArguments) { input, output in
            let item = AnalyzeBatchItem(job: try parseItemOptions(Analyze.self, [input] + analyzeOptions, command: "analyze").job, output: output)
            try item.validateBatchItem()
            return item
        }
    }
}

struct BatchEnhance: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enhance", abstract: "A manifest of `visage enhance` items from a file pattern, then run it.",
        discussion: "Every other option is `visage enhance`'s (e.g. --model gpen-bfr-512, --enhance-every 1) and applies to every item.")

    @Option(help: "Input photos or videos: a pattern with *, ? and ** (quote it).") var inputs: String
    @Option(name: [.short, .customLong("output")], help: "Output template: {stem}, {name}, {ext}, {dir}, {index}, e.g. 'restored/{stem}{ext}'.") var output: String
    @OptionGroup var manifest: BatchManifestArguments
    @OptionGroup var runArguments: BatchRunArguments
    @Argument(parsing: .allUnrecognized, help: .hidden) var enhanceOptions: [String] = []

    func run() throws {
        try manifest.build(kind: "enhance", inputs: inputs, output: output, run: runArguments) { input, output in
            let job = try parseItemOptions(Enhance.self, ["-i", input, "-o", output] + enhanceOptions, command: "enhance").job
            try job.validateBatchItem()
            return job
        }
    }
}

struct BatchStatus: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Items done, failed and pending of a run, its fps and ETA.")

    @Argument(help: "Run directories (MANIFEST.run) or status files.") var runs: [String]
    @Flag(help: "Print the report as JSON on stdout.") var json = false

    func run() throws {
        let report = try BatchReport.load(runs)
        if json { try Output.json(report) } else { print(report.statusText(name: runs.joined(separator: ", "))) }
    }
}

struct BatchMerge: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "merge", abstract: "Gather the status of every shard into one JSON report.")

    @Argument(help: "Run directories or status files (e.g. one per node).") var runs: [String]
    @Option(name: [.short, .customLong("output")], help: "Write the report here (default: stdout).") var output: String?

    func run() throws {
        let report = try BatchReport.load(runs)
        let data = try JobJSON.data(report, pretty: true) + Data("\n".utf8)
        if let output {
            try AtomicFile.write(data, to: URL(fileURLWithPath: output).standardizedFileURL)
            print(report.statusText(name: runs.joined(separator: ", ")))
            Output.note("wrote \(output)")
        } else {
            FileHandle.standardOutput.write(data)
        }
    }
}

struct BatchSlurm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm", abstract: "Write (and with --submit, submit) an sbatch script that runs a manifest as a Slurm job array.",
        discussion: "Paths must be on storage every node sees at the same path. Task i runs `visage batch run MANIFEST --tasks N` with i from $SLURM_ARRAY_TASK_ID.")

    @Argument(help: "The JSONL manifest.") var manifest: String
    @Option(parsing: .unconditional, help: "Array tasks (the manifest is cut into this many slices).") var tasks: Int
    @Option(parsing: .unconditional, help: "Tasks running at once (sbatch --array=0-N%PARALLEL).") var parallel: Int?
    @Option(help: "Run directory (default: MANIFEST without extension + .run).") var runDir: String?
    @Option(help: "Where to write the script (default: RUN_DIR/visage-batch.sbatch).") var script: String?
    @Flag(help: "Submit it with sbatch after installing the models the items need.") var submit = false
    @Option(parsing: .unconditional, help: "sbatch --cpus-per-task (each task plans its items for that many cores).") var cpusPerTask: Int?
    @Option(help: "sbatch --partition.") var partition: String?
    @Option(help: "sbatch --time, e.g. 04:00:00.") var time: String?
    @Option(help: "sbatch --mem, e.g. 8G.") var mem: String?
    @Option(help: "A further #SBATCH line, e.g. --gres=gpu:1 (repeatable).") var sbatchOption: [String] = []
    @Option(help: "The visage binary the tasks run (default: this one).") var binary: String?
    @Flag(help: "Tasks run only the items that failed before.") var retryFailed = false
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        let manifestURL = URL(fileURLWithPath: manifest).standardizedFileURL
        let parsed = try BatchManifest(contentsOf: manifest)
        let runDirectory = BatchRunFiles.runDirectory(runDir, forManifest: manifest)
        var sbatch = SlurmArrayScript(binary: binary.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? Platform.executablePath,
                                      manifest: manifestURL.path, runDirectory: runDirectory.path, tasks: tasks, parallel: parallel)
        sbatch.cpusPerTask = cpusPerTask
        sbatch.partition = partition
        sbatch.timeLimit = time
        sbatch.memory = mem
        sbatch.extraOptions = sbatchOption
        if let accelerator = runtime.accelerator { sbatch.runArguments += ["--accelerator", accelerator.rawValue] }
        if runtime.threads > 0 { sbatch.runArguments += ["--threads", String(runtime.threads)] }
        if retryFailed { sbatch.runArguments.append("--retry-failed") }
        let path = script ?? runDirectory.appendingPathComponent("visage-batch.sbatch").path
        try parseCheck { try sbatch.validate() }
        try sbatch.write(to: path)
        print("wrote \(path): \(parsed.entries.count) items as \(tasks) array tasks (--array=\(sbatch.arraySpec))")
        guard submit else {
            print("submit it with: sbatch \(path)")
            return
        }
        // Installed once here, on the shared model folder, rather than by every task at once.
        let context = try runtime.context()
        try CLIJob.prepare(parsed.requiredModels, context: context, banner: false)
        let id = try SlurmArrayScript.submit(path)
        print("submitted job \(id); follow it with: visage batch status \(runDirectory.path)")
    }
}

struct BatchKubernetes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "k8s", abstract: "Write a Kubernetes Indexed Job (YAML) that runs a manifest, one slice per index.",
        discussion: "Pod i runs `visage batch run MANIFEST --tasks N` with i from $JOB_COMPLETION_INDEX. Paths are as the pods see them: by default this machine's, for storage mounted at the same path (--claim/--mount).")

    @Argument(help: "The JSONL manifest.") var manifest: String
    @Option(parsing: .unconditional, help: "Indexes (the manifest is cut into this many slices).") var tasks: Int
    @Option(parsing: .unconditional, help: "Pods at once (default: all).") var parallelism: Int?
    @Option(help: "Container image with visage on its PATH.") var image: String
    @Option(help: "Job name (default: visage-batch-<manifest name>).") var name: String?
    @Option(help: "Run directory (default: MANIFEST without extension + .run).") var runDir: String?
    @Option(help: "PersistentVolumeClaim holding the data, mounted at --mount.") var claim: String?
    @Option(help: "Where the claim is mounted in the pods.") var mount: String?
    @Option(help: "VISAGE_MODEL_DIR in the pods (models installed once on shared storage).") var modelDir: String?
    @Flag(help: "Set VISAGE_ACCEPT_LICENSES=1 in the pods (OpenFace's models need their licence accepted).") var acceptLicense = false
    @Option(parsing: .unconditional, help: "CPUs each pod requests (and plans its items for).") var cpus: Int?
    @Option(help: "Memory each pod requests, e.g. 8Gi.") var memory: String?
    @Option(parsing: .unconditional, help: "Retries of an index whose pod was killed or evicted.") var backoffLimitPerIndex: Int = 2
    @Option(help: "The command's first word in the image.") var binary: String = "visage"
    @Option(name: [.short, .customLong("output")], help: "Where to write the YAML (default: RUN_DIR/job.yaml).") var output: String?

    func run() throws {
        let parsed = try BatchManifest(contentsOf: manifest)
        let manifestURL = URL(fileURLWithPath: manifest).standardizedFileURL
        let runDirectory = BatchRunFiles.runDirectory(runDir, forManifest: manifest)
        var job = KubernetesIndexedJob(name: name ?? KubernetesIndexedJob.defaultName(forManifest: manifest), image: image, manifest: manifestURL.path, runDirectory: runDirectory.path, tasks: tasks)
        job.parallelism = parallelism
        job.backoffLimitPerIndex = backoffLimitPerIndex
        job.cpus = cpus
        job.memory = memory
        job.volumeClaim = claim
        job.mountPath = mount
        job.modelDirectory = modelDir
        job.acceptLicenses = acceptLicense
        job.binary = binary
        try parseCheck { try job.validate() }
        let path = output ?? runDirectory.appendingPathComponent("job.yaml").path
        do { try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true) } catch {
            throw VisageError.writeFailed(path: path, reason: AtomicFile.describe(error))
        }
        try job.write(to: path)
        print("wrote \(path): \(parsed.entries.count) items as \(tasks) indexes; start it with: kubectl apply -f \(path)")
    }
}

/// The batch's progress on stderr: a line redrawn a few times a second on a terminal, one every 10 s otherwise.
enum BatchTerminalProgress {
    static func sink() -> BatchProgressSink {
        let line = StatusLine(quietEvery: 10)
        return { p in
            if p.finished { line.finish(); return }
            line.update {
                let eta = p.eta.map { String(format: " · ETA %.0f s", $0) } ?? ""
                return String(format: "batch %@: %d/%d items done, %d failed, %d running · %.1f fps%@", p.shard.description, p.done, p.items,
                              p.failed, p.running, p.fps, eta)
            }
        }
    }
}
