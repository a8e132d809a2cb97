import Foundation
import Testing
import VisageCore
import VisageJobs

/// Manifest lines: each kind decodes into the job its command runs, with the command's option names; a line
/// that is not an item is a failed entry with a message that says what is wrong, and never stops the others.
@Suite struct BatchManifestTests {
    static let folder = "/data/set"

    func entries(_ text: String) -> [BatchManifest.Entry] { BatchManifest(text: text, path: Self.folder + "/m.jsonl").entries }

    func failure(_ line: String) -> String? {
        if case .failure(let error) = BatchManifest.decode(line) { return error.description }
        return nil
    }

    @Test func eachKindDecodesIntoItsJobWithTheCommandsOptionNames() throws {
        let list = entries("""
        {"kind": "au", "input": "v/a.mp4", "output": "csv/a.csv", "landmarks": "pfld", "detect-every": 3, "max-frames": 40}

        {"kind": "swap", "source": "me.jpg", "target": "/abs/clip.mp4", "output": "out/clip.mp4", "many-faces": true, "mouth-mask": 0.5}
        {"kind": "analyze", "input": "v/a.mp4", "output": "json/a.jsonl", "max-lost": 7}
        """)
        #expect(list.map(\.line) == [1, 3, 4], "a blank line is skipped but keeps the line numbers")
        #expect(list.map(\.index) == [0, 1, 2])
        let au = try #require(try list[0].item.get().job as? AUJob)
        #expect(au.landmarks == .pfld && au.detectEvery == 3 && au.maxFrames == 40 && au.output == "csv/a.csv")
        let swap = try #require(try list[1].item.get().job as? SwapJob)
        #expect(swap.manyFaces && swap.mouthMask == 0.5 && swap.target == "/abs/clip.mp4")
        let analyze = try #require(try list[2].item.get().job as? AnalyzeBatchItem)
        #expect(analyze.job.maxLost == 7 && analyze.output == "json/a.jsonl" && !analyze.job.collectFrames)
        // Relative paths are the manifest folder's; the item's identity is its resolved output.
        #expect(list.map(\.output) == ["/data/set/csv/a.csv", "/data/set/out/clip.mp4", "/data/set/json/a.jsonl"])
        let resolved = try list[1].item.get().job.resolvingPaths(against: URL(fileURLWithPath: Self.folder))
        #expect(resolved.batchInputs == ["/data/set/me.jpg", "/abs/clip.mp4"])
    }

    @Test func aWrittenLineReadsBackAsTheSameItem() throws {
        var job = AUJob(input: "v/a b.mp4", output: "csv/a b.csv")
        job.landmarks = .pfld
        job.multiFace = true
        let item = BatchItem(kind: "au", job: job)
        let line = try item.jsonLine()
        #expect(line.hasPrefix("{\"detect-every\":5,"), "keys sorted, defaults written out")
        let again = try BatchManifest.decode(line).get()
        #expect(try again.canonicalOptions() == item.canonicalOptions())
        let analyze = BatchItem(kind: "analyze", job: AnalyzeBatchItem(job: AnalyzeJob(input: "x.mp4"), output: "x.json"))
        #expect(try BatchManifest.decode(try analyze.jsonLine()).get().canonicalOptions() == analyze.canonicalOptions())
    }

    @Test func badLinesSayWhatIsWrong() throws {
        #expect(failure("{\"kind\": \"au\", \"input\": \"a.mp4\"")?.hasPrefix("not valid JSON") == true)
        #expect(failure("[1, 2]")?.hasPrefix("not a JSON object") == true)
        #expect(failure("{\"input\": \"a.mp4\", \"output\": \"a.csv\"}")?.hasPrefix("no \"kind\"") == true)
        #expect(failure("{\"kind\": \"detect\", \"input\": \"a.mp4\"}")?.contains("unknown kind 'detect' (known: analyze, au, enhance, swap)") == true)
        #expect(failure("{\"kind\": \"au\", \"input\": \"a.mp4\", \"output\": \"a.csv\", \"landmark\": \"pfld\"}")?.hasPrefix("unknown option 'landmark' for au") == true)
        #expect(failure("{\"kind\": \"au\", \"input\": \"a.mp4\", \"output\": \"a.csv\", \"detect-every\": \"five\"}") == "\"detect-every\" must be a whole number")
        #expect(failure("{\"kind\": \"au\", \"input\": \"a.mp4\", \"output\": \"a.csv\", \"detect-every\": 0}") == "detect-every must be from 1 to 100 (got 0)")
        #expect(failure("{\"kind\": \"au\", \"input\": \"a.mp4\"}")?.hasPrefix("the item has no output") == true)
        #expect(failure("{\"kind\": \"au\", \"camera\": 0, \"output\": \"a.csv\"}")?.contains("camera cannot be an item") == true)
        #expect(failure("{\"kind\": \"swap\", \"target\": \"a.mp4\", \"output\": \"b.mp4\"}")?.hasPrefix("give a source face") == true)
        #expect(failure("{\"kind\": \"analyze\", \"input\": \"a.mp4\", \"output\": \"a.csv\"}")?.contains("must be .jsonl") == true)
        #expect(failure("{\"kind\": \"enhance\", \"input\": \"a.png\", \"output\": \"b.png\", \"enhance-every\": 0}") == "enhance-every must be from 1 to 100 (got 0)")
        #expect(failure("{\"kind\": \"enhance\", \"input\": \"a.mp4\", \"output\": \"b.mp4\", \"faces\": 2}")?.contains("face number for photos only") == true)
        #expect(failure("{\"kind\": \"enhance\", \"input\": \"a.png\", \"output\": \"b.png\", \"blend\": 0.5}")?.hasPrefix("unknown option 'blend' for enhance") == true)
        // The bad line stays in the list, named by its output when it has one.
        let list = entries("{\"kind\": \"au\", \"input\": \"a.mp4\", \"output\": \"x.csv\", \"oops\": 1}\nnot json\n")
        #expect(list.count == 2 && list.allSatisfy { (try? $0.item.get()) == nil })
        #expect(list.map(\.output) == ["/data/set/x.csv", nil])
    }

    @Test func aMissingOrFolderManifestIsAnErrorOfTheWholeRun() throws {
        #expect(throws: VisageError.fileNotFound(path: "/nonexistent/m.jsonl")) { try BatchManifest(contentsOf: "/nonexistent/m.jsonl") }
        let dir = try JobFixtures.temporaryDirectory()
        #expect(throws: VisageError.notAFile(path: dir.path)) { try BatchManifest(contentsOf: dir.path) }
    }
}
