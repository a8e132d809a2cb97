import Foundation
import Testing

/// The cluster contracts of `visage batch`: the Kubernetes Indexed Job passes a batch/v1 Job schema check and
/// its command, run here once per index with JOB_COMPLETION_INDEX set, makes what `visage au` makes; and the
/// real Slurm test (scripts/test-slurm-batch.sh: a one-node cluster on loopback, an array of 3 tasks, a task
/// cancelled with scancel and resubmitted).
@Suite(.serialized) struct BatchClusterTests {
    /// A Python that has PyYAML and jsonschema (Debian's python3-yaml and python3-jsonschema, `scripts/setup.sh --test`).
    static let python: String? = ["/usr/bin/python3", "/usr/local/bin/python3", "python3"].first { candidate in
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [candidate, "-c", "import yaml, jsonschema"]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    /// Runs a program (not visage) with extra environment; stdout, stderr, status.
    static func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> CLI.Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["VISAGE_MODEL_DIR"] = CLI.modelDirectory
        for (k, v) in extra { env[k] = v }
        p.environment = env
        p.currentDirectoryURL = CLI.repository
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return CLI.Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    static func validate(_ yaml: String) throws -> CLI.Result {
        guard let python else { throw CLIError("no python3 with yaml and jsonschema: run scripts/setup.sh --test (python3-yaml, python3-jsonschema)") }
        return try run([python, CLI.repository.appendingPathComponent("scripts/k8s-validate-job.py").path, yaml])
    }

    struct CLIError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    @Test func theKubernetesIndexedJobPassesTheJobSchemaAndItsCommandPerIndexMakesWhatVisageAUMakes() throws {
        let dir = try CLI.temporaryDirectory()
        let clips = dir.appendingPathComponent("clips")
        try FileManager.default.createDirectory(at: clips, withIntermediateDirectories: true)
        let names = ["0188_03_021_al_pacino.avi", "0294_02_004_angelina_jolie.avi", "1815_01_008_tony_blair.avi"]
        for name in names {
            try FileManager.default.createSymbolicLink(atPath: clips.appendingPathComponent(name).path, withDestinationPath: CLI.media("video/openface_ytf/" + name))
        }
        let manifest = dir.appendingPathComponent("m.jsonl").path
        let written = try CLI.run(["batch", "au", "--inputs", clips.path + "/*", "-o", dir.path + "/csv/{stem}.csv", "--manifest", manifest,
                                   "--manifest-only", "--max-frames", "60"])
        #expect(written.status == 0, "\(written.stderr)")
        let yaml = dir.appendingPathComponent("job.yaml").path
        let k8s = try CLI.run(["batch", "k8s", manifest, "--tasks", "2", "--image", "registry.example/visage:0.2.0", "--cpus", "1",
                               "--memory", "2Gi", "--model-dir", "/models", "--accept-license", "-o", yaml])
        #expect(k8s.status == 0, "\(k8s.stderr)")

        let checked = try Self.validate(yaml)
        #expect(checked.status == 0, "schema check: \(checked.stderr)")
        let job = try #require(try JSONSerialization.jsonObject(with: Data(checked.stdout.utf8)) as? [String: Any])
        #expect(job["completionMode"] as? String == "Indexed" && job["completions"] as? Int == 2)
        let text = try String(contentsOfFile: yaml, encoding: .utf8)
        #expect(text.contains("backoffLimitPerIndex: 2") && text.contains("restartPolicy: Never"))
        let command = try #require(job["command"] as? [String])
        #expect(Array(command.prefix(3)) == ["visage", "batch", "run"])
        let env = try #require(job["env"] as? [String: String])
        #expect(env["VISAGE_MODEL_DIR"] == "/models" && env["VISAGE_ACCEPT_LICENSES"] == "1")

        // The check can fail: a misspelt mode, and a per-index backoff on a job that is not Indexed.
        for (from, to) in [("completionMode: Indexed", "completionMode: Indexd"), ("completionMode: Indexed", "completionMode: NonIndexed"),
                           ("values: [130, 137, 143]", "values: [143, 130]")] {
            let broken = dir.appendingPathComponent("broken.yaml").path
            try text.replacingOccurrences(of: from, with: to).write(toFile: broken, atomically: true, encoding: .utf8)
            #expect(try Self.validate(broken).status == 1, "\(to) must be refused")
        }

        // Each index, as its pod would run it (this machine's visage instead of the image's; the models where the
        // tests keep them).
        for index in 0..<2 {
            let pod = try Self.run([CLI.binary.path] + command.dropFirst(), environment: ["JOB_COMPLETION_INDEX": String(index)])
            #expect(pod.status == 0, "index \(index): \(pod.stderr)")
            #expect(pod.stderr.contains("task \(index)/2 (index from $JOB_COMPLETION_INDEX)"))
            #expect(pod.stdout.contains("batch \(index)/2: \(index == 0 ? 2 : 1) items: \(index == 0 ? 2 : 1) done"), "\(pod.stdout)")
        }
        for name in names {
            let stem = URL(fileURLWithPath: name).deletingPathExtension().lastPathComponent
            let reference = dir.appendingPathComponent("\(stem)-au.csv").path
            let au = try CLI.run(["au", clips.appendingPathComponent(name).path, "--max-frames", "60", "-o", reference])
            #expect(au.status == 0)
            let made = FileManager.default.contents(atPath: dir.path + "/csv/\(stem).csv")
            #expect(made != nil && made == FileManager.default.contents(atPath: reference), "\(stem)")
        }
        let status = try CLI.run(["batch", "status", dir.path + "/m.run", "--json"])
        #expect(status.json?["done"] as? Int == 3 && status.json?["shard_count"] as? Int == 2)
    }

    static var canRunSlurm: Bool {
        #if os(Linux)
        return geteuid() == 0
        #else
        return false
        #endif
    }

    @Test(.enabled(if: canRunSlurm, "a one-node Slurm cluster needs Linux and root (slurmd runs the jobs as their submitter)"))
    func aRealSlurmArrayMakesWhatVisageAUMakesAndAResubmittedCancelledTaskSkipsItsFinishedItems() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/slurmctld") || FileManager.default.isExecutableFile(atPath: "/usr/bin/slurmctld") else {
            Issue.record("Slurm is not installed: run scripts/setup.sh --test (Debian's slurm-wlm and munge)")
            return
        }
        let result = try Self.run([CLI.repository.appendingPathComponent("scripts/test-slurm-batch.sh").path, CLI.binary.path])
        #expect(result.status == 0, "\(result.stderr.suffix(4000))")
        let last = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], "\(result.stdout)")
        #expect(summary["identical_csvs"] as? Int == 9)
        let skipped = summary["skipped_on_resubmit"] as? Int ?? 0
        #expect(skipped >= 1 && skipped + (summary["completed_on_resubmit"] as? Int ?? 0) == 3)
        print("slurm batch test: \(last)")
    }
}
