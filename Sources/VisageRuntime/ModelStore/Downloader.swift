import Foundation
import VisageCore

/// HTTP(S) download through the `curl` program, with resume of interrupted transfers (a `.part` file
/// next to the destination is continued with a Range request) and progress from the part file's size.
///
/// Why a program and not URLSession: on Linux URLSession lives in FoundationNetworking, which links
/// libcurl and its dozen dependencies (TLS, HTTP/2, LDAP, Kerberos, ...) into every Visage binary, and
/// the portable bundle (docs/BUNDLE.md) would have to carry all of them for the one job of fetching
/// models. `curl` is on nearly every machine; where it is not, the error says so and names the
/// offline alternative (VISAGE_MODEL_MIRROR).
enum Downloader {
    /// Bytes in the part file so far, and the full size when known (from the catalog or the server).
    typealias Progress = (_ received: Int64, _ total: Int64?) -> Void

    private static let logger = VisageLog.logger("download")
    /// How often a running transfer is looked at (progress, cancellation).
    private static let pollInterval: TimeInterval = 0.1

    /// Downloads `urlString` to `destination`, drawing a progress bar on stderr when `showProgress`.
    static func download(_ urlString: String, to destination: URL, expectedSize: Int64?, showProgress: Bool) throws {
        let bar = showProgress ? ProgressBar(label: URL(string: urlString)?.lastPathComponent ?? destination.lastPathComponent) : nil
        defer { bar?.finish() }
        try download(urlString, to: destination, expectedSize: expectedSize,
                     progress: bar.map { bar in { received, total in bar.draw(received: received, total: total) } })
    }

