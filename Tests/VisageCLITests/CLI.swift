import Foundation

/// Runs the built `visage` binary, as a user would.
struct CLI {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] }
    }

    static let repository: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { dir.deleteLastPathComponent() }
        return dir
    }()

    static let binary: URL = {
        // The test bundle sits next to the binary in .build/<config>/.
        let candidates = [Bundle.main.bundleURL.deletingLastPathComponent(), Bundle.main.bundleURL,
                          repository.appendingPathComponent(".build/debug")]
        return candidates.map { $0.appendingPathComponent("visage") }.first { FileManager.default.isExecutableFile(atPath: $0.path) }
            ?? repository.appendingPathComponent(".build/debug/visage")
    }()

    static func media(_ relative: String) -> String {
        repository.deletingLastPathComponent().appendingPathComponent("shared/media/\(relative)").path
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("visage-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// `ffprobe -count_frames` of `path`, CSV without keys: the `entries` (e.g. "stream=codec_type,nb_read_frames")
    /// of the streams `streams` selects (all when nil), one line per stream. An independent reader of what we wrote.
    static func ffprobe(_ path: String, entries: String, streams: String? = nil) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffprobe", "-v", "error", "-count_frames"] + (streams.map { ["-select_streams", $0] } ?? [])
            + ["-show_entries", entries, "-of", "csv=p=0", path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        p.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    /// One model cache per test process, so CLI runs reuse installed models.
    static let modelDirectory: String = FileManager.default.temporaryDirectory
        .appendingPathComponent("visage-cli-models-\(ProcessInfo.processInfo.processIdentifier)").path

    static func run(_ arguments: [String], environment extra: [String: String] = [:], removing: [String] = []) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["VISAGE_MODEL_DIR"] = modelDirectory
        env.removeValue(forKey: "VISAGE_ACCELERATOR")
        for key in removing { env.removeValue(forKey: key) }
        for (k, v) in extra { env[k] = v }
        process.environment = env
        process.currentDirectoryURL = repository
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes concurrently so a chatty child cannot block on a full pipe.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}
