import Foundation
import VisageCore

/// A Kubernetes Indexed Job (batch/v1) with the same per-task contract as the Slurm array: pod i of n runs
/// `visage batch run MANIFEST --tasks n` and finds i in `JOB_COMPLETION_INDEX`. Each index is retried up to
/// `backoffLimitPerIndex` times when its pod is killed or evicted (a retry skips what the killed pod
/// finished), while a pod that exits because some of its items failed fails its index at once: retrying
/// would fail them again; `--retry-failed` after fixing them is the way.
public struct KubernetesIndexedJob: Sendable, Equatable {
    public var name: String
    public var image: String
    /// The command's first word inside the image.
    public var binary = "visage"
    /// Paths as the pods see them.
    public var manifest: String
    public var runDirectory: String
    public var tasks: Int
    /// Pods at once; nil: as many as `tasks`.
    public var parallelism: Int?
    public var backoffLimitPerIndex = 2
    /// CPUs each pod asks for (and plans its items for).
    public var cpus: Int?
    /// Memory each pod asks for, a Kubernetes quantity ("8Gi").
    public var memory: String?
    /// A PersistentVolumeClaim with the data (media, manifest, outputs, run directory), mounted at `mountPath`.
    public var volumeClaim: String?
    public var mountPath: String?
    /// VISAGE_MODEL_DIR in the pods: models installed once on shared storage.
    public var modelDirectory: String?
    /// Sets VISAGE_ACCEPT_LICENSES=1 in the pods (OpenFace's models need their licence accepted).
    public var acceptLicenses = false
    /// Options passed through to `visage batch run`.
    public var runArguments: [String] = []

    /// The exit codes of a pod that was stopped rather than failed: SIGTERM as visage reports it (130),
    /// and a kill by the kernel or the kubelet (137 = SIGKILL, 143 = SIGTERM). Any other failure fails the index.
    public static let retriedExitCodes = [130, 137, 143]

    /// "visage-batch-<manifest name>" as a Kubernetes name allows it: lower case letters, digits and dashes, at
    /// most 52 characters (the Job controller appends an index and a suffix to pod names).
    public static func defaultName(forManifest path: String) -> String {
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent.lowercased()
            .map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return String(("visage-batch-" + String(stem)).prefix(52)).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
    }

    public init(name: String, image: String, manifest: String, runDirectory: String, tasks: Int) {
        self.name = name
        self.image = image
        self.manifest = manifest
        self.runDirectory = runDirectory
        self.tasks = tasks
    }

    public func validate() throws {
        try OptionRules.check("tasks", tasks, in: BatchShard.countRange)
        if let parallelism { try OptionRules.check("parallelism", parallelism, in: 1...BatchShard.countRange.upperBound) }
        try OptionRules.check("backoff-limit-per-index", backoffLimitPerIndex, in: 0...100)
        if let cpus { try OptionRules.check("cpus", cpus, in: 1...4096) }
        // A DNS-1123 label: the Job's pods are named after it.
        let label = name.range(of: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", options: .regularExpression) != nil
        guard label, name.count <= 52 else {
            throw VisageError.invalidArgument("job name \(name) must be lower-case letters, digits and '-', at most 52 characters, starting and ending with a letter or digit")
        }
        guard !image.isEmpty else { throw VisageError.invalidArgument("give the container image that has visage") }
        if (volumeClaim == nil) != (mountPath == nil) { throw VisageError.invalidArgument("a volume claim needs the path to mount it at, and the other way round") }
        for path in [manifest, runDirectory] + [mountPath, modelDirectory].compactMap({ $0 }) where !path.hasPrefix("/") {
            throw VisageError.invalidArgument("\(path) must be an absolute path (as the pods see it)")
        }
    }

    /// The container's command.
    public var command: [String] {
        [binary, "batch", "run", manifest, "--run-dir", runDirectory, "--tasks", String(tasks)] + (cpus.map { ["--cores", String($0)] } ?? []) + runArguments
    }

    /// The Job as YAML (every string JSON-quoted, which YAML reads as it is).
    public var yaml: String {
        var y = YAMLLines()
        y.add(0, "# Written by visage batch k8s: \(tasks) indexed pod\(tasks == 1 ? "" : "s") over \(manifest).")
        y.add(0, "# Pod i runs items i, i+\(tasks), ... of the manifest; finished items are skipped, so a retried pod resumes.")
        y.add(0, "apiVersion: \(q("batch/v1"))")
        y.add(0, "kind: Job")
        y.add(0, "metadata:")
        y.add(1, "name: \(q(name))")
        y.add(1, "labels:")
        y.add(2, "app.kubernetes.io/name: \(q("visage-batch"))")
        y.add(0, "spec:")
        y.add(1, "completionMode: Indexed")
        y.add(1, "completions: \(tasks)")
        y.add(1, "parallelism: \(parallelism ?? tasks)")
        y.add(1, "backoffLimitPerIndex: \(backoffLimitPerIndex)")
        y.add(1, "podFailurePolicy:")
        y.add(2, "rules:")
        y.add(2, "- action: Ignore")
        y.add(3, "onPodConditions:")
        y.add(3, "- type: DisruptionTarget")
        y.add(2, "- action: FailIndex")
        y.add(3, "onExitCodes:")
        y.add(4, "containerName: \(q("visage"))")
        y.add(4, "operator: NotIn")
        y.add(4, "values: [\(Self.retriedExitCodes.map(String.init).joined(separator: ", "))]")
        y.add(1, "template:")
        y.add(2, "metadata:")
        y.add(3, "labels:")
        y.add(4, "app.kubernetes.io/name: \(q("visage-batch"))")
        y.add(2, "spec:")
        y.add(3, "restartPolicy: Never")
        y.add(3, "containers:")
        y.add(3, "- name: \(q("visage"))")
        y.add(4, "image: \(q(image))")
        y.add(4, "command: [\(command.map(q).joined(separator: ", "))]")
        var env: [(String, String)] = []
        if let modelDirectory { env.append(("VISAGE_MODEL_DIR", modelDirectory)) }
        if acceptLicenses { env.append(("VISAGE_ACCEPT_LICENSES", "1")) }
        if !env.isEmpty {
            y.add(4, "env:")
            for (k, v) in env {
                y.add(4, "- name: \(q(k))")
                y.add(5, "value: \(q(v))")
            }
        }
        if cpus != nil || memory != nil {
            y.add(4, "resources:")
            y.add(5, "requests:")
            if let cpus { y.add(6, "cpu: \(q(String(cpus)))") }
            if let memory { y.add(6, "memory: \(q(memory))") }
        }
        if let volumeClaim, let mountPath {
            y.add(4, "volumeMounts:")
            y.add(4, "- name: \(q("data"))")
            y.add(5, "mountPath: \(q(mountPath))")
            y.add(3, "volumes:")
            y.add(3, "- name: \(q("data"))")
            y.add(4, "persistentVolumeClaim:")
            y.add(5, "claimName: \(q(volumeClaim))")
        }
        return y.text
    }

    public func write(to path: String) throws {
        try validate()
        try AtomicFile.write(Data(yaml.utf8), to: URL(fileURLWithPath: path).standardizedFileURL)
    }

    /// A JSON string literal, which is also a YAML double-quoted scalar.
    private func q(_ s: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return String(decoding: (try? encoder.encode(s)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}

/// Lines of YAML at two spaces per level.
private struct YAMLLines {
    var lines: [String] = []
    mutating func add(_ level: Int, _ line: String) { lines.append(String(repeating: "  ", count: level) + line) }
    var text: String { lines.joined(separator: "\n") + "\n" }
}
