import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import Testing
import VisageCore
import VisageMedia

@Suite(.serialized) struct ServeLiveAndLoadCLITests {
    /// "Done when": a WebSocket client sends 150 frames of 2015-10-15-15-14.avi (at the video's 30 fps,
    /// three of them garbage); it gets processed frames with the face swapped, stats messages, an error
    /// message per garbage frame (the session goes on) and the run's result at the end. The server's
    /// mode changes on the way: the session goes on in the new mode.
    @Test func liveSessionOverAWebSocketSwapsFacesAndReportsStats() async throws {
        try ServeCLITests.installModels()
        let server = try ServeProcess(dataDirectory: try CLI.temporaryDirectory().appendingPathComponent("data"))
        defer { server.stop() }
        let face = try HTTP.upload(server, "Samples/obama.jpg", kind: "image")
        let reader = try VideoReader(path: CLI.media("video/openface/2015-10-15-15-14.avi"))
        var frames: [Data] = []
        var originals: [Image] = []
        while frames.count < 150, let frame = try reader.read() {
            frames.append(try ImageIO.encode(frame, format: "jpg", quality: 90))
            if frames.count % 10 == 0 { originals.append(frame) }
        }
        let garbage: Set<Int> = [20, 75, 130]
        let received = Locked<(frames: [Data], texts: [[String: Any]])>(([], []))
        let started = Date()
        let frameList = frames
        let url = "ws://127.0.0.1:\(server.port)/v1/live/socket?swap-face=\(face)"
        let base = server.base
        _ = try await withTaskExecutorPreference(OwnThreadExecutor(label: "test.websocket")) {
          try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 24), logger: Logger(label: "test.ws")) { inbound, outbound, _ in
            async let sending: Void = {
                for (i, jpeg) in frameList.enumerated() {
                    if garbage.contains(i) { try await outbound.write(.binary(ByteBuffer(string: "not a jpeg, frame \(i)"))) }
                    if i == 90 {
                        // The server's mode changes: the session goes on in the new mode.
                        let put = try HTTP.json("PUT", "\(base)/v1/settings", ["mode": "performance"])
                        #expect(put.status == 200, "\(put.text)")
                    }
                    try await outbound.write(.binary(ByteBuffer(bytes: jpeg)))
                    try await Task.sleep(for: .milliseconds(33))
                }
                try await outbound.write(.text("{\"type\": \"end\"}"))
            }()
            for try await message in inbound.messages(maxSize: 1 << 24) {
                switch message {
                case .binary(let buffer): received.withLock { $0.frames.append(Data(buffer.readableBytesView)) }
                case .text(let text):
                    if let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] {
                        received.withLock { $0.texts.append(object) }
                    }
                }
            }
            try await sending
          }
        }
        let seconds = Date().timeIntervalSince(started)
        let (out, texts) = received.value
        let types = texts.compactMap { $0["type"] as? String }
        #expect(types.first == "session" && types.contains("started") && types.last == "ended", "\(types)")
        let runs = texts.filter { $0["type"] as? String == "started" }.compactMap { $0["mode"] as? String }
        #expect(runs == ["balanced", "performance"] && types.contains("mode"), "runs: \(runs), messages: \(types)")
        let errors = texts.filter { $0["type"] as? String == "error" }
        #expect(errors.count == 3 && errors.allSatisfy { ($0["message"] as? String ?? "").contains("goes on") }, "\(errors)")
        let stats = texts.filter { $0["type"] as? String == "stats" }.compactMap { $0["stats"] as? [String: Any] }
        #expect(stats.count >= 2, "about one stats message a second over \(seconds) s: \(stats.count)")
        #expect(out.count >= 10, "processed frames received: \(out.count)")
        let result = try #require(texts.last?["result"] as? [String: Any])
        let fps = result["fps"] as? Double ?? 0, median = result["latency_median_ms"] as? Double ?? 0, p90 = result["latency_p90_ms"] as? Double ?? 0
        #expect(fps > 1 && (result["captured"] as? Int ?? 0) > 0)
        print("live over WebSocket: sent 150 frames (+3 garbage) in \(String(format: "%.1f", seconds)) s; received \(out.count) processed frames; pipeline \(String(format: "%.1f", fps)) fps, latency median \(String(format: "%.0f", median)) ms, p90 \(String(format: "%.0f", p90)) ms, dropped \(result["dropped"] ?? "?")")

        // A processed frame: labelled synthetic, the size of the input, and different from every input
        // frame near it only in a face-sized region.
        let sample = out[out.count / 2]
        #expect(SyntheticMediaLabel.isLabelled(sample))
        let processed = try ImageIO.decode(sample)
        #expect(processed.width == 640 && processed.height == 480)
        let boxes = originals.compactMap { ServeCLITests.changedBox($0, processed, threshold: 60) }
        let best = try #require(boxes.min { $0.width * $0.height < $1.width * $1.height })
        let share = Double(best.width * best.height) / Double(640 * 480)
        #expect(share > 0.003 && share < 0.3, "largest change vs the closest input frame: \(best), \(share) of the frame")
    }

    /// "Done when", load: /health at 200 connections (wrk, bounded to 5 s), then 50 submissions from
    /// 5 clients against one worker: each accepted or answered 429, none lost, served in turn; memory
    /// after the load within 10% of before.
    @Test func loadOnHealthAndFairSubmissionsFromFiveClients() throws {
        try ServeCLITests.installModels()
        let dir = try CLI.temporaryDirectory()
        let tokens = (1...5).map { "client\($0) token-\($0)-0123456789abcdef" }
        try tokens.joined(separator: "\n").write(to: dir.appendingPathComponent("tokens"), atomically: true, encoding: .utf8)
        let server = try ServeProcess(dataDirectory: dir.appendingPathComponent("data"),
                                      arguments: ["--max-jobs", "1", "--max-queue", "20", "--tokens-file", dir.appendingPathComponent("tokens").path])
        defer { server.stop() }
        let auth: @Sendable (Int) -> [String: String] = { i in ["Authorization": "Bearer token-\(i)-0123456789abcdef"] }
        let image = try HTTP.upload(server, "Samples/obama.jpg", kind: "image", headers: auth(1))
        // Warm up to a steady state: models loaded and ONNX Runtime's arenas grown (the first few runs),
        // the system report collected.
        for _ in 0..<3 {
            let warm = try #require(try HTTP.json("POST", "\(server.base)/v1/jobs", ["kind": "analyze", "inputs": ["input": image]], headers: auth(1)).json["id"] as? String)
            #expect(try HTTP.wait(server, job: warm, headers: auth(1))["state"] as? String == "succeeded")
        }
        _ = try HTTP.request("GET", "\(server.base)/health", headers: auth(1))
        let before = server.residentMB

        let wrk = Process()
        wrk.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        wrk.arguments = ["wrk", "-t2", "-c200", "-d5s", "--timeout", "5s", "--latency", "-H", "Authorization: Bearer token-2-0123456789abcdef",
                         "\(server.base)/health"]
        let wrkOut = Pipe()
        wrk.standardOutput = wrkOut
        try wrk.run()
        let report = String(decoding: wrkOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        wrk.waitUntilExit()
        let rps = report.split(separator: "\n").first { $0.hasPrefix("Requests/sec:") }.map { String($0.dropFirst(13)).trimmingCharacters(in: .whitespaces) } ?? "?"
        let p99 = report.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("99%") }.map { $0.trimmingCharacters(in: .whitespaces) } ?? "?"
        print("wrk /health, 200 connections, 5 s: \(rps) req/s, \(p99)\n\(report)")
        #expect(wrk.terminationStatus == 0 && (Double(rps) ?? 0) > 50, "\(report)")
        #expect(!report.contains("Non-2xx"), "every /health answer was 200: \(report)")

        // 50 submissions: 5 clients × 10, at once.
        let outcomes = Locked<[(client: Int, status: Int, id: String?, retryAfter: String?)]>([])
        let group = DispatchGroup()
        for c in 0..<5 {
            group.enter()
            // A thread per client: all five submit at the same time.
            Thread {
                for _ in 0..<10 {
                    let r = try? HTTP.json("POST", "\(server.base)/v1/jobs", ["kind": "analyze", "inputs": ["input": image]], headers: auth(c + 1))
                    outcomes.withLock { $0.append((c + 1, r?.status ?? 0, r?.json["id"] as? String, r?.headers["retry-after"])) }
                }
                group.leave()
            }.start()
        }
        group.wait()
        let all = outcomes.value
        let accepted = all.filter { $0.status == 201 }, refused = all.filter { $0.status == 429 }
        #expect(all.count == 50 && accepted.count + refused.count == 50, "statuses: \(all.map(\.status))")
        #expect(refused.allSatisfy { $0.retryAfter != nil })
        var started: [(client: Int, at: String)] = []
        for job in accepted {
            let final = try HTTP.wait(server, job: job.id!, headers: auth(job.client))
            #expect(final["state"] as? String == "succeeded", "\(final)")
            started.append((job.client, final["started_at"] as? String ?? ""))
        }
        // Served in turn: a client's (k+2)-th job never starts before another client's k-th.
        let order = started.sorted { $0.at < $1.at }.map(\.client)
        var seen: [Int: Int] = [:]
        var ranks: [(client: Int, rank: Int)] = []
        for client in order { seen[client, default: 0] += 1; ranks.append((client, seen[client]!)) }
        for (i, a) in ranks.enumerated() {
            for b in ranks[(i + 1)...] where b.client != a.client {
                #expect(a.rank < b.rank + 2, "client \(a.client)'s job \(a.rank) started before client \(b.client)'s job \(b.rank): \(order)")
            }
        }
        print("50 submissions from 5 clients: \(accepted.count) accepted, \(refused.count) answered 429; start order by client: \(order)")
        _ = try HTTP.request("GET", "\(server.base)/health", headers: auth(1))
        let after = server.residentMB
        print(String(format: "resident memory: %.1f MB before the load, %.1f MB after (%+.1f%%)", before, after, 100 * (after - before) / before))
        #expect(after <= before * 1.10, "memory after the load \(after) MB vs \(before) MB before")
    }
}
