import Foundation
import Testing
import VisageLive
import VisageServer
import VisageMedia

@Suite struct LiveCLITests {
    static let mirror = ["VISAGE_MODEL_MIRROR": CLI.repository.deletingLastPathComponent().appendingPathComponent("shared/models").path]

    /// A socket listening on a port the OS chose (the port is free again once it is closed).
    static func listeningSocket() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = INADDR_ANY
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { throw CocoaError(.fileWriteUnknown) }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    static func freePort() throws -> Int {
        let (fd, port) = try listeningSocket()
        close(fd)
        return port
    }

    /// "Done when": a real-time video through the landmark swapper, served as MJPEG that a
    /// client can show, and recorded with as many frames as were output.
    @Test func streamsFramesABrowserCanShowAndRecordsEveryOutputFrame() throws {
        let dir = try CLI.temporaryDirectory()
        let recording = dir.appendingPathComponent("rec.mp4").path
        let port = try Self.freePort()
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["live", "-i", CLI.media("video/openface/2015-10-15-15-14.avi"), "--realtime", "-s", "Samples/obama.jpg",
                             "--stream", "127.0.0.1:\(port)", "-o", recording, "--max-frames", "75", "--stats-json", "--quiet"]
        var env = ProcessInfo.processInfo.environment
        env["VISAGE_MODEL_DIR"] = CLI.modelDirectory
        env.merge(Self.mirror) { $1 }
        process.environment = env
        process.currentDirectoryURL = CLI.repository
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        nonisolated(unsafe) var stdout = Data(), stderr = Data()
        let group = DispatchGroup()
        group.enter(); DispatchQueue.global().async { stdout = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter(); DispatchQueue.global().async { stderr = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }

        // The server is up before capture starts; frames flow once the models are loaded.
        var response: MJPEGClient.Response?
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && process.isRunning {
            if let r = try? MJPEGClient.fetch(port: port, path: "/stream.mjpg", count: 4, timeout: 10), r.jpegs.count == 4 { response = r; break }
            usleep(200_000)
        }
        group.wait()
        process.waitUntilExit()
        let errText = String(decoding: stderr, as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(errText)")
        let frames = try #require(response, "no MJPEG frames served; stderr: \(errText)").jpegs
        #expect(response?.headers.contains("multipart/x-mixed-replace; boundary=") == true)
        for jpeg in frames {
            let image = try ImageIO.decode(jpeg)
            #expect(image.width == 640 && image.height == 480, "\(image.width)x\(image.height)")
        }
        let lines = String(decoding: stdout, as: UTF8.self).split(separator: "\n")
        let summary = try #require(lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.first { $0["summary"] != nil })
        let output = summary["frames"] as? Int ?? -1, recorded = summary["recorded"] as? Int ?? -2
        #expect(output == 75 && recorded == 75, "output \(output), recorded \(recorded)")
        #expect(try SwapCLITests.probe(recording).contains(",75\n") || Self.countFrames(recording) == 75, "frames in \(recording)")
        #expect(lines.count >= 2, "stats JSON lines every second plus the summary: \(lines.count)")
    }

    static func countFrames(_ path: String) throws -> Int {
        Int(try CLI.ffprobe(path, entries: "stream=nb_read_frames", streams: "v:0").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    @Test func badInputsSayWhatToDo() throws {
        let video = CLI.media("video/openface/2015-10-15-15-14.avi")
        // A camera that does not exist: the cameras found are listed.
        let camera = try CLI.run(["live", "--camera", "7"], environment: Self.mirror)
        #expect(camera.status == 1 && camera.stderr.contains("camera 7 does not exist") && camera.stderr.contains("found"), "\(camera.stderr)")
        let list = try CLI.run(["live", "--list-cameras"])
        #expect(list.status == 0 && !list.stdout.isEmpty)

        // The stream port is taken: a clear error before any capture or model loading.
        let busy = try Self.listeningSocket()
        defer { close(busy.fd) }
        let started = Date()
        let port = try CLI.run(["live", "-i", video, "--stream", ":\(busy.port)"], environment: Self.mirror)
        #expect(port.status == 1 && port.stderr.contains("port \(busy.port)") && port.stderr.contains("in use"), "\(port.stderr)")
        #expect(!port.stderr.contains("live: "), "nothing started: \(port.stderr)")
        #expect(Date().timeIntervalSince(started) < 10)

        // No v4l2loopback device here; no display for the preview.
        let vcam = try CLI.run(["live", "-i", video, "--virtual-camera", "/dev/video63"], environment: Self.mirror)
        #expect(vcam.status == 1 && vcam.stderr.contains("v4l2loopback"), "\(vcam.stderr)")
        let preview = try CLI.run(["live", "-i", video, "--preview"], environment: Self.mirror, removing: ["DISPLAY", "WAYLAND_DISPLAY"])
        #expect(preview.status == 1 && preview.stderr.contains("no display") && preview.stderr.contains("--stream"), "\(preview.stderr)")
        let mode = try CLI.run(["live", "-i", video, "--mode", "turbo"])
        #expect(mode.status == 1 && mode.stderr.contains("balanced"), "\(mode.stderr)")
    }

    /// `bench live`: both modes measured per workload; a short soak reports memory samples.
    @Test func benchLiveReportsBothModesAndASoak() throws {
        let video = CLI.media("video/openface/2015-10-15-15-14.avi")
        let r = try CLI.run(["bench", "live", "--source", video, "--workloads", "detect", "--frames", "20", "--json"], environment: Self.mirror)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(r.json?["workloads"] as? [[String: Any]])
        let row = try #require(rows.first)
        for key in ["sequential", "pipelined"] {
            let m = try #require(row[key] as? [String: Any], "\(row)")
            #expect((m["fps"] as? Double ?? 0) > 0 && (m["latency_p90_ms"] as? Double ?? 0) >= (m["latency_median_ms"] as? Double ?? 1))
            #expect(m["frames"] as? Int == 20)
        }
        let soak = try CLI.run(["bench", "live", "--source", video, "--workloads", "detect", "--duration", "3", "--sample-every", "1", "--json"],
                               environment: Self.mirror)
        #expect(soak.status == 0, "\(soak.stderr)")
        let samples = soak.json?["rss_mb"] as? [[Double]] ?? []
        #expect(samples.count >= 3 && samples.allSatisfy { $0[1] > 10 }, "\(samples)")
    }
}
