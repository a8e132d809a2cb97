import Foundation
import Testing

@Suite struct AnalyzeCLITests {
    @Test func analyzeImageGivesLandmarksPoseAndEmbeddings() throws {
        let out = try CLI.temporaryDirectory().appendingPathComponent("analyzed.png")
        let r = try CLI.run(["analyze", "Samples/obama.jpg", "--json", "--embeddings", "--draw", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let faces = try #require(r.json?["faces"] as? [[String: Any]])
        #expect(faces.count == 1)
        let face = try #require(faces.first)
        #expect((face["landmarks"] as? [[Double]])?.count == 68)
        #expect((face["kps"] as? [[Double]])?.count == 5)
        #expect((face["embedding"] as? [Double])?.count == 128)
        let pose = try #require(face["pose"] as? [String: Any])
        #expect(abs(pose["yaw"] as? Double ?? 99) < 15)
        #expect(FileManager.default.fileExists(atPath: out.path))
    }

    @Test func analyzeVideoStreamsJSONLinesWithTrackEvents() throws {
        let out = try CLI.temporaryDirectory().appendingPathComponent("tracked.mp4")
        let r = try CLI.run(["analyze", CLI.media("video/openface/default.wmv"), "--jsonl", "--max-frames", "40", "--draw", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let frames = lines.filter { $0["frame"] != nil && $0["event"] == nil }
        #expect(frames.count == 40)
        #expect(lines.contains { $0["event"] as? String == "track_start" })
        #expect(lines.contains { $0["event"] as? String == "track_end" })
        let ids = Set(frames.flatMap { ($0["faces"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int } })
        #expect(ids == [1])
        // The annotated video exists, has the audio track of the input, and 40 frames.
        #expect(FileManager.default.fileExists(atPath: out.path))
        let info = try CLI.ffprobe(out.path, entries: "stream=codec_type,nb_read_frames")
        #expect(info.contains("video,40"), "\(info)")
        #expect(info.contains("audio"), "\(info)")
    }

    @Test func compareSaysSameAndDifferent() throws {
        let same = try CLI.run(["compare", CLI.media("images/face_recognition/obama.jpg"), CLI.media("images/face_recognition/obama2.jpg"), "--json"])
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.json?["same"] as? Bool == true)
        #expect(same.json?["model"] as? String == "sface-2021dec-int8bq")
        let different = try CLI.run(["compare", "Samples/obama.jpg", "Samples/biden.jpg"])
        #expect(different.status == 0)
        #expect(different.stdout.contains("different people"))
    }

    @Test func badInputsAreClearErrors() throws {
        let dir = try CLI.temporaryDirectory()
        let video = dir.appendingPathComponent("broken.mp4")
        try Data(repeating: 0x42, count: 4096).write(to: video)
        let out = dir.appendingPathComponent("out.mp4")
        let r = try CLI.run(["analyze", video.path, "--draw", out.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("not a readable video"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
        let noFace = try CLI.run(["compare", CLI.media("images/skimage/coffee.png"), "Samples/obama.jpg"])
        #expect(noFace.status == 1)
        #expect(noFace.stderr.contains("no face found"))
        let empty = try CLI.run(["analyze", CLI.media("images/skimage/coffee.png"), "--json"])
        #expect(empty.status == 0)
        #expect((empty.json?["faces"] as? [Any])?.isEmpty == true)
    }

    @Test func benchAnalyzeJSON() throws {
        let r = try CLI.run(["bench", "analyze", "--runs", "1", "--warmup", "0", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let cases = try #require(r.json?["cases"] as? [[String: Any]])
        #expect(cases.count == 4)
        for c in cases {
            #expect(c["found"] as? Int == c["faces"] as? Int, "\(c)")
            let m = try #require(c["median_ms"] as? [String: Double])
            for stage in ["detect", "landmarks", "align", "embed", "pose", "total"] { #expect(m[stage] != nil) }
        }
    }
}
