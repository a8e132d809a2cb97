import Foundation
import VisageCore

/// An `sbatch` script that runs a manifest as a Slurm job array: task i of n runs `visage batch run MANIFEST
/// --tasks n` and finds i in `SLURM_ARRAY_TASK_ID`, so every task runs its own slice (item k goes to task
/// k mod n), skips what an earlier submission finished, and appends to its own status file in the run
/// directory. Everything it names (binary, manifest, run directory, media) must be on storage every node
/// sees at the same path.
public struct SlurmArrayScript: Sendable, Equatable {
    /// The `visage` binary the tasks run (absolute).
    public var binary: String
    public var manifest: String
    public var runDirectory: String
    public var tasks: Int
    /// Tasks running at once (`%N` of `--array`); nil: as many as Slurm gives.
    public var parallel: Int?
    public var jobName = "visage-batch"
    /// `--cpus-per-task`; each task then plans its items for that many cores.
    public var cpusPerTask: Int?
    public var partition: String?
    /// `--time`, e.g. "04:00:00".
    public var timeLimit: String?
    /// `--mem`, e.g. "8G".
    public var memory: String?
    /// Further `#SBATCH` lines, as given (e.g. "--gres=gpu:1").
    public var extraOptions: [String] = []
    /// Options passed through to `visage batch run` (e.g. "--accelerator", "cuda").
    public var runArguments: [String] = []

    public init(binary: String, manifest: String, runDirectory: String, tasks: Int, parallel: Int? = nil) {
        self.binary = binary
        self.manifest = manifest
        self.runDirectory = runDirectory
        self.tasks = tasks
        self.parallel = parallel
    }

    public func validate() throws {
        try OptionRules.check("tasks", tasks, in: BatchShard.countRange)
        if let parallel { try OptionRules.check("parallel", parallel, in: 1...BatchShard.countRange.upperBound) }
        if let cpusPerTask { try OptionRules.check("cpus-per-task", cpusPerTask, in: 1...4096) }
        for path in [binary, manifest, runDirectory] where !path.hasPrefix("/") {
            throw VisageError.invalidArgument("\(path) must be an absolute path: the tasks run on other nodes, in another folder")
        }
        for option in extraOptions where !option.hasPrefix("-") || option.contains("\n") {
            throw VisageError.invalidArgument("sbatch option \(option) must be one option, e.g. --gres=gpu:1")
        }
    }

    /// `0-99%10`.
    public var arraySpec: String { "0-\(tasks - 1)" + (parallel.map { "%\($0)" } ?? "") }

    /// The script's text.
    public var text: String {
        var lines = ["#!/bin/bash",
                     "# Written by visage batch slurm: runs \(manifest) as \(tasks) array task\(tasks == 1 ? "" : "s").",
                     "# Task i runs items i, i+\(tasks), i+\(2 * tasks), ... of the manifest; finished items are skipped, so",
                     "# resubmitting this script (or a single task: sbatch --array=I) resumes the run.",
                     "#SBATCH --job-name=\(jobName)",
                     "#SBATCH --array=\(arraySpec)",
                     "#SBATCH --output=\(runDirectory)/slurm/%A_%a.log"]
        if let cpusPerTask { lines.append("#SBATCH --cpus-per-task=\(cpusPerTask)") }
        if let partition { lines.append("#SBATCH --partition=\(partition)") }
        if let timeLimit { lines.append("#SBATCH --time=\(timeLimit)") }
        if let memory { lines.append("#SBATCH --mem=\(memory)") }
        lines += extraOptions.map { "#SBATCH \($0)" }
        lines.append("set -euo pipefail")
        let command = [binary, "batch", "run", manifest, "--run-dir", runDirectory, "--tasks", String(tasks)] + runArguments
        lines.append("exec " + command.map(Self.quote).joined(separator: " "))
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the script (executable) and makes the run directory's `slurm/` folder the logs go to.
    public func write(to path: String) throws {
        try validate()
        do {
            try FileManager.default.createDirectory(atPath: runDirectory + "/slurm", withIntermediateDirectories: true)
        } catch {
            throw VisageError.writeFailed(path: runDirectory, reason: AtomicFile.describe(error))
        }
        try AtomicFile.write(Data(text.utf8), to: URL(fileURLWithPath: path).standardizedFileURL)
        try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    }

    /// Submits a written script with `sbatch` and returns the job id.
    /// - Parameter sbatch: the program (`sbatch` on the PATH by default).
    public static func submit(_ script: String, sbatch: String = "sbatch", environment: [String: String]? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [sbatch, "--parsable", script]
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch {
            throw VisageError.invalidArgument("cannot run \(sbatch): \(AtomicFile.describe(error)); is Slurm installed here?")
        }
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problem = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let reason = problem.trimmingCharacters(in: .whitespacesAndNewlines)
            throw VisageError.invalidArgument("sbatch refused \(script): \(reason.isEmpty ? "exit status \(process.terminationStatus)" : reason)")
        }
        // --parsable prints "JOBID" or "JOBID;CLUSTER".
        guard let id = output.split(whereSeparator: \.isNewline).first?.split(separator: ";").first, Int(id) != nil else {
            throw VisageError.invalidArgument("sbatch did not print a job id (printed: \(output.trimmingCharacters(in: .whitespacesAndNewlines)))")
        }
        return String(id)
    }

    /// A word for bash: single-quoted unless it is plainly safe.
    static func quote(_ word: String) -> String {
        let safe = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "/._-=:+,@%"))
        if !word.isEmpty && word.unicodeScalars.allSatisfy(safe.contains) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
