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

    /// The enhancer over the API: a job of its own (`visage enhance`) and an option of swap jobs (`--enhancer`);
    /// a model file on the server's machine cannot be named in a request.
    @Test func enhanceRequestsBecomeTheCLIsJobs() throws {
        let request = try Self.decode(#"{"kind": "enhance", "inputs": {"input": "v1"}, "options": {"model": "gpen-bfr-512", "enhance-every": 2, "faces": "largest"}}"#)
        guard case .enhance(let job) = try request.makeJob(input: Self.resolve, output: Self.place) else { Issue.record("not enhance"); return }
        var cli = EnhanceJob(input: "/data/files/v1.mp4", output: "/data/results/job/output.mp4")
        cli.model = "gpen-bfr-512"
        cli.every = 2
        cli.faces = .largest
        #expect(try JobJSON.data(job, pretty: false) == JobJSON.data(cli, pretty: false))
        let swap = try Self.decode(#"{"kind": "swap", "inputs": {"source": "s1", "target": "i2"}, "options": {"enhancer": "gfpgan-1.4", "enhance-blend": 0.5}}"#)
        guard case .swap(let swapJob) = try swap.makeJob(input: Self.resolve, output: Self.place) else { Issue.record("not a swap"); return }
        #expect(swapJob.enhancer == "gfpgan-1.4" && swapJob.enhanceBlend == 0.5 && swapJob.output == "/data/results/job/output.png")
        func field(_ json: String) -> String? {
            do { _ = try Self.decode(json).makeJob(input: Self.resolve, output: Self.place); return nil } catch let e as JobRequestError { return e.field } catch { return "\(error)" }
        }
        #expect(field(#"{"kind": "enhance", "inputs": {"input": "i"}, "options": {"enhancer-model": "/etc/passwd"}}"#) == "options.enhancer-model")
        #expect(field(#"{"kind": "swap", "inputs": {"source": "s", "target": "t"}, "options": {"enhancer-model": "/etc/passwd"}}"#) == "options.enhancer-model")
        #expect(field(#"{"kind": "enhance", "inputs": {"input": "i"}, "options": {"faces": "some"}}"#) == "options.faces")
    }

    /// map-faces over the API: pairs of uploaded files, resolved like inputs; the source input is then
    /// not needed; every file id of the request is listed (retention keeps them while it waits).
    @Test func mapFacesTakesPairsOfFileIDs() throws {
        let request = try Self.decode(#"{"kind": "swap", "inputs": {"target": "v9"}, "options": {"map-faces": [{"source": "s1", "reference": "r1"}, {"source": "s2", "reference": "r2"}]}}"#)
        guard case .swap(let job) = try request.makeJob(input: Self.resolve, output: Self.place) else { Issue.record("not a swap"); return }
        var cli = SwapJob(source: nil, target: "/data/files/v9.mp4", output: "/data/results/job/output.mp4")
        cli.mapFaces = [.init(source: "/data/files/s1.jpg", reference: "/data/files/r1.jpg"), .init(source: "/data/files/s2.jpg", reference: "/data/files/r2.jpg")]
        #expect(try JobJSON.data(job, pretty: false) == JobJSON.data(cli, pretty: false))
        #expect(Set(request.fileIDs) == ["v9", "s1", "r1", "s2", "r2"])
        func field(_ json: String) -> String? {
            do { _ = try Self.decode(json).makeJob(input: Self.resolve, output: Self.place); return nil } catch let e as JobRequestError { return e.field } catch { return "\(error)" }
        }
        #expect(field(#"{"kind": "swap", "inputs": {"target": "t"}}"#) == "inputs.source")
        #expect(field(#"{"kind": "swap", "inputs": {"target": "t"}, "options": {"map-faces": "a=b"}}"#) == "options.map-faces")
        #expect(field(#"{"kind": "swap", "inputs": {"target": "t"}, "options": {"map-faces": [{"source": "s"}]}}"#) == "options.map-faces[0].reference")
        // The resolver sees where the id came from, so an unknown one is reported there.
        let seen = Locked<[String]>([])
        _ = try request.makeJob(input: { name, id in seen.withLock { $0.append(name) }; return id }, output: Self.place)
        #expect(Set(seen.value) == ["target", "options.map-faces[0].source", "options.map-faces[0].reference", "options.map-faces[1].source", "options.map-faces[1].reference"])
    }

    /// Stored results are parsed without a thrown error per value; the same value as through Decoder.
    @Test func jsonValueParsesLikeItsDecoder() throws {
        let text = #"{"a": [true, false, 0, 1, -2.5, 1e3, "x", null, {"b": []}], "c": {}}"#
        let parsed = try JSONValue(json: Data(text.utf8))
        #expect(parsed == (try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))))
        guard case .object(let o) = parsed, case .array(let a)? = o["a"] else { Issue.record("\(parsed)"); return }
        #expect(a[0] == .bool(true) && a[1] == .bool(false) && a[2] == .number(0) && a[3] == .number(1) && a[4] == .number(-2.5) && a[7] == .null)
        #expect(throws: (any Error).self) { try JSONValue(json: Data("{nope".utf8)) }
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
