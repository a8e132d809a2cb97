import Foundation
import Testing
import VisageCore
import VisageMedia

/// The face enhancer through the real binary: `visage enhance`, `visage swap --enhancer`, on the filled
/// GFPGAN 1.4 twin (random weights with GFPGAN's graph; scripts/setup-twins.sh fills it).
@Suite(.serialized) struct EnhanceCLITests {
    static let environment = LiveCLITests.mirror

    static func twin() throws -> String {
        let path = CLI.repository.appendingPathComponent(".deps/twins/GFPGANv1.4_twin.onnx").path
        try #require(FileManager.default.fileExists(atPath: path), "run scripts/setup-twins.sh (make test does) to fill \(path)")
        return path
    }

    /// Where two same-sized images differ: the number of differing samples and their bounding rectangle.
    static func difference(_ a: Image, _ b: Image) -> (count: Int, x0: Int, y0: Int, x1: Int, y1: Int) {
        var count = 0, x0 = Int.max, y0 = Int.max, x1 = -1, y1 = -1
        for y in 0..<a.height {
            for x in 0..<a.width {
                for c in 0..<3 where a.byte(x: x, y: y, channel: c) != b.byte(x: x, y: y, channel: c) {
                    count += 1
                    x0 = min(x0, x); y0 = min(y0, y); x1 = max(x1, x); y1 = max(y1, y)
                }
            }
        }
        return (count, x0, y0, x1, y1)
    }

