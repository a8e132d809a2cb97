import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
@testable import VisageServer

@Suite struct JobRoutesTests {
    /// A job submitted over HTTP runs, its events end with the final state, its result is the job's
    /// `--json` result, and its outputs download whole or by range.
    @Test func runsAJobFollowsItsEventsAndServesItsOutputs() async throws {
        let server = try ServerFixtures.server()
        defer { server.stop() }
        try await server.application().test(.router) { client in
            let input = try #require(try await client.upload(ServerFixtures.sample("obama.jpg"), kind: "image").json["id"] as? String)
            let r = try await client.postJSON("/v1/jobs", ["kind": "analyze", "inputs": ["input": input], "options": ["draw": true, "detect-every": 3]])
            #expect(r.status == .created, "\(r.text)")
            let id = try #require(r.json["id"] as? String)
            #expect(r.headers[.location] == "/v1/jobs/\(id)")
            #expect(r.json["state"] as? String == "queued" || r.json["state"] as? String == "running")

            // Server-sent events: the state now, progress, and the final state; then the stream ends.
            let events = try await client.execute(uri: "/v1/jobs/\(id)/events", method: .get)
            #expect(events.headers[.contentType] == "text/event-stream")
            let text = events.text
            #expect(text.contains("event: state"), "\(text)")
            let last = try #require(text.components(separatedBy: "\n\n").filter { $0.contains("event: state") }.last)
            #expect(last.contains("\"state\":\"succeeded\""), "\(last)")

            let job = try await client.waitForJob(id)
            #expect(job["state"] as? String == "succeeded", "\(job)")
            let result = try #require(job["result"] as? [String: Any])
            let faces = try #require(result["faces"] as? [[String: Any]])
            #expect(faces.count == 1 && (faces[0]["landmarks"] as? [[Double]])?.count == 68)
            #expect((result["input"] as? String)?.hasPrefix("files/") == true, "paths inside the data directory are relative: \(result)")
            let outputs = try #require(job["outputs"] as? [[String: Any]])
            #expect(outputs.map { $0["name"] as? String } == ["draw.png"])
            let url = try #require(outputs.first?["url"] as? String)
            let whole = try await client.execute(uri: url, method: .get)
            #expect(whole.status == .ok && whole.headers[.contentType] == "image/png" && whole.headers[.acceptRanges] == "bytes")
            let size = whole.body.readableBytes
            #expect(size == outputs.first?["size"] as? Int)
            let part = try await client.execute(uri: url, method: .get, headers: [.range: "bytes=8-107"])
            #expect(part.status == .partialContent)
            #expect(part.headers[.contentRange] == "bytes 8-107/\(size)")
            let wholeBytes = [UInt8](whole.body.readableBytesView), partBytes = [UInt8](part.body.readableBytesView)
            #expect(partBytes == Array(wholeBytes[8...107]))
            let tail = try await client.execute(uri: url, method: .get, headers: [.range: "bytes=-10"])
            #expect(tail.status == .partialContent && tail.body.readableBytes == 10)
            let outside = try await client.execute(uri: url, method: .get, headers: [.range: "bytes=\(size + 5)-"])
            #expect(outside.status == .rangeNotSatisfiable && outside.headers[.contentRange] == "bytes */\(size)")
            let other = try await client.execute(uri: "/v1/jobs/\(id)/results/output.png", method: .get)
            #expect(other.status == .notFound)

            let list = try await client.execute(uri: "/v1/jobs?state=succeeded&limit=10", method: .get).json
            #expect((list["jobs"] as? [[String: Any]])?.map { $0["id"] as? String } == [id] && list["total"] as? Int == 1)
            let none = try await client.execute(uri: "/v1/jobs?state=queued", method: .get).json
            #expect((none["jobs"] as? [Any])?.isEmpty == true)
            let badState = try await client.execute(uri: "/v1/jobs?state=done", method: .get)
            #expect(badState.status == .badRequest && badState.errorField == "state")
            let finished = try await client.execute(uri: "/v1/jobs/\(id)", method: .delete)
            #expect(finished.status == .conflict && finished.errorCode == "already_finished")
            // Removing it: the record and its results go, its upload stays.
            let removed = try await client.execute(uri: "/v1/jobs/\(id)?remove=true", method: .delete)
            #expect(removed.status == .noContent, "\(removed.text)")
            #expect(try await client.execute(uri: "/v1/jobs/\(id)", method: .get).status == .notFound)
            #expect(!FileManager.default.fileExists(atPath: server.files.resultDirectory(job: id).path))
            #expect(try await client.execute(uri: "/v1/jobs?state=succeeded", method: .get).json["total"] as? Int == 0)
        }
    }

