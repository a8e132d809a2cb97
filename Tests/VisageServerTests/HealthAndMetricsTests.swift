import Foundation
import HummingbirdTesting
import Testing
@testable import VisageServer

@Suite struct HealthAndMetricsTests {
    /// /health reports what the doctor does (ONNX Runtime, providers, the choice and why), the mode,
    /// the installed models, the queue and the uptime.
    @Test func healthReportsTheMachineTheModeAndTheQueue() async throws {
        let server = try ServerFixtures.server { $0.mode = .quality }
        defer { server.stop() }
        try await server.application().test(.router) { client in
            let r = try await client.execute(uri: "/health", method: .get)
            #expect(r.status == .ok)
            let h = r.json
            #expect(h["status"] as? String == "ok")
            #expect(h["mode"] as? String == "quality")
            #expect((h["models_installed"] as? [String])?.contains("yunet-2023mar") == true)
            let queue = try #require(h["queue"] as? [String: Any])
            #expect(queue["workers"] as? Int == 1 && queue["queued"] as? Int == 0)
            #expect((h["uptime_s"] as? Double ?? -1) >= 0)
            let system = try #require(h["system"] as? [String: Any])
            let ort = try #require(system["onnxruntime"] as? [String: Any])
            #expect(ort["available"] as? Bool == true, "\(ort)")
            #expect((ort["providers_available"] as? [String])?.contains("CPUExecutionProvider") == true, "\(ort)")
            let decision = try #require(ort["accelerator"] as? [String: Any])
            #expect(!(decision["reason"] as? String ?? "").isEmpty)
            #expect(system["cpu"] != nil && system["os"] != nil)
        }
    }

    /// /metrics is Prometheus text: job counts by kind and state, durations and stages once a job ran,
    /// queue depth, resident memory.
    @Test func metricsArePrometheusTextWithJobsQueueAndMemory() async throws {
        let server = try ServerFixtures.server()
        defer { server.stop() }
        try await server.application().test(.router) { client in
            let upload = try await client.upload(ServerFixtures.sample("obama.jpg"), kind: "image")
            let id = try #require(upload.json["id"] as? String)
            let submitted = try await client.postJSON("/v1/jobs", ["kind": "analyze", "inputs": ["input": id]])
            #expect(submitted.status == .created, "\(submitted.text)")
            let job = try await client.waitForJob(try #require(submitted.json["id"] as? String))
            #expect(job["state"] as? String == "succeeded", "\(job)")
            let r = try await client.execute(uri: "/metrics", method: .get)
            #expect(r.status == .ok)
            #expect(r.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = r.text
            #expect(text.contains("visage_jobs{kind=\"analyze\",state=\"succeeded\"} 1"), "\(text)")
            #expect(text.contains("visage_job_duration_seconds_bucket{kind=\"analyze\",state=\"succeeded\""))
            #expect(text.contains("visage_job_stage_seconds_count") || text.contains("visage_job_duration_seconds_count"))
            #expect(text.contains("visage_queue_depth 0"))
            #expect(text.contains("visage_http_request_duration_seconds_bucket"))
            let rss = text.split(separator: "\n").first { $0.hasPrefix("visage_resident_memory_bytes ") }
            #expect((rss.flatMap { Double($0.split(separator: " ")[1]) } ?? 0) > 10_000_000, "\(String(describing: rss))")
        }
    }
}
