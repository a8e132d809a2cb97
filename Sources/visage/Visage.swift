import ArgumentParser
import Foundation
import VisageCore
import VisageJobs
import VisageRuntime

struct Visage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visage",
        abstract: "Real-time face processing: detection, analysis, swap, enhancement, action units.",
        version: VisageVersion.string,
        subcommands: [Detect.self, Analyze.self, Compare.self, Swap.self, Enhance.self, AU.self, Batch.self, Live.self, Serve.self, Doctor.self, Diagnose.self, Bench.self, Models.self]
    )
}

/// Options every command that runs a model shares, and the job context they make.
struct RuntimeOptions: ParsableArguments {
    @Option(name: [.customLong("accelerator"), .customLong("execution-provider")],
            help: "auto | cpu | cuda | tensorrt | coreml (default: $VISAGE_ACCELERATOR or auto)")
    var accelerator: Accelerator?

    @Option(parsing: .unconditional, help: "Threads per model (0: one per core).")
    var threads: Int = 0

    @Flag(name: .shortAndLong, help: "Log every decision (debug level).")
    var verbose = false

    func validate() throws {
        try parseCheck { try OptionRules.check("threads", threads, in: OptionRules.threads) }
    }

    func sessionConfig() throws -> SessionConfig {
        var config = try SessionConfig.fromEnvironment()
        if let accelerator { config.accelerator = accelerator }
        config.intraOpThreads = threads
        return config
    }

    /// The job context of this command: its models, settings, the process's Ctrl-C token and a progress
    /// line on stderr.
    func context(store: ModelStore = ModelStore()) throws -> JobContext {
        if verbose { VisageLog.setLevel(.debug) }
        return JobContext(store: store, session: try sessionConfig(), cancellation: SignalCancellation.token,
                          progress: TerminalProgress.sink())
    }
}

/// Runs a job the command-line way: check its options and files, install the models it needs (with a
/// progress bar), say where it runs, then run it with the command's context.
enum CLIJob {
    /// The context to run `job` in, once it is ready to run.
    static func prepare<J: VisageJob>(_ job: J, runtime: RuntimeOptions, banner: Bool = true, store: ModelStore = ModelStore()) throws -> JobContext {
        let context = try runtime.context(store: store)
        try job.validate()
        try prepare(job.requiredModels, context: context, banner: banner)
        return context
    }

    static func run<J: VisageJob>(_ job: J, runtime: RuntimeOptions, store: ModelStore = ModelStore()) throws -> J.Result {
        try job.run(in: try prepare(job, runtime: runtime, store: store))
    }

    /// Installs the models (bench jobs, which are not `VisageJob`s) and prints the banner.
    static func prepare(_ models: [String], context: JobContext, banner: Bool = true) throws {
        try RequiredModels.install(models, store: context.store, progress: true)
        if banner { Output.banner(context) }
    }
}

extension Accelerator: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
extension Swapper: ExpressibleByArgument {}
extension AULandmarks: ExpressibleByArgument {}
extension LiveModeName: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
extension BenchLiveJob.Workload: ExpressibleByArgument {}

/// Library checks of option values, as ArgumentParser validation errors (usage text included).
func parseCheck(_ body: () throws -> Void) throws {
    do { try body() } catch let error as VisageError { throw ValidationError(error.description) }
}