    /// Every way a submission can be wrong gets its status and names the field.
    @Test func refusesBadSubmissionsNamingTheField() async throws {
        let server = try ServerFixtures.server()
        defer { server.stop() }
        try await server.application().test(.router) { client in
            let input = try #require(try await client.upload(ServerFixtures.sample("obama.jpg"), kind: "image").json["id"] as? String)
            let unknownJob = try await client.execute(uri: "/v1/jobs/\(UUID().uuidString.lowercased())", method: .get)
            #expect(unknownJob.status == .notFound && unknownJob.errorCode == "not_found")
            let notAnID = try await client.execute(uri: "/v1/jobs/42", method: .get)
            #expect(notAnID.status == .notFound)

            let syntax = try await client.execute(uri: "/v1/jobs", method: .post, headers: [.contentType: "application/json"],
                                                  body: ByteBuffer(string: "{\"kind\": \"swap\", \"inputs\": {"))
            #expect(syntax.status == .badRequest && syntax.errorCode == "invalid_json" && syntax.errorField == "body", "\(syntax.text)")
            let typed = try await client.postJSON("/v1/jobs", ["kind": "analyze", "inputs": ["input": 5]])
            #expect(typed.status == .badRequest && typed.errorField == "inputs.input", "\(typed.text)")
            let kind = try await client.postJSON("/v1/jobs", ["kind": "teleport", "inputs": ["input": input]])
            #expect(kind.status == .badRequest && kind.errorField == "kind", "\(kind.text)")
            let option = try await client.postJSON("/v1/jobs", ["kind": "analyze", "inputs": ["input": input], "options": ["detect-every": "often"]])
            #expect(option.status == .badRequest && option.errorField == "options.detect-every", "\(option.text)")
            let range = try await client.postJSON("/v1/jobs", ["kind": "analyze", "inputs": ["input": input], "options": ["detect-every": 0]])
            #expect(range.status == .badRequest && range.errorMessage.contains("detect-every must be from 1 to 100"), "\(range.text)")
            let unknown = try await client.postJSON("/v1/jobs", ["kind": "analyze", "inputs": ["input": input], "options": ["turbo": true]])
            #expect(unknown.status == .badRequest && unknown.errorField == "options.turbo")
            let hostPath = try await client.postJSON("/v1/jobs", ["kind": "swap", "inputs": ["source": input, "target": input],
                                                                  "options": ["swap-model": "/etc/passwd"]])
            #expect(hostPath.status == .badRequest && hostPath.errorField == "options.swap-model", "\(hostPath.text)")
            let missingInput = try await client.postJSON("/v1/jobs", ["kind": "swap", "inputs": ["source": input]])
            #expect(missingInput.status == .badRequest && missingInput.errorField == "inputs.target")
            let noFile = try await client.postJSON("/v1/jobs", ["kind": "analyze", "inputs": ["input": String(repeating: "a", count: 64)]])
            #expect(noFile.status == .unprocessableContent && noFile.errorField == "inputs.input", "\(noFile.text)")
            let models = try await client.postJSON("/v1/jobs", ["kind": "analyze", "inputs": ["input": input], "options": ["detector": "scrfd-10g"]])
            #expect(models.status == .conflict && models.errorCode == "models_missing", "\(models.text)")
            #expect((models.json["error"] as? [String: Any])?["models"] as? [String] == ["scrfd-10g"])
            #expect(try await client.execute(uri: "/v1/jobs", method: .get).json["total"] as? Int == 0, "nothing was queued")
        }
    }

    /// A full queue answers 429 with Retry-After; a queued job is cancelled at once, a running one at
    /// its next frame, and neither leaves outputs behind.
    @Test func queueLimitAndCancellation() async throws {
        let server = try ServerFixtures.server { $0.maxQueue = 1 }
        defer { server.stop() }
        try await server.application().test(.router) { client in
            // The worker holds the job once it is running until the cancellation was sent: on a machine the
            // rest of the test suite shares, a job can otherwise finish before this test's next request.
            let gate = DispatchSemaphore(value: 0)
            defer { gate.signal() }
            server.scheduler.beforeRun.set { _ in gate.wait() }
            let video = try #require(try await client.upload(ServerFixtures.media("video/openface/default.wmv"), kind: "video", name: "default.wmv").json["id"] as? String)
            let image = try #require(try await client.upload(ServerFixtures.sample("obama.jpg"), kind: "image").json["id"] as? String)
            let long = try #require(try await client.postJSON("/v1/jobs", ["kind": "analyze", "inputs": ["input": video]]).json["id"] as? String)
            // Wait until the worker has it, so the next one waits in the queue.
            let clock = ContinuousClock(), deadline = clock.now + .seconds(300)
            while try await client.execute(uri: "/v1/jobs/\(long)", method: .get).json["state"] as? String == "queued", clock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            let waiting = try await client.postJSON("/v1/jobs", ["kind": "analyze", "inputs": ["input": image]])
            #expect(waiting.status == .created && waiting.json["position"] as? Int == 1, "\(waiting.text)")
            let full = try await client.postJSON("/v1/jobs", ["kind": "analyze", "inputs": ["input": image]])
            #expect(full.status == .tooManyRequests && full.headers[.retryAfter] != nil && full.errorCode == "queue_full", "\(full.text)")

            let queuedID = try #require(waiting.json["id"] as? String)
            let cancelQueued = try await client.execute(uri: "/v1/jobs/\(queuedID)", method: .delete)
            #expect(cancelQueued.status == .accepted && cancelQueued.json["state"] as? String == "cancelled")
            let cancelRunning = try await client.execute(uri: "/v1/jobs/\(long)", method: .delete)
            #expect(cancelRunning.status == .accepted)
            gate.signal()
            let ended = try await client.waitForJob(long)
            #expect(ended["state"] as? String == "cancelled", "\(ended)")
            #expect(!FileManager.default.fileExists(atPath: server.files.resultDirectory(job: long).path), "no partial output kept")
        }
    }
}