    /// Downloads `urlString` to `destination` (replaced only once the whole file is there).
    ///
    /// - Parameters:
    ///   - expectedSize: the size the catalog promises; a transfer that ends with another size fails.
    ///   - progress: called every ~0.1 s while curl runs and once at the end.
    ///   - shouldStop: polled as often; when it returns true curl is stopped, the part file is kept for
    ///     a later resume, and `VisageError.interrupted` is thrown.
    ///   - searchPath: where to look for `curl` (the PATH environment variable when nil).
    static func download(_ urlString: String, to destination: URL, expectedSize: Int64?,
                         progress: Progress?, shouldStop: () -> Bool = { false }, searchPath: String? = nil) throws {
        guard let url = URL(string: urlString), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme) else {
            throw VisageError.downloadFailed(url: urlString, reason: "not an http(s) URL")
        }
        guard let curl = findCurl(searchPath: searchPath ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") else {
            throw VisageError.downloadFailed(url: urlString, reason:
                "the `curl` program is not on PATH and Visage downloads through it; install curl (Debian/Ubuntu: apt install curl) "
                + "or, without network, set VISAGE_MODEL_MIRROR to a local folder laid out like shared/models")
        }
        let part = destination.appendingPathExtension("part")
        if let expectedSize, let size = fileSize(part), size > expectedSize {
            logger.info("\(part.lastPathComponent) is larger than the expected \(expectedSize) bytes; starting over")
            try? FileManager.default.removeItem(at: part)
        }
        var resume = true
        transfers: while true {
            switch try transfer(curl: curl, url: urlString, part: part, resume: resume, expectedSize: expectedSize,
                                progress: progress, shouldStop: shouldStop) {
            case .done:
                break transfers
            case .rangeRefused where resume:
                // The server ignores Range requests: the only way on is a fresh transfer.
                logger.info("\(url.host ?? urlString) cannot resume \(part.lastPathComponent); downloading it again from the start")
                try? FileManager.default.removeItem(at: part)
                resume = false
            case .rangeRefused:
                throw VisageError.downloadFailed(url: urlString, reason: "the server refused the transfer (curl exit 33)")
            case .failed(let reason):
                if fileSize(part) == 0 { try? FileManager.default.removeItem(at: part) }
                let kept = fileSize(part).map { "; the \($0) bytes received are kept in \(part.path) and the next attempt continues from there" } ?? ""
                throw VisageError.downloadFailed(url: urlString, reason: reason + kept)
            }
        }
        let received = fileSize(part) ?? 0
        if let expectedSize, received != expectedSize {
            try? FileManager.default.removeItem(at: part)
            throw VisageError.downloadFailed(url: urlString, reason: "got \(received) bytes where \(expectedSize) were expected; the partial file was removed, try again")
        }
        progress?(received, expectedSize ?? received)
        try? FileManager.default.removeItem(at: destination)
        try FileManager.default.moveItem(at: part, to: destination)
    }

    private enum Outcome {
        case done
        /// curl exit 33: resuming was asked for and the server answered without a byte range.
        case rangeRefused
        case failed(String)
    }

    /// One run of curl, appending to `part` when `resume`.
    private static func transfer(curl: String, url: String, part: URL, resume: Bool, expectedSize: Int64?,
                                 progress: Progress?, shouldStop: () -> Bool) throws -> Outcome {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("visage-curl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let headers = scratch.appendingPathComponent("headers"), errors = scratch.appendingPathComponent("stderr")
        guard FileManager.default.createFile(atPath: errors.path, contents: nil),
              let errorHandle = FileHandle(forWritingAtPath: errors.path) else {
            throw VisageError.writeFailed(path: errors.path, reason: "cannot create curl's error log")
        }
        defer { try? errorHandle.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: curl)
        process.arguments = curlArguments(url: url, part: part, headers: headers, resume: resume)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errorHandle
        do { try process.run() } catch {
            return .failed("cannot start \(curl): \(error)")
        }
        var total = expectedSize
        while process.isRunning {
            if shouldStop() {
                // SIGKILL, not terminate(): a child inherits the spawning thread's signal mask, and
                // worker threads (dispatch, Swift concurrency) block SIGTERM. The part file stays usable.
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw VisageError.interrupted
            }
            if total == nil { total = announcedSize(headersFile: headers) }
            progress?(fileSize(part) ?? 0, total)
            Thread.sleep(forTimeInterval: pollInterval)
        }
        process.waitUntilExit()

        let status = process.terminationStatus
        if process.terminationReason == .uncaughtSignal {
            return .failed("curl was stopped by signal \(status)")
        }
        switch status {
        case 0: return .done
        case 33: return .rangeRefused
        default:
            let said = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            return .failed(describeFailure(exitCode: status, stderr: said, statusLine: lastStatusLine(headersFile: headers)))
        }
    }

    /// The command line of one transfer.
    static func curlArguments(url: String, part: URL, headers: URL, resume: Bool) -> [String] {
        var arguments = [
            "-q",                                    // ignore ~/.curlrc: the same transfer for every user
            "--fail", "--location", "--max-redirs", "10",
            "--silent", "--show-error",
            "--proto", "=http,https", "--proto-redir", "=http,https",
            // No overall limit (models are up to 0.5 GB): give up on a dead connection instead.
            "--connect-timeout", "30", "--speed-limit", "1024", "--speed-time", "60",
            "--retry", "2", "--retry-delay", "2",
            "--dump-header", headers.path,
            "--output", part.path,
        ]
        if resume { arguments += ["--continue-at", "-"] }
        arguments += ["--url", url]
        return arguments
    }

    /// A one-line reason from curl's exit code, its stderr and the server's last status line.
    static func describeFailure(exitCode: Int32, stderr: String, statusLine: String?) -> String {
        let message = stderr.split(whereSeparator: \.isNewline).last.map { line -> String in
            // "curl: (22) The requested URL returned error: 404" -> the part after the code
            var text = Substring(line)
            if text.hasPrefix("curl: ("), let close = text.firstIndex(of: ")") { text = text[text.index(after: close)...] }
            return text.trimmingCharacters(in: .whitespaces)
        } ?? ""
        switch exitCode {
        case 22:
            let status = statusLine ?? message
            return "the server answered \(status)"
        case 6: return "cannot resolve the host (\(message)); check the network or set VISAGE_MODEL_MIRROR"
        case 7: return "cannot connect (\(message)); check the network or set VISAGE_MODEL_MIRROR"
        case 28: return "the connection stalled or timed out (\(message))"
        default: return message.isEmpty ? "curl exited with status \(exitCode)" : "\(message) (curl exit \(exitCode))"
        }
    }

    /// The status line of the last response curl saw ("HTTP/1.1 404 Not Found"), after any redirects.
    static func lastStatusLine(headersFile: URL) -> String? {
        guard let text = try? String(contentsOf: headersFile, encoding: .utf8) else { return nil }
        return text.split(whereSeparator: \.isNewline).last { $0.hasPrefix("HTTP/") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The full size the server announced in its last response: Content-Range's total for a resumed
    /// transfer (206), Content-Length for a whole one (200); nil until the headers are in.
    static func announcedSize(headersFile: URL) -> Int64? {
        guard let text = try? String(contentsOf: headersFile, encoding: .utf8) else { return nil }
        let lines = text.split(whereSeparator: \.isNewline)
        guard let start = lines.lastIndex(where: { $0.hasPrefix("HTTP/") }) else { return nil }
        let status = lines[start].split(separator: " ").dropFirst().first.flatMap { Int($0) }
        for line in lines[lines.index(after: start)...] {
            let pair = line.split(separator: ":", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let name = pair[0].lowercased(), value = pair[1].trimmingCharacters(in: .whitespaces)
            if status == 206, name == "content-range", let slash = value.lastIndex(of: "/") {
                return Int64(value[value.index(after: slash)...])
            }
            if status == 200, name == "content-length" { return Int64(value) }
        }
        return nil
    }

    static func findCurl(searchPath: String) -> String? {
        for dir in searchPath.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/curl"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    private static func fileSize(_ url: URL) -> Int64? {
        (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value
    }
}

/// The one-line progress bar of `visage models install`, redrawn at most five times a second.
private final class ProgressBar {
    private let label: String
    private var lastDraw = Date.distantPast
    private var last: (received: Int64, total: Int64?) = (0, nil)
    private var drawn = false

    init(label: String) { self.label = label }

    func draw(received: Int64, total: Int64?) {
        last = (received, total)
        let now = Date()
        guard now.timeIntervalSince(lastDraw) > 0.2 else { return }
        lastDraw = now
        render(final: false)
    }

    /// Ends the line (with the last numbers) if anything was drawn.
    func finish() { if drawn { render(final: true) } }

    private func render(final: Bool) {
        drawn = true
        var line = "\r  \(label) \(ByteFormat.string(last.received))"
        if let total = last.total, total > 0 {
            let fraction = min(1, Double(last.received) / Double(total))
            let width = 30
            let filled = Int(fraction * Double(width))
            line += " / \(ByteFormat.string(total)) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                + "] " + String(format: "%3.0f%%", fraction * 100)
        }
        FileHandle.standardError.write(Data((line + (final ? "\n" : "")).utf8))
    }
}
