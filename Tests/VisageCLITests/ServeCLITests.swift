import Foundation
import Testing
import VisageCore
import VisageMedia

/// `visage serve` end to end: the real binary, real uploads, real jobs on real media, checked against
/// the command line's own outputs.
@Suite(.serialized) struct ServeCLITests {
    static let models = ["yunet-2023mar", "pfld-68", "sface-2021dec-int8bq"]

    static func installModels() throws {
        let r = try CLI.run(["models", "install"] + models, environment: LiveCLITests.mirror)
        #expect(r.status == 0, "\(r.stderr)")
    }

    /// "Done when": upload the sample and a target image and video, run a swap job and an AU job,
    /// follow the progress over SSE, download the results; the swap image and the AU CSV equal what
    /// the command line makes from the same files, byte for byte; the swap changed a face-sized region.
    @Test func swapAndAUJobsOverHTTPEqualTheCommandLine() throws {
        try Self.installModels()
        let dir = try CLI.temporaryDirectory()
        let server = try ServeProcess(dataDirectory: dir.appendingPathComponent("data"))
        defer { server.stop() }
        // OpenFace's models: installed through the API, with its licence accepted.
        let install = try HTTP.json("POST", "\(server.base)/v1/models/openface-2.2.0/install", ["accept_license": true])
        #expect(install.status == 200, "\(install.text)")

        let video = CLI.media("video/openface/default.wmv")
        let source = try HTTP.upload(server, "Samples/obama.jpg", kind: "image")
        let target = try HTTP.upload(server, "Samples/biden.jpg", kind: "image")
        let clip = try HTTP.upload(server, video, kind: "video")

        let swapImage = try HTTP.json("POST", "\(server.base)/v1/jobs", ["kind": "swap", "inputs": ["source": source, "target": target]])
        #expect(swapImage.status == 201, "\(swapImage.text)")
        let swapVideo = try HTTP.json("POST", "\(server.base)/v1/jobs", ["kind": "swap", "inputs": ["source": source, "target": clip]])
        let au = try HTTP.json("POST", "\(server.base)/v1/jobs", ["kind": "au", "inputs": ["input": clip]])
        #expect(au.status == 201, "\(au.text)")
        let auID = try #require(au.json["id"] as? String)

        // Follow the AU job's progress over SSE (curl -N reads the stream until the server ends it).
        let sse = Process()
        sse.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sse.arguments = ["curl", "-sS", "-N", "--max-time", "600", "\(server.base)/v1/jobs/\(auID)/events"]
        let ssePipe = Pipe()
        sse.standardOutput = ssePipe
        try sse.run()
        let events = String(decoding: ssePipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        sse.waitUntilExit()
        let progress = events.components(separatedBy: "\n\n").filter { $0.hasPrefix("event: progress") }
        #expect(progress.count >= 2, "progress events: \(events.prefix(2000))")
        #expect(progress.contains { $0.contains("\"stage\":\"au\"") && $0.contains("\"total\":") })
        #expect(events.components(separatedBy: "\n\n").last { $0.contains("event: state") }?.contains("\"state\":\"succeeded\"") == true,
                "\(events.suffix(1500))")

        // The same jobs by the command line.
        let cliSwap = dir.appendingPathComponent("cli-swap.png").path
        let cliCSV = dir.appendingPathComponent("cli-au.csv").path
        let s = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", cliSwap], environment: LiveCLITests.mirror)
        #expect(s.status == 0, "\(s.stderr)")
        let a = try CLI.run(["au", video, "-o", cliCSV], environment: LiveCLITests.mirror.merging(["VISAGE_ACCEPT_LICENSES": "1"]) { $1 })
        #expect(a.status == 0, "\(a.stderr)")

        let swapJob = try HTTP.wait(server, job: try #require(swapImage.json["id"] as? String))
        #expect(swapJob["state"] as? String == "succeeded", "\(swapJob)")
        let swapped = try HTTP.request("GET", "\(server.base)/v1/jobs/\(swapJob["id"] as! String)/results/output.png")
        #expect(swapped.status == 200 && swapped.headers["content-type"] == "image/png")
        let cliSwapBytes = try Data(contentsOf: URL(fileURLWithPath: cliSwap))
        #expect(swapped.body == cliSwapBytes, "swap output byte-identical to the CLI's")
        #expect(SyntheticMediaLabel.isLabelled(swapped.body), "synthetic-media label intact")
        let before = try ImageIO.read("Samples/biden.jpg"), after = try ImageIO.decode(swapped.body)
        let region = try #require(Self.changedBox(before, after, threshold: 0))
        let share = Double(region.width * region.height) / Double(before.width * before.height)
        #expect(share > 0.005 && share < 0.35, "changed region \(region) is \(share) of the image")

        let auJob = try HTTP.wait(server, job: auID)
        #expect(auJob["state"] as? String == "succeeded", "\(auJob)")
        let csv = try HTTP.request("GET", "\(server.base)/v1/jobs/\(auID)/results/output.csv")
        let cliCSVBytes = try Data(contentsOf: URL(fileURLWithPath: cliCSV))
        #expect(csv.status == 200)
        #expect(csv.body == cliCSVBytes, "AU CSV byte-identical to `visage au`")

        let videoJob = try HTTP.wait(server, job: try #require(swapVideo.json["id"] as? String))
        #expect(videoJob["state"] as? String == "succeeded", "\(videoJob)")
        let mp4URL = "\(server.base)/v1/jobs/\(videoJob["id"] as! String)/results/output.mp4"
        let whole = try HTTP.request("GET", mp4URL)
        #expect(whole.status == 200 && whole.headers["content-type"] == "video/mp4" && whole.headers["accept-ranges"] == "bytes")
        let first = try HTTP.request("GET", mp4URL, headers: ["Range": "bytes=0-1023"])
        #expect(first.status == 206 && first.body == whole.body.prefix(1024) && first.headers["content-range"] == "bytes 0-1023/\(whole.body.count)")
        let local = dir.appendingPathComponent("served.mp4")
        try whole.body.write(to: local)
        #expect(try LiveCLITests.countFrames(local.path) == 288, "every frame of default.wmv")
        #expect(whole.body.range(of: Data("synthetic-media".utf8)) != nil, "the video carries its label")
    }

    /// "Done when": kill -9 while a video job runs and two wait; after a restart all three end, none
    /// is left running, no upload is lost.
    @Test func killedServerFinishesEveryJobAfterARestart() throws {
        try Self.installModels()
        let data = try CLI.temporaryDirectory().appendingPathComponent("data")
        var server = try ServeProcess(dataDirectory: data, arguments: ["--max-jobs", "1"])
        let video = try HTTP.upload(server, CLI.media("video/openface/default.wmv"), kind: "video")
        let image = try HTTP.upload(server, "Samples/obama.jpg", kind: "image")
        let long = try #require(try HTTP.json("POST", "\(server.base)/v1/jobs", ["kind": "analyze", "inputs": ["input": video]]).json["id"] as? String)
        let queued = try (0..<2).map { _ in
            try #require(try HTTP.json("POST", "\(server.base)/v1/jobs", ["kind": "analyze", "inputs": ["input": image]]).json["id"] as? String)
        }
        // Kill it once the video job is under way.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let job = try HTTP.request("GET", "\(server.base)/v1/jobs/\(long)").json
            if job["state"] as? String == "running", (job["progress"] as? [String: Any])?["done"] != nil { break }
            usleep(100_000)
        }
        #expect(try HTTP.request("GET", "\(server.base)/v1/jobs/\(queued[1])").json["state"] as? String == "queued")
        server.kill9()

        server = try ServeProcess(dataDirectory: data, arguments: ["--max-jobs", "1"])
        defer { server.stop() }
        #expect(server.stderr.contains("queued again"), "\(server.stderr)")
        for id in [long] + queued {
            let job = try HTTP.wait(server, job: id)
            #expect(job["state"] as? String == "succeeded", "\(job)")
        }
        let longJob = try HTTP.request("GET", "\(server.base)/v1/jobs/\(long)").json
        #expect(longJob["attempts"] as? Int == 2 && (longJob["note"] as? String)?.contains("re-queued") == true, "\(longJob)")
        #expect(try HTTP.request("GET", "\(server.base)/v1/jobs?state=running").json["total"] as? Int == 0)
        for id in [video, image] {
            #expect(try HTTP.request("GET", "\(server.base)/v1/files/\(id)").status == 200, "upload \(id) kept")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("files").path).count == 2)
    }

    /// Start-up refusals and bad input the server meets from the outside.
    @Test func refusesAnOpenAddressWithoutATokenAndUnknownClients() throws {
        let data = try CLI.temporaryDirectory().appendingPathComponent("data")
        let open = try CLI.run(["serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", data.path], removing: ["VISAGE_TOKEN"])
        #expect(open.status == 1 && open.stderr.contains("without a token"), "\(open.stderr)")
        let token = "a-test-token-0123456789abcdef"
        let server = try ServeProcess(dataDirectory: data, environment: ["VISAGE_TOKEN": token])
        defer { server.stop() }
        let none = try HTTP.request("GET", "\(server.base)/v1/jobs")
        #expect(none.status == 401 && none.errorCode == "unauthorized" && none.headers["www-authenticate"] != nil)
        let good = try HTTP.request("GET", "\(server.base)/v1/jobs", headers: ["Authorization": "Bearer \(token)"])
        #expect(good.status == 200, "\(good.text)")
        let notJSON = try HTTP.request("POST", "\(server.base)/v1/jobs", headers: ["Authorization": "Bearer \(token)"], body: Data("{kind: swap".utf8))
        #expect(notJSON.status == 400 && notJSON.errorField == "body")
        let unknown = try HTTP.request("GET", "\(server.base)/v1/jobs/\(UUID().uuidString.lowercased())", headers: ["Authorization": "Bearer \(token)"])
        #expect(unknown.status == 404)
    }

    /// The bounding box of pixels that differ by more than `threshold` in any channel.
    static func changedBox(_ a: Image, _ b: Image, threshold: Int) -> (x: Int, y: Int, width: Int, height: Int)? {
        guard a.width == b.width, a.height == b.height else { return nil }
        var x1 = Int.max, y1 = Int.max, x2 = -1, y2 = -1
        for y in 0..<a.height {
            for x in 0..<a.width where (0..<3).contains(where: { abs(Int(a.byte(x: x, y: y, channel: $0)) - Int(b.byte(x: x, y: y, channel: $0))) > threshold }) {
                x1 = min(x1, x); x2 = max(x2, x); y1 = min(y1, y); y2 = max(y2, y)
            }
        }
        return x2 < 0 ? nil : (x1, y1, x2 - x1 + 1, y2 - y1 + 1)
    }
}
