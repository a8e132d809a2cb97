import Foundation
import Testing
import VisageCore
@testable import VisageRuntime

/// The model downloader (the `curl` program) against a real HTTP server on loopback: no internet needed.
@Suite struct DownloaderTests {
    /// Deterministic bytes that are not a repeating pattern a wrong offset could still match.
    static func payload(_ count: Int) -> Data {
        var state: UInt32 = 0x9E37_79B9
        return Data((0..<count).map { _ in
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            return UInt8(truncatingIfNeeded: state)
        })
    }

    @Test func downloadsAWholeFileAndReportsProgress() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let bytes = Self.payload(300_000)
        try server.serve(bytes, as: "model.onnx")
        let destination = try RuntimeFixtures.temporaryDirectory().appendingPathComponent("model.onnx")
        var reports: [(Int64, Int64?)] = []
        try Downloader.download(server.url("fast", "model.onnx"), to: destination, expectedSize: Int64(bytes.count),
                                progress: { reports.append(($0, $1)) })
        #expect(try Data(contentsOf: destination) == bytes)
        #expect(!FileManager.default.fileExists(atPath: destination.path + ".part"))
        #expect(reports.last.map { $0.0 == 300_000 && $0.1 == 300_000 } == true)
        #expect(server.requests == ["/fast/model.onnx -"])
    }

    @Test func learnsTheSizeFromTheServerWhenTheCatalogHasNone() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let bytes = Self.payload(60_000)
        try server.serve(bytes, as: "buffalo.zip")
        let destination = try RuntimeFixtures.temporaryDirectory().appendingPathComponent("buffalo.zip")
        var totals: [Int64?] = []
        // The slow route trickles 4 KiB every 50 ms, so the transfer is watched while it runs.
        try Downloader.download(server.url("slow", "buffalo.zip"), to: destination, expectedSize: nil,
                                progress: { _, total in totals.append(total) })
        #expect(try Data(contentsOf: destination) == bytes)
        #expect(totals.count > 2)
        #expect(totals.dropLast().contains(60_000), "Content-Length seen while the transfer ran")
    }

    @Test func resumesAPartialDownloadWithARangeRequest() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let bytes = Self.payload(250_000)
        try server.serve(bytes, as: "w600k.onnx")
        let destination = try RuntimeFixtures.temporaryDirectory().appendingPathComponent("w600k.onnx")
        try bytes.prefix(100_000).write(to: destination.appendingPathExtension("part"))
        try Downloader.download(server.url("fast", "w600k.onnx"), to: destination, expectedSize: Int64(bytes.count), progress: nil)
        #expect(try Data(contentsOf: destination) == bytes)
        #expect(server.requests == ["/fast/w600k.onnx bytes=100000-"], "only the missing tail was asked for")
    }

    @Test func startsOverWhenTheServerIgnoresRanges() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let bytes = Self.payload(120_000)
        try server.serve(bytes, as: "pfld.onnx")
        let destination = try RuntimeFixtures.temporaryDirectory().appendingPathComponent("pfld.onnx")
        try Data(repeating: 0xAB, count: 50_000).write(to: destination.appendingPathExtension("part"))
        try Downloader.download(server.url("norange", "pfld.onnx"), to: destination, expectedSize: Int64(bytes.count), progress: nil)
        #expect(try Data(contentsOf: destination) == bytes)
        #expect(server.requests == ["/norange/pfld.onnx bytes=50000-", "/norange/pfld.onnx -"])
    }

    @Test func aMissingFileIsAClearErrorAndLeavesNothingBehind() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let destination = try RuntimeFixtures.temporaryDirectory().appendingPathComponent("gone.onnx")
        let url = server.url("fast", "gone.onnx")
        let error = #expect(throws: VisageError.self) {
            try Downloader.download(url, to: destination, expectedSize: 1000, progress: nil)
        }
        guard case .downloadFailed(let failedURL, let reason)? = error else {
            Issue.record("expected downloadFailed, got \(String(describing: error))"); return
        }
        #expect(failedURL == url)
        #expect(reason.contains("404"), "\(reason)")
        #expect(!FileManager.default.fileExists(atPath: destination.path))
        #expect(!FileManager.default.fileExists(atPath: destination.path + ".part"))
    }

    @Test func stoppingKeepsThePartialFileAndTheNextRunContinuesIt() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let bytes = Self.payload(200_000)
        try server.serve(bytes, as: "inswapper.onnx")
        let destination = try RuntimeFixtures.temporaryDirectory().appendingPathComponent("inswapper.onnx")
        let part = destination.appendingPathExtension("part")
        var received: Int64 = 0
        #expect(throws: VisageError.interrupted) {
            try Downloader.download(server.url("slow", "inswapper.onnx"), to: destination, expectedSize: Int64(bytes.count),
                                    progress: { bytes, _ in received = bytes }, shouldStop: { received > 0 })
        }
        #expect(!FileManager.default.fileExists(atPath: destination.path))
        let kept = try Data(contentsOf: part)
        #expect(kept.count > 0 && kept.count < bytes.count)
        #expect(kept == bytes.prefix(kept.count))

        try Downloader.download(server.url("fast", "inswapper.onnx"), to: destination, expectedSize: Int64(bytes.count), progress: nil)
        #expect(try Data(contentsOf: destination) == bytes)
        #expect(server.requests.last == "/fast/inswapper.onnx bytes=\(kept.count)-")
    }

    @Test func aTransferOfTheWrongSizeIsRefused() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        try server.serve(Self.payload(10_000), as: "short.onnx")
        let destination = try RuntimeFixtures.temporaryDirectory().appendingPathComponent("short.onnx")
        let error = #expect(throws: VisageError.self) {
            try Downloader.download(server.url("fast", "short.onnx"), to: destination, expectedSize: 10_001, progress: nil)
        }
        #expect(error.map { "\($0)" }?.contains("10001 were expected") == true)
        #expect(!FileManager.default.fileExists(atPath: destination.path))
        #expect(!FileManager.default.fileExists(atPath: destination.path + ".part"))
    }

    @Test func withoutCurlTheErrorSaysWhatToInstallAndTheOfflineWay() throws {
        let destination = try RuntimeFixtures.temporaryDirectory().appendingPathComponent("x.onnx")
        let error = #expect(throws: VisageError.self) {
            try Downloader.download("https://example.com/x.onnx", to: destination, expectedSize: nil, progress: nil,
                                    searchPath: "/nonexistent-visage-bin")
        }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("apt install curl"))
        #expect(text.contains("VISAGE_MODEL_MIRROR"))
    }

    @Test func onlyHTTPURLsAreFetched() throws {
        let destination = try RuntimeFixtures.temporaryDirectory().appendingPathComponent("x.onnx")
        #expect(throws: VisageError.self) {
            try Downloader.download("file:///etc/passwd", to: destination, expectedSize: nil, progress: nil)
        }
        #expect(!FileManager.default.fileExists(atPath: destination.path))
    }
}

