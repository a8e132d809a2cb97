import Foundation
import Testing

@Suite struct DoctorAndBenchCLITests {
    @Test func doctorReportsCPUChosenAndWhy() throws {
        let r = try CLI.run(["doctor", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(r.json)
        let ort = try #require(json["onnxruntime"] as? [String: Any])
        #expect(ort["available"] as? Bool == true)
        let accelerator = try #require(ort["accelerator"] as? [String: Any])
        #expect(accelerator["chosen"] as? [String] == ["cpu"])
        #expect((accelerator["reason"] as? String)?.isEmpty == false)
        #expect((json["opencv"] as? [String: Any])?["version"] as? String != nil)
        #expect((json["cpu"] as? [String: Any])?["logical_cores"] as? Int ?? 0 > 0)
        #expect(json["models"] as? [[String: Any]] != nil)
        #expect((json["ffmpeg"] as? [String: Any])?["available"] as? Bool == true)
    }

    @Test func cudaRequestFallsBackToCPUWithOneLogLine() throws {
        let r = try CLI.run(["doctor", "--json"], environment: ["VISAGE_ACCELERATOR": "cuda"])
        #expect(r.status == 0, "\(r.stderr)")
        let accelerator = (r.json?["onnxruntime"] as? [String: Any])?["accelerator"] as? [String: Any]
        #expect(accelerator?["requested"] as? String == "cuda")
        #expect(accelerator?["chosen"] as? [String] == ["cpu"])
        let lines = r.stderr.split(separator: "\n").filter { $0.contains("falling back to CPU") }
        #expect(lines.count == 1, "stderr: \(r.stderr)")

        // The same through a real detection: still one line, and the faces are found on CPU.
        let d = try CLI.run(["detect", "Samples/obama.jpg", "--json"], environment: ["VISAGE_ACCELERATOR": "cuda"])
        #expect(d.status == 0, "\(d.stderr)")
        #expect(d.stderr.split(separator: "\n").filter { $0.contains("falling back to CPU") }.count == 1)
    }

    @Test func invalidAcceleratorValueIsAnError() throws {
        let r = try CLI.run(["doctor"], environment: ["VISAGE_ACCELERATOR": "warp-drive"])
        #expect(r.status != 0 || r.stdout.contains("warp-drive") || r.stderr.contains("warp-drive"))
    }

    @Test func benchDetectJSON() throws {
        let r = try CLI.run(["bench", "detect", "--model", "scrfd-500m", "--runs", "3", "--warmup", "1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(r.json)
        let stages = try #require(json["stages_ms"] as? [String: [String: Double]])
        for stage in ["preprocess", "inference", "postprocess", "total"] {
            let s = try #require(stages[stage])
            #expect(s["min"]! <= s["median"]! && s["median"]! <= s["p90"]!)
        }
        #expect((json["fps"] as? Double ?? 0) > 0)
        #expect((json["peak_rss_mb"] as? Double ?? 0) > 10)
        #expect(json["input_size"] as? [Int] == [640, 640])
    }

    @Test func modelsListAndPath() throws {
        let list = try CLI.run(["models", "list", "--json"])
        #expect(list.status == 0)
        let models = try #require(list.json?["models"] as? [[String: Any]])
        #expect(models.contains { $0["id"] as? String == "yunet-2023mar" })
        let install = try CLI.run(["models", "install", "yunet-2023mar"])
        #expect(install.status == 0, "\(install.stderr)")
        let path = try CLI.run(["models", "path", "yunet-2023mar"])
        #expect(path.status == 0)
        #expect(path.stdout.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("face_detection_yunet_2023mar.onnx"))
        let verify = try CLI.run(["models", "verify", "yunet-2023mar"])
        #expect(verify.status == 0 && verify.stdout.contains("ok"))
    }
}
