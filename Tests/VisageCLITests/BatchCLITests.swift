import Foundation
import Testing

/// `visage batch` as a user runs it: items write exactly what their own command writes for the same file and
/// options, finished items are skipped, and bad items are recorded with a clear message while the rest finish.
@Suite(.serialized) struct BatchCLITests {
    static let ytf = ["0188_03_021_al_pacino.avi", "1815_01_008_tony_blair.avi"].map { CLI.media("video/openface_ytf/" + $0) }

    /// A folder with links to `files` (one pattern then names them all).
    static func folder(of files: [String], in dir: URL, name: String) throws -> URL {
        let folder = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for file in files {
            try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent(URL(fileURLWithPath: file).lastPathComponent).path,
                                                       withDestinationPath: file)
        }
        return folder
    }

    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    @Test func auItemsAreByteIdenticalToVisageAUAndFinishedItemsAreSkipped() throws {
        let dir = try CLI.temporaryDirectory()
        let clips = try Self.folder(of: Self.ytf, in: dir, name: "clips")
        let manifest = dir.appendingPathComponent("m.jsonl").path
        let run = try CLI.run(["batch", "au", "--inputs", clips.path + "/*.avi", "-o", dir.path + "/csv/{stem}.csv", "--manifest", manifest])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("2 items: 2 done, 0 skipped"))
        #expect(run.stderr.contains("2 items at once, 1 thread each"), "the plan is logged")
        for clip in Self.ytf {
            let stem = URL(fileURLWithPath: clip).deletingPathExtension().lastPathComponent
            let reference = dir.appendingPathComponent("\(stem)-au.csv").path
            let au = try CLI.run(["au", clip, "-o", reference])
            #expect(au.status == 0, "\(au.stderr)")
            let batch = dir.appendingPathComponent("csv/\(stem).csv").path
            #expect(Self.bytes(batch) != nil && Self.bytes(batch) == Self.bytes(reference), "\(stem): batch CSV == visage au CSV")
        }
        // Relative paths in the manifest (relative to its folder), so the data set can move with it.
        let lines = try String(contentsOfFile: manifest, encoding: .utf8)
        #expect(lines.contains("\"input\":\"clips/0188_03_021_al_pacino.avi\"") && lines.contains("\"output\":\"csv/0188_03_021_al_pacino.csv\""))
        let again = try CLI.run(["batch", manifest])
        #expect(again.status == 0 && again.stdout.contains("0 done, 2 skipped (done earlier)"), "\(again.stdout)\(again.stderr)")
        let status = try CLI.run(["batch", "status", dir.appendingPathComponent("m.run").path, "--json"])
        #expect(status.json?["done"] as? Int == 2 && status.json?["pending"] as? Int == 0 && status.json?["failed"] as? Int == 0)
    }

    @Test func swapAndAnalyzeItemsEqualTheirCommands() throws {
        let dir = try CLI.temporaryDirectory()
        let targets = try Self.folder(of: ["biden.jpg", "astronaut.png"].map { CLI.repository.appendingPathComponent("Samples/" + $0).path }, in: dir, name: "targets")
        let obama = CLI.repository.appendingPathComponent("Samples/obama.jpg").path
        let swap = try CLI.run(["batch", "swap", "-s", obama, "-t", targets.path + "/*", "-o", dir.path + "/out/{source_name}-{target_name}{ext}",
                                "--manifest", dir.path + "/swap.jsonl", "--mouth-mask", "0.3"])
        #expect(swap.status == 0, "\(swap.stderr)")
        for target in ["biden.jpg", "astronaut.png"] {
            let reference = dir.appendingPathComponent("ref-" + target).path
            let one = try CLI.run(["swap", "-s", obama, "-t", targets.appendingPathComponent(target).path, "-o", reference, "--mouth-mask", "0.3"])
            #expect(one.status == 0, "\(one.stderr)")
            let made = dir.appendingPathComponent("out/obama-" + target).path
            #expect(Self.bytes(made) != nil && Self.bytes(made) == Self.bytes(reference), "swap onto \(target)")
        }

        let clip = CLI.media("video/face_recognition/short_hamilton_clip.mp4")
        let media = try Self.folder(of: [clip, obama], in: dir, name: "media")
        let analyze = try CLI.run(["batch", "analyze", "--inputs", media.path + "/*.mp4", "-o", dir.path + "/json/{stem}.jsonl",
                                   "--manifest", dir.path + "/analyze.jsonl", "--max-frames", "40"])
        #expect(analyze.status == 0, "\(analyze.stderr)")
        let lines = try CLI.run(["analyze", media.appendingPathComponent("short_hamilton_clip.mp4").path, "--jsonl", "--max-frames", "40"])
        #expect(lines.status == 0 && !lines.stdout.isEmpty)
        #expect(Self.bytes(dir.path + "/json/short_hamilton_clip.jsonl") == Data(lines.stdout.utf8), "the .jsonl file is what --jsonl prints")
        let photo = try CLI.run(["batch", "analyze", "--inputs", media.path + "/*.jpg", "-o", dir.path + "/json/{stem}.json", "--manifest", dir.path + "/photo.jsonl"])
        #expect(photo.status == 0, "\(photo.stderr)")
        let document = try CLI.run(["analyze", media.appendingPathComponent("obama.jpg").path, "--json"])
        #expect(Self.bytes(dir.path + "/json/obama.json") == Data(document.stdout.utf8), "the .json file is what --json prints")
    }

    /// Enhance items (the filled GFPGAN twin, given by path: the manifest records its checksum like an input's)
    /// write the bytes `visage enhance` writes.
    @Test func enhanceItemsEqualVisageEnhance() throws {
        let dir = try CLI.temporaryDirectory()
        let twin = try EnhanceCLITests.twin()
        let photos = try Self.folder(of: ["obama.jpg", "biden.jpg"].map { CLI.repository.appendingPathComponent("Samples/" + $0).path }, in: dir, name: "photos")
        let run = try CLI.run(["batch", "enhance", "--inputs", photos.path + "/*.jpg", "-o", dir.path + "/restored/{stem}.png",
                               "--manifest", dir.path + "/enhance.jsonl", "--enhancer-model", twin, "--enhance-blend", "0.6"],
                              environment: EnhanceCLITests.environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("2 items: 2 done"), "\(run.stdout)")
        let lines = try String(contentsOfFile: dir.path + "/enhance.jsonl", encoding: .utf8)
        #expect(lines.contains("\"kind\":\"enhance\"") && lines.contains("\"enhance-blend\":0.6"))
        for name in ["obama", "biden"] {
            let reference = dir.appendingPathComponent("ref-\(name).png").path
            let one = try CLI.run(["enhance", "-i", photos.appendingPathComponent(name + ".jpg").path, "-o", reference, "--enhancer-model", twin,
                                   "--enhance-blend", "0.6"], environment: EnhanceCLITests.environment)
            #expect(one.status == 0, "\(one.stderr)")
            let made = dir.appendingPathComponent("restored/\(name).png").path
            #expect(Self.bytes(made) != nil && Self.bytes(made) == Self.bytes(reference), "enhance \(name)")
            #expect(Self.bytes(made) != Self.bytes(photos.appendingPathComponent(name + ".jpg").path))
        }
    }

    /// A folder nobody may write to: read-only mode, and for root (whom modes do not stop) the immutable flag.
    static func makeUnwritable(_ folder: URL, _ on: Bool) throws {
        if on { try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: folder.path) }
        if geteuid() == 0 {
            // An immutable folder refuses even root; it must be mutable again before its mode can change.
            let chattr = Process()
            chattr.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            chattr.arguments = ["chattr", on ? "+i" : "-i", folder.path]
            try chattr.run()
            chattr.waitUntilExit()
            if chattr.terminationStatus != 0 { Issue.record("chattr \(on ? "+i" : "-i") \(folder.path) failed") }
        }
        if !on { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path) }
    }

    @Test func badItemsAreRecordedTheRestFinishesAndRetryFailedFinishesTheFixedOne() throws {
        let dir = try CLI.temporaryDirectory()
        let corrupt = dir.appendingPathComponent("corrupt.avi")
        var noise = Data(count: 150_000)
        for k in noise.indices { noise[k] = UInt8(truncatingIfNeeded: k &* 2_654_435_761 >> 13) }
        try noise.write(to: corrupt)
        let locked = dir.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
        try Self.makeUnwritable(locked, true)
        defer { try? Self.makeUnwritable(locked, false) }
        func item(_ input: String, _ output: String) -> String {
            "{\"kind\": \"au\", \"input\": \"\(input)\", \"output\": \"\(output)\", \"max-frames\": 30}"
        }
        let manifest = dir.appendingPathComponent("m.jsonl").path
        try [item(Self.ytf[0], "csv/good.csv"),
             "{\"kind\": \"au\", \"input\": \"\(Self.ytf[1])\", \"output\": \"csv/torn.csv\"",
             item("nowhere.avi", "csv/nowhere.csv"),
             item("corrupt.avi", "csv/corrupt.csv"),
             item(Self.ytf[1], "locked/blair.csv"),
             item(Self.ytf[1], "csv/blair.csv")].joined(separator: "\n").write(toFile: manifest, atomically: true, encoding: .utf8)

        let first = try CLI.run(["batch", manifest])
        #expect(first.status == 4, "the exit status is the number of failed items: \(first.stderr)")
        #expect(first.stdout.contains("6 items: 2 done, 0 skipped (done earlier), 4 failed"))
        #expect(first.stderr.contains("line 2: not valid JSON"))
        #expect(first.stderr.contains("line 3 (\(dir.path)/csv/nowhere.csv): file not found: \(dir.path)/nowhere.avi"))
        #expect(first.stderr.contains("line 4 (\(dir.path)/csv/corrupt.csv): \(corrupt.path) is not a readable video"))
        #expect(first.stderr.contains("line 5 (\(locked.path)/blair.csv): cannot write \(locked.path)/blair.csv: the folder \(locked.path) is not writable"))
        #expect(FileManager.default.fileExists(atPath: dir.path + "/csv/good.csv.done") && FileManager.default.fileExists(atPath: dir.path + "/csv/blair.csv.done"))

        let status = try CLI.run(["batch", "status", dir.path + "/m.run"])
        #expect(status.status == 0 && status.stdout.contains("6 items in 1 shard: 2 done, 4 failed, 0 running, 0 pending"))
        #expect(status.stdout.contains("failed (fix, then rerun with --retry-failed):"))

        // Resuming without --retry-failed leaves the failures alone; fixing the folder and retrying finishes it.
        let resume = try CLI.run(["batch", manifest])
        #expect(resume.status == 4 && resume.stdout.contains("0 done, 2 skipped (done earlier), 1 failed, 3 failed earlier"))
        try Self.makeUnwritable(locked, false)
        let retry = try CLI.run(["batch", manifest, "--retry-failed"])
        #expect(retry.status == 3, "\(retry.stderr)")
        #expect(retry.stdout.contains("1 done, 2 skipped (done earlier), 3 failed"))
        #expect(FileManager.default.fileExists(atPath: locked.path + "/blair.csv.done"))
        #expect(Self.bytes(locked.path + "/blair.csv") == Self.bytes(dir.path + "/csv/blair.csv"), "the retried item wrote what its twin wrote")

        let merged = try CLI.run(["batch", "merge", dir.path + "/m.run", "-o", dir.path + "/report.json"])
        #expect(merged.status == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: try Data(contentsOf: dir.appendingPathComponent("report.json"))) as? [String: Any])
        #expect(report["done"] as? Int == 3 && report["failed"] as? Int == 3 && (report["failures"] as? [Any])?.count == 3)
    }
}