/// A Python HTTP server on 127.0.0.1 (random port) serving files from a temporary folder, with three
/// routes: `/fast/NAME` (honours Range), `/slow/NAME` (honours Range, 4 KiB every 50 ms) and
/// `/norange/NAME` (answers 200 with the whole file whatever the Range). Logs "PATH RANGE" per request.
final class LoopbackHTTPServer {
    let root: URL
    private(set) var port = 0
    private let process = Process()
    private let log: URL

    private static let script = #"""
    import http.server, os, sys, time
    root, port_file, log_file = sys.argv[1:4]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *args):
            pass
        def do_GET(self):
            mode, _, name = self.path.lstrip("/").partition("/")
            wanted = self.headers.get("Range")
            with open(log_file, "a") as log:
                log.write(f"{self.path} {wanted or '-'}\n")
            path = os.path.join(root, os.path.basename(name))
            if not os.path.isfile(path):
                body = b"no such file\n"
                self.send_response(404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            with open(path, "rb") as f:
                data = f.read()
            start = 0
            if wanted and mode != "norange":
                start = int(wanted.split("=", 1)[1].split("-", 1)[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            step = 4096 if mode == "slow" else len(data)
            for offset in range(start, len(data), step):
                self.wfile.write(data[offset:offset + step])
                self.wfile.flush()
                if mode == "slow":
                    time.sleep(0.05)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()
    """#

    init() throws {
        root = try RuntimeFixtures.temporaryDirectory()
        log = root.appendingPathComponent("requests.log")
        let scriptURL = root.appendingPathComponent("server.py"), portFile = root.appendingPathComponent("port")
        try Self.script.write(to: scriptURL, atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", scriptURL.path, root.appendingPathComponent("files").path, portFile.path, log.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice   // BrokenPipe tracebacks when a client stops early
        try FileManager.default.createDirectory(at: root.appendingPathComponent("files"), withIntermediateDirectories: true)
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let value = Int(text) { port = value; return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        stop()
        throw VisageError.invalidArgument("the loopback test server (python3 \(scriptURL.path)) did not start")
    }

    func serve(_ data: Data, as name: String) throws {
        try data.write(to: root.appendingPathComponent("files/\(name)"))
    }

    func url(_ route: String, _ name: String) -> String { "http://127.0.0.1:\(port)/\(route)/\(name)" }

    /// "PATH RANGE" for every request so far, oldest first.
    var requests: [String] {
        ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func stop() {
        // SIGKILL: the server inherits the test thread's signal mask, in which SIGTERM is blocked.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
