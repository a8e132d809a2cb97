import Foundation
import Testing
import VisageCore
@testable import VisageJobs

/// A request decodes into the same typed job the command line builds: options by their CLI names,
/// files by id (resolved by the front end), outputs placed by the front end.
@Suite struct JobRequestTests {
    static func decode(_ json: String) throws -> JobRequest { try JSONDecoder().decode(JobRequest.self, from: Data(json.utf8)) }
    static let resolve: @Sendable (String, String) throws -> String = { _, id in "/data/files/\(id).\(id.hasPrefix("v") ? "mp4" : "jpg")" }
    static let place: @Sendable (String, String) throws -> String = { name, ext in "/data/results/job/\(name).\(ext)" }

    @Test func swapRequestBecomesTheCLIsSwapJob() throws {
        let request = try Self.decode(#"{"kind": "swap", "inputs": {"source": "s1", "target": "v2"}, "options": {"many-faces": true, "mouth-mask": 0.5, "detect-every": 3}}"#)
        guard case .swap(let job) = try request.makeJob(input: Self.resolve, output: Self.place) else { Issue.record("not a swap"); return }
        var cli = SwapJob(source: "/data/files/s1.jpg", target: "/data/files/v2.mp4", output: "/data/results/job/output.mp4")
        cli.manyFaces = true
        cli.mouthMask = 0.5
        cli.detectEvery = 3
        #expect(try JobJSON.data(job, pretty: false) == JobJSON.data(cli, pretty: false))
    }

    @Test func optionalOutputsAreAskedForWithTrue() throws {
        let au = try Self.decode(#"{"kind": "au", "inputs": {"input": "v1"}, "options": {"plot": true, "landmarks": "pfld"}}"#)
        guard case .au(let job) = try au.makeJob(input: Self.resolve, output: Self.place) else { Issue.record("not au"); return }
        #expect(job.output == "/data/results/job/output.csv" && job.plot == "/data/results/job/plot.png" && job.landmarks == .pfld)
        let analyze = try Self.decode(#"{"kind": "analyze", "inputs": {"input": "i1"}}"#)
        guard case .analyze(let plain) = try analyze.makeJob(input: Self.resolve, output: Self.place) else { Issue.record("not analyze"); return }
        #expect(plain.draw == nil && plain.input == "/data/files/i1.jpg")
    }

    @Test func wrongRequestsNameTheField() throws {
        func field(_ json: String) -> String? {
            do { _ = try Self.decode(json).makeJob(input: Self.resolve, output: Self.place); return nil } catch let e as JobRequestError { return e.field } catch { return "\(error)" }
        }
        #expect(field(#"{"kind": "swap", "inputs": {"source": "s"}}"#) == "inputs.target")
        #expect(field(#"{"kind": "analyze", "inputs": {"input": "i"}, "options": {"turbo": 1}}"#) == "options.turbo")
        #expect(field(#"{"kind": "analyze", "inputs": {"input": "i"}, "options": {"detect-every": "x"}}"#) == "options.detect-every")
        #expect(field(#"{"kind": "swap", "inputs": {"source": "s", "target": "t"}, "options": {"swap-model": "/etc/passwd"}}"#) == "options.swap-model")
        #expect(field(#"{"kind": "swap", "inputs": {"source": "s", "target": "t"}, "options": {"output": "/tmp/x.png"}}"#) == "options.output")
        #expect(field(#"{"kind": "analyze", "inputs": {"input": "i"}, "options": {"input": "/etc/passwd"}}"#) == "options.input")
        #expect(field(#"{"kind": "analyze", "inputs": {"input": "i", "extra": "e"}}"#) == "inputs.extra")
        #expect(field(#"{"kind": "detect", "inputs": {"input": "i"}}"#) == "kind")
        #expect(field(#"{"kind": "swap", "inputs": {"source": "s", "target": "t"}, "options": {"swapper": "magic"}}"#) == "options.swapper")
    }
}
