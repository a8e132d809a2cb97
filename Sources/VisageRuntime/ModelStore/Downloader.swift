import Foundation
import VisageCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// HTTP(S) download with a progress bar on stderr and resume of interrupted transfers
/// (a `.part` file is kept and continued with a Range request).
enum Downloader {
    static func download(_ urlString: String, to destination: URL, expectedSize: Int64?, showProgress: Bool) throws {
        guard let url = URL(string: urlString) else { throw VisageError.downloadFailed(url: urlString, reason: "invalid URL") }
        let part = destination.appendingPathExtension("part")
        let existing = (try? FileManager.default.attributesOfItem(atPath: part.path)[.size] as? NSNumber)?.int64Value ?? 0
        var request = URLRequest(url: url, timeoutInterval: 60)
        if existing > 0 { request.setValue("bytes=\(existing)-", forHTTPHeaderField: "Range") }

        let delegate = DownloadDelegate(part: part, resumeFrom: existing, expectedSize: expectedSize, showProgress: showProgress,
                                        label: url.lastPathComponent)
        let session = URLSession(configuration: .default, delegate: delegate, delegateQueue: nil)
        let task = session.dataTask(with: request)
        task.resume()
        delegate.done.wait()
        session.finishTasksAndInvalidate()
        if let error = delegate.failure { throw VisageError.downloadFailed(url: urlString, reason: error) }
        try? FileManager.default.removeItem(at: destination)
        try FileManager.default.moveItem(at: part, to: destination)
    }
}

private final class DownloadDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    var failure: String?
    private let part: URL
    private var handle: FileHandle?
    private var received: Int64
    private var total: Int64?
    private let showProgress: Bool
    private let label: String
    private var lastDraw = Date.distantPast

    init(part: URL, resumeFrom: Int64, expectedSize: Int64?, showProgress: Bool, label: String) {
        self.part = part
        self.received = resumeFrom
        self.total = expectedSize
        self.showProgress = showProgress
        self.label = label
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else { completionHandler(.allow); return }
        guard (200..<300).contains(http.statusCode) else {
            failure = "HTTP \(http.statusCode)"
            completionHandler(.cancel)
            return
        }
        if http.statusCode == 200 { received = 0 }   // server ignored the Range request: start over
        let expected = http.expectedContentLength
        if expected > 0 { total = received + expected }
        if !FileManager.default.fileExists(atPath: part.path) || http.statusCode == 200 {
            FileManager.default.createFile(atPath: part.path, contents: nil)
        }
        handle = FileHandle(forWritingAtPath: part.path)
        if http.statusCode == 206 { handle?.seekToEndOfFile() } else { handle?.truncateFile(atOffset: 0) }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        handle?.write(data)
        received += Int64(data.count)
        draw(final: false)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        try? handle?.close()
        if let error, failure == nil { failure = error.localizedDescription }
        draw(final: true)
        done.signal()
    }

    private func draw(final: Bool) {
        guard showProgress else { return }
        let now = Date()
        guard final || now.timeIntervalSince(lastDraw) > 0.2 else { return }
        lastDraw = now
        var line = "\r  \(label) \(ByteFormat.string(received))"
        if let total, total > 0 {
            let fraction = min(1, Double(received) / Double(total))
            let width = 30
            let filled = Int(fraction * Double(width))
            line += " / \(ByteFormat.string(total)) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                + "] " + String(format: "%3.0f%%", fraction * 100)
        }
        FileHandle.standardError.write(Data((line + (final ? "\n" : "")).utf8))
    }
}
