import Foundation
import Testing
import VisageCore

/// `visage serve` as a user starts it: the real binary on a free loopback port, its own data directory.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    let dataDirectory: URL
    private(set) var port = 0
    private let errPipe = Pipe()
    private let stderrText = Locked("")

    /// Starts the server and waits for its "listening on" line.
    init(dataDirectory: URL, arguments: [String] = [], environment extra: [String: String] = [:]) throws {
        self.dataDirectory = dataDirectory
        process.executableURL = CLI.binary
        process.arguments = ["serve", "--port", "0", "--data-dir", dataDirectory.path] + arguments
        var env = ProcessInfo.processInfo.environment
        env["VISAGE_MODEL_DIR"] = CLI.modelDirectory
        env.removeValue(forKey: "VISAGE_ACCELERATOR")
        env.removeValue(forKey: "VISAGE_TOKEN")
        env.merge(LiveCLITests.mirror) { $1 }
        for (k, v) in extra { env[k] = v }
        process.environment = env
        process.currentDirectoryURL = CLI.repository
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errPipe
        let text = stderrText
        errPipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && process.isRunning {
            if let line = stderr.split(separator: "\n").first(where: { $0.contains("listening on http://127.0.0.1:") }),
               let port = Int(line.split(separator: ":")[safe: 3]?.prefix { $0.isNumber } ?? "") {
                self.port = port
                return
            }
            usleep(50_000)
        }
        process.terminate()
        throw VisageError.invalidArgument("visage serve did not start: \(stderr)")
    }

    var stderr: String { stderrText.value }
    var base: String { "http://127.0.0.1:\(port)" }
    var pid: Int32 { process.processIdentifier }

    /// SIGTERM, as systemd stops it; waits for the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        errPipe.fileHandleForReading.readabilityHandler = nil
        return process.terminationStatus
    }

    /// SIGKILL: the process dies where it is.
    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        errPipe.fileHandleForReading.readabilityHandler = nil
    }

    /// Resident memory now (from /proc), in MB.
    var residentMB: Double {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Double(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}

/// HTTP through curl, an independent client: status, headers, body.
enum HTTP {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        var errorField: String? { (json["error"] as? [String: Any])?["field"] as? String }
    }

    static func request(_ method: String, _ url: String, headers: [String: String] = [:], body: Data? = nil, file: String? = nil,
                        timeout: Double = 120) throws -> Response {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("visage-curl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var args = ["-sS", "-X", method, "-o", dir.appendingPathComponent("body").path, "-D", dir.appendingPathComponent("headers").path,
                    "-w", "%{http_code}", "--max-time", String(Int(timeout))]
        for (k, v) in headers { args += ["-H", "\(k): \(v)"] }
        if let body {
            try body.write(to: dir.appendingPathComponent("in"))
            args += ["--data-binary", "@" + dir.appendingPathComponent("in").path]
        }
        if let file { args += ["--data-binary", "@" + file] }
        args.append(url)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["curl"] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let status = Int(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)) ?? 0
        p.waitUntilExit()
        var headerMap: [String: String] = [:]
        let headerText = (try? String(contentsOf: dir.appendingPathComponent("headers"), encoding: .utf8)) ?? ""
        for line in headerText.split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { headerMap[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        let data = (try? Data(contentsOf: dir.appendingPathComponent("body"))) ?? Data()
        return Response(status: status, headers: headerMap, body: data)
    }

    static func json(_ method: String, _ url: String, _ object: Any, headers: [String: String] = [:]) throws -> Response {
        try request(method, url, headers: headers.merging(["Content-Type": "application/json"]) { $1 },
                    body: try JSONSerialization.data(withJSONObject: object))
    }

    /// Uploads a file; returns its id.
    static func upload(_ server: ServeProcess, _ path: String, kind: String, headers: [String: String] = [:]) throws -> String {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let r = try request("POST", "\(server.base)/v1/files?kind=\(kind)&name=\(name)", headers: headers, file: path)
        guard r.status == 201, let id = r.json["id"] as? String else { throw VisageError.invalidArgument("upload of \(path): \(r.status) \(r.text)") }
        return id
    }

    /// Polls a job until it is final.
    static func wait(_ server: ServeProcess, job: String, timeout: Double = 600, headers: [String: String] = [:]) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let job = try request("GET", "\(server.base)/v1/jobs/\(job)", headers: headers).json
            if let state = job["state"] as? String, ["succeeded", "failed", "cancelled"].contains(state) { return job }
            usleep(200_000)
        }
        Issue.record("job \(job) did not finish within \(timeout) s")
        return [:]
    }
}

/// Runs async work on a thread of its own, not on Swift's shared pool: a network client in a test must
/// keep answering (pings, reads) while other tests of the process block the pool's few threads.
final class OwnThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let queue: DispatchQueue
    init(label: String) { queue = DispatchQueue(label: label) }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