    static func containerComment(_ path: String) throws -> String {
        let tags = Process()
        tags.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tags.arguments = ["ffprobe", "-v", "error", "-show_entries", "format_tags=comment", "-of", "default=nw=1", path]
        let pipe = Pipe()
        tags.standardOutput = pipe
        try tags.run()
        tags.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    /// 8 frames of the openface talking head (one large face) with the hamilton clip's sound under them.
    static func shortClipWithAudio(in dir: URL) throws -> String {
        let clip = dir.appendingPathComponent("clip.mp4").path
        let cut = Process()
        cut.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cut.arguments = ["ffmpeg", "-v", "error", "-i", CLI.media("video/openface/2015-10-15-15-14.avi"),
                         "-i", CLI.media("video/face_recognition/short_hamilton_clip.mp4"), "-map", "0:v", "-map", "1:a", "-frames:v", "8",
                         "-c:v", "libx264", "-crf", "12", "-c:a", "aac", "-t", String(8.0 / 30), clip]
        try cut.run()
        cut.waitUntilExit()
        try #require(cut.terminationStatus == 0)
        return clip
    }

    /// "Done when": swap + GFPGAN on a photo. The enhancer changes the swapped face and nothing else; the
    /// label is kept; without --enhancer the output is what it always was.
    @Test func swapWithEnhancerOnAnImage() throws {
        let dir = try CLI.temporaryDirectory()
        let plain = dir.appendingPathComponent("plain.png"), enhanced = dir.appendingPathComponent("enhanced.png")
        let p = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", plain.path], environment: Self.environment)
        #expect(p.status == 0, "\(p.stderr)")
        let e = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", enhanced.path,
                             "--enhancer", "gfpgan-1.4", "--enhancer-model", try Self.twin()], environment: Self.environment)
        #expect(e.status == 0, "\(e.stderr)")
        #expect(e.stdout.contains("swapped 1 face") && e.stdout.contains("enhanced 1 face with gfpgan-1.4 (1 network run)"), "\(e.stdout)")
        #expect(try Data(contentsOf: enhanced).range(of: Data("synthetic-media: altered by Visage".utf8)) != nil, "label kept")
        let a = try ImageIO.read(plain.path), b = try ImageIO.read(enhanced.path)
        let d = Self.difference(a, b)
        // The face: Biden's face in Samples/biden.jpg is the middle of the photo; the soft-mask paste stays
        // inside the aligned 512 square mapped back, well inside the frame.
        #expect(d.count > 10_000, "the enhancer changed \(d.count) samples")
        let area = Double((d.x1 - d.x0 + 1) * (d.y1 - d.y0 + 1)) / Double(a.width * a.height)
        #expect(d.x0 > 0 && d.y0 > 0 && d.x1 < a.width - 1 && d.y1 < a.height - 1 && area < 0.6,
                "changes confined to the face region: x \(d.x0)...\(d.x1), y \(d.y0)...\(d.y1) of \(a.width)x\(a.height)")
    }

    /// "Done when": swap + GFPGAN on a short video: exit 0, audio and label kept, frames as many as the
    /// input's, the face region changed against the plain swap, the temporal cache saving network runs.
    @Test func swapWithEnhancerOnAShortVideoKeepsAudioAndLabel() throws {
        let dir = try CLI.temporaryDirectory()
        let clip = try Self.shortClipWithAudio(in: dir)
        let plain = dir.appendingPathComponent("plain.mp4").path, enhanced = dir.appendingPathComponent("enhanced.mp4").path
        let p = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", clip, "-o", plain], environment: Self.environment)
        #expect(p.status == 0, "\(p.stderr)")
        let e = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", clip, "-o", enhanced, "--enhancer", "gfpgan-1.4",
                             "--enhancer-model", try Self.twin(), "--enhance-every", "4", "--enhance-motion", "0"], environment: Self.environment)
        #expect(e.status == 0, "\(e.stderr)")
        #expect(e.stdout.contains("8 frames") && e.stdout.contains("from the temporal cache"), "\(e.stdout)")
        let probe = try SwapCLITests.probe(enhanced)
        #expect(probe.split(separator: "\n").contains { $0.hasPrefix("audio") }, "audio kept: \(probe)")
        #expect(try LiveCLITests.countFrames(enhanced) == 8)
        #expect(try Self.containerComment(enhanced).contains("synthetic-media"), "container label")
        let a = try VideoReader(path: plain), b = try VideoReader(path: enhanced)
        var changed = 0
        while let x = try a.read(), let y = try b.read() { if Self.difference(x, y).count > 1000 { changed += 1 } }
        #expect(changed >= 6, "frames whose face the enhancer changed: \(changed) of 8")
        // A fixed interval of 4 on 8 frames: one network run per 4 frames of the tracked face, at most 2 + a new track.
        let runs = e.stdout.split(separator: "(").last.flatMap { Int($0.split(separator: " ")[0]) } ?? -1
        #expect((1...4).contains(runs), "network runs: \(runs) (\(e.stdout))")
    }

    /// `visage enhance` on a photo: every face enhanced, pixels far from the face untouched, JSON result.
    @Test func enhanceAPhoto() throws {
        let out = try CLI.temporaryDirectory().appendingPathComponent("enhanced.png")
        let r = try CLI.run(["enhance", "-i", "Samples/obama.jpg", "-o", out.path, "--enhancer-model", try Self.twin(), "--json"],
                            environment: Self.environment)
        #expect(r.status == 0, "\(r.stderr)")
        let enhancement = r.json?["enhancement"] as? [String: Any]
        #expect(enhancement?["model"] as? String == "gfpgan-1.4" && enhancement?["faces"] as? Int == 1 && enhancement?["model_runs"] as? Int == 1,
                "\(r.stdout)")
        #expect(try Data(contentsOf: out).range(of: Data("synthetic-media".utf8)) != nil, "label")
        let before = try ImageIO.read("\(CLI.repository.path)/Samples/obama.jpg"), after = try ImageIO.read(out.path)
        let d = Self.difference(before, after)
        // The 512 template keeps room above the head, so the paste may reach the top of this portrait, but
        // not its sides.
        #expect(d.count > 10_000 && d.x0 > 0 && d.x1 < before.width - 1, "changed \(d.count) samples in x \(d.x0)...\(d.x1), y \(d.y0)...\(d.y1)")
    }

    /// `visage live --enhancer`: the live pipeline swaps and enhances; the recording has every output frame
    /// and the synthetic-media label.
    @Test func liveWithEnhancerRecordsEveryFrame() throws {
        let recording = try CLI.temporaryDirectory().appendingPathComponent("rec.mp4").path
        let r = try CLI.run(["live", "-i", CLI.media("video/openface/2015-10-15-15-14.avi"), "-s", "Samples/obama.jpg",
                             "--enhancer", "gfpgan-1.4", "--enhancer-model", try Self.twin(), "--sequential", "--max-frames", "6",
                             "-o", recording, "--stats-json", "--quiet"], environment: Self.environment)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("gfpgan-1.4 enhancer"), "the work says it enhances: \(r.stderr)")
        #expect(try LiveCLITests.countFrames(recording) == 6)
        #expect(try Self.containerComment(recording).contains("synthetic-media"), "container label")
    }

    /// `visage bench enhance --json`: every stage timed, the model's GFLOP per run and rate reported.
    @Test func benchEnhanceReportsEveryStage() throws {
        let r = try CLI.run(["bench", "enhance", "--enhancer-model", try Self.twin(), "--runs", "1", "--composite-runs", "5", "--json"],
                            environment: Self.environment)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(r.json, "\(r.stdout)")
        #expect(json["benchmark"] as? String == "enhance")
        let medians = json["median_ms"] as? [String: Double] ?? [:]
        for stage in ["align", "model", "paste_back", "blend"] { #expect((medians[stage] ?? 0) > 0, "\(stage): \(medians)") }
        let stages = json["stages"] as? [String: Any] ?? [:]
        #expect(stages["frameWidth"] as? Int == 960 && stages["frameHeight"] as? Int == 540 && stages["openCVThreads"] as? Int == 1, "\(stages)")
        #expect(stages["gflop"] as? Double == 395.5 && (stages["gflopPerSecondWall"] as? Double ?? 0) > 0, "\(stages)")
    }

    /// `visage bench swap --enhancer`: the enhancer's stages under their own names, and the temporal cache
    /// reusing the face between key frames (4 frames, N = 4, no motion rule: one network run; with the motion
    /// rule PFLD's re-estimated landmarks on a tracked frame can force a second key frame even on a still frame).
    @Test func benchSwapTimesTheEnhancerAndItsCache() throws {
        let r = try CLI.run(["bench", "swap", "--enhancer", "gfpgan-1.4", "--enhancer-model", try Self.twin(), "--runs", "4", "--warmup", "0",
                             "--enhance-motion", "0", "--json"],
                            environment: Self.environment)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(r.json, "\(r.stdout)")
        let means = json["mean_ms"] as? [String: Double] ?? [:]
        for stage in ["enhance_align", "enhance_model", "enhance_paste_back", "enhance_blend"] { #expect(means[stage] != nil, "\(stage): \(means)") }
        let enhancement = json["enhancement"] as? [String: Any] ?? [:]
        #expect(enhancement["faces"] as? Int == 4 && enhancement["model_runs"] as? Int == 1, "\(enhancement)")
    }

    /// `visage enhance` on a video: every frame written at its time, audio and label kept, the cache used.
    @Test func enhanceAVideoKeepsAudioFramesAndLabel() throws {
        let dir = try CLI.temporaryDirectory()
        let clip = try Self.shortClipWithAudio(in: dir)
        let out = dir.appendingPathComponent("enhanced.mp4").path
        let r = try CLI.run(["enhance", "-i", clip, "-o", out, "--enhancer-model", try Self.twin(), "--enhance-motion", "0", "--json"],
                            environment: Self.environment)
        #expect(r.status == 0, "\(r.stderr)")
        let enhancement = r.json?["enhancement"] as? [String: Any] ?? [:]
        #expect(r.json?["frames"] as? Int == 8 && enhancement["faces"] as? Int == 8 && enhancement["model_runs"] as? Int == 2, "\(r.stdout)")
        let original = try SwapCLITests.probe(clip), enhanced = try SwapCLITests.probe(out)
        func field(_ text: String, _ prefix: String) -> String? { text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init) }
        #expect(field(enhanced, "video") == field(original, "video"), "\(enhanced) vs \(original)")   // fps and frame count
        #expect(field(enhanced, "audio") != nil, "audio kept: \(enhanced)")
        #expect(try Self.containerComment(out).contains("synthetic-media"), "container label")
    }

    /// Options out of range are refused at parse time, naming the option and its range; nothing runs.
    @Test func optionRangesAreRejectedWithClearErrors() throws {
        let out = try CLI.temporaryDirectory().appendingPathComponent("o.png").path
        let cases: [([String], String)] = [
            (["enhance", "-i", "Samples/obama.jpg", "-o", out, "--enhance-blend", "1.5"], "enhance-blend must be from 0 to 1 (got 1.5)"),
            (["enhance", "-i", "Samples/obama.jpg", "-o", out, "--faces", "two"], "--faces is all, largest or a face number"),
            (["enhance", "-i", "Samples/obama.jpg", "-o", out, "--model", "gfpgan-9"], "enhancer 'gfpgan-9' is not a face enhancer Visage can run"),
            (["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", out, "--enhancer", "gfpgan-1.4", "--enhance-every", "0"],
             "enhance-every must be from 1 to 100 (got 0)"),
            (["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", out, "--enhancer", "gfpgan-1.4", "--enhance-blend", "-0.1"],
             "enhance-blend must be from 0 to 1"),
            (["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", out, "--enhancer-model", "x.onnx"], "enhancer-model needs an enhancer"),
            (["live", "-i", "Samples/obama.jpg", "--enhancer", "gfpgan-1.4", "--enhance-motion", "600"], "enhance-motion must be from 0 to 512"),
        ]
        for (arguments, message) in cases {
            let r = try CLI.run(arguments, environment: Self.environment)
            #expect(r.status == 1 && r.stderr.contains(message), "\(arguments): \(r.status) \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// CodeFormer is S-Lab non-commercial: refused with its licence text until accepted, before anything is
    /// downloaded or written.
    @Test func codeFormerIsRefusedWithoutLicenceAcceptance() throws {
        let out = try CLI.temporaryDirectory().appendingPathComponent("o.png").path
        let r = try CLI.run(["enhance", "-i", "Samples/obama.jpg", "-o", out, "--model", "codeformer"],
                            environment: Self.environment, removing: ["VISAGE_ACCEPT_LICENSES"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("model 'codeformer' is under a licence you must accept first") && r.stderr.contains("S-Lab License 1.0")
                && r.stderr.contains("NON-COMMERCIAL") && r.stderr.contains("--accept-license"), "\(r.stderr)")
        let s = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", out, "--enhancer", "codeformer"],
                            environment: Self.environment, removing: ["VISAGE_ACCEPT_LICENSES"])
        #expect(s.status == 1 && s.stderr.contains("S-Lab License 1.0"), "\(s.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// A model file whose input is not the size the catalogue says: a clear error naming the file.
    @Test func aModelOfTheWrongSizeIsRefusedNamingTheFile() throws {
        let out = try CLI.temporaryDirectory().appendingPathComponent("o.png").path
        let pfld = CLI.repository.deletingLastPathComponent().appendingPathComponent("shared/models/pfld-68/pfld.onnx").path
        let r = try CLI.run(["enhance", "-i", "Samples/obama.jpg", "-o", out, "--enhancer-model", pfld], environment: Self.environment)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains(pfld) && r.stderr.contains("but gfpgan-1.4 takes 1x3x512x512"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
