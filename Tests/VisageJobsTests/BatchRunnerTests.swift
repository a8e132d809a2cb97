import Foundation
import Testing
import VisageCore
import VisageJobs
import VisageRuntime

/// The batch runner on real clips: items are the AU job (same bytes as running the job alone), finished items
/// are skipped until an input or an option changes, a bad item is recorded while the rest finish, failed
/// items rerun only with `retryFailed`, and a stop leaves the unfinished items pending with nothing half-written.
@Suite(.serialized) struct BatchRunnerTests {
    static let clips = ["1815_01_008_tony_blair.avi", "0294_02_004_angelina_jolie.avi"].map { JobFixtures.media("video/openface_ytf/" + $0) }

    /// An AU item line (PFLD landmarks, the first `frames` frames: quick).
    static func line(_ input: String, _ output: String, frames: Int = 12) -> String {
        "{\"kind\": \"au\", \"input\": \"\(input)\", \"output\": \"\(output)\", \"landmarks\": \"pfld\", \"max-frames\": \(frames)}"
    }

    static func write(_ lines: [String], in dir: URL) throws -> BatchManifest {
        let path = dir.appendingPathComponent("m.jsonl").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return try BatchManifest(contentsOf: path)
    }

    static func run(_ manifest: BatchManifest, in dir: URL, retryFailed: Bool = false, parallel: Int = 2,
                    cancellation: CancellationToken = CancellationToken(), progress: @escaping BatchProgressSink = { _ in }) throws -> BatchSummary {
        var auModels = AUJob(input: nil, output: nil)
        auModels.landmarks = .pfld
        let context = try JobFixtures.context(auModels.requiredModels, cancellation: cancellation)
        let options = BatchRunOptions(plan: BatchPlan.choose(cores: 2, items: 2, parallel: parallel), retryFailed: retryFailed,
                                      runDirectory: dir.appendingPathComponent("m.run"))
        return try BatchRunner(manifest: manifest, options: options).run(in: context, progress: progress)
    }

    static func modified(_ path: String) throws -> Date {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
    }

    @Test func itemsAreTheAUJobAndASecondRunSkipsThemUntilAnOptionOrAnInputChanges() throws {
        let dir = try JobFixtures.temporaryDirectory()
        // A copy of a clip we may change.
        let copy = dir.appendingPathComponent("clip.avi").path
        try FileManager.default.copyItem(atPath: Self.clips[1], toPath: copy)
        var lines = [Self.line(Self.clips[0], "csv/blair.csv"), Self.line("clip.avi", "csv/jolie.csv"), Self.line(Self.clips[0], "csv/blair-20.csv", frames: 20)]
        let first = try Self.run(try Self.write(lines, in: dir), in: dir)
        #expect(first.done == 3 && first.skipped == 0 && first.failedTotal == 0 && first.frames == 12 + 12 + 20)
        for name in ["blair", "jolie", "blair-20"] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("csv/\(name).csv.done").path))
        }
        // The item's CSV is what the AU job alone writes for the same file and options, with the command's
        // default threads (the batch gave each item one).
        var alone = AUJob(input: Self.clips[0], output: dir.appendingPathComponent("alone.csv").path)
        alone.landmarks = .pfld
        alone.maxFrames = 12
        var context = try JobFixtures.context(alone.requiredModels)
        context.session.intraOpThreads = 0
        _ = try alone.run(in: context)
        #expect(FileManager.default.contents(atPath: alone.output!) == FileManager.default.contents(atPath: dir.appendingPathComponent("csv/blair.csv").path))

        let written = try Self.modified(dir.appendingPathComponent("csv/blair.csv").path)
        let second = try Self.run(try Self.write(lines, in: dir), in: dir)
        #expect(second.done == 0 && second.skipped == 3)
        #expect(try Self.modified(dir.appendingPathComponent("csv/blair.csv").path) == written, "a skipped item's output is left alone")

        // An option changes: that item runs again. An input is touched but not changed: still done (same sha256).
        lines[2] = Self.line(Self.clips[0], "csv/blair-20.csv", frames: 16)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: copy)
        let third = try Self.run(try Self.write(lines, in: dir), in: dir)
        #expect(third.done == 1 && third.skipped == 2 && third.frames == 16)
        // An input's bytes change: its item runs again.
        let handle = try #require(FileHandle(forWritingAtPath: copy))
        handle.seekToEndOfFile()
        handle.write(Data([0]))
        try handle.close()
        let fourth = try Self.run(try Self.write(lines, in: dir), in: dir)
        #expect(fourth.done == 1 && fourth.skipped == 2)
        let report = try BatchReport.load([dir.appendingPathComponent("m.run").path])
        #expect(report.total == 3 && report.done == 3 && report.failed == 0 && report.pending == 0 && report.shards.first?.attempts == 4)
    }

    @Test func aBadItemIsRecordedTheOthersFinishAndRetryFailedRerunsOnlyItOnceFixed() throws {
        let dir = try JobFixtures.temporaryDirectory()
        let lines = [Self.line(Self.clips[0], "csv/good.csv"),
                     "{\"kind\": \"au\", \"input\": \"x.avi\", \"output\": ",
                     Self.line("later.avi", "csv/later.csv"),
                     Self.line(Self.clips[1], "csv/good.csv"),
                     Self.line(Self.clips[1], "csv/pending.csv")]
        // Leave one good item for the retry-failed run to ignore: it stays pending.
        var manifest = try Self.write(Array(lines.prefix(4)), in: dir)
        let first = try Self.run(manifest, in: dir)
        #expect(first.done == 1 && first.failed == 3 && first.failedTotal == 3)
        #expect(first.failures.map(\.line) == [2, 3, 4])
        #expect(first.failures[0].error.hasPrefix("not valid JSON"))
        #expect(first.failures[1].error == "file not found: \(dir.path)/later.avi")
        #expect(first.failures[2].error == "line 1 writes the same output (\(dir.path)/csv/good.csv); give each item its own output")
        #expect(first.failures[2].output == "line 4")

        // Resuming does not retry what failed; it runs what is new.
        manifest = try Self.write(lines, in: dir)
        let resume = try Self.run(manifest, in: dir)
        #expect(resume.done == 1 && resume.skipped == 1 && resume.failedEarlier == 1 && resume.failed == 2)

        // The missing input appears: only --retry-failed runs it, and nothing else.
        try FileManager.default.copyItem(atPath: Self.clips[1], toPath: dir.appendingPathComponent("later.avi").path)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("csv/pending.csv"))
        let retry = try Self.run(manifest, in: dir, retryFailed: true)
        #expect(retry.done == 1 && retry.failed == 2 && retry.skipped == 1)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("csv/later.csv.done").path))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("csv/pending.csv").path), "retry-failed leaves pending items alone")

        let report = try BatchReport.load([dir.appendingPathComponent("m.run").path])
        // The status knows what the runs did (pending.csv was removed behind its back: still done there).
        #expect(report.total == 5 && report.done == 3 && report.failed == 2 && report.pending == 0)
        #expect(report.failures.map(\.line) == [2, 4])
    }

    @Test func aStoppedTaskLeavesItsUnfinishedItemsPendingWithNothingHalfWritten() throws {
        let dir = try JobFixtures.temporaryDirectory()
        let csv = dir.appendingPathComponent("csv")
        try FileManager.default.createDirectory(at: csv, withIntermediateDirectories: true)
        // What a killed earlier attempt left behind: removed before the item runs again.
        let leftover = csv.appendingPathComponent(".a.partial-0a1b2c3d.csv")
        try Data("half".utf8).write(to: leftover)
        let manifest = try Self.write([Self.line(Self.clips[0], "csv/a.csv", frames: 200), Self.line(Self.clips[1], "csv/b.csv", frames: 200),
                                       Self.line(Self.clips[0], "csv/c.csv", frames: 200)], in: dir)
        let token = CancellationToken()
        let stopped = try Self.run(manifest, in: dir, parallel: 1, cancellation: token) { p in
            if p.frames >= 30 { token.cancel(.interrupted) }
        }
        #expect(stopped.interrupted && stopped.done == 0 && stopped.failedTotal == 0 && stopped.notRun == 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: csv.path) == [".a.partial-0a1b2c3d.csv"], "no CSV, no temporary file of its own")
        var report = try BatchReport.load([dir.appendingPathComponent("m.run").path])
        #expect(report.pending == 3 && report.failed == 0 && report.running == 0)

        let resumed = try Self.run(manifest, in: dir)
        #expect(resumed.done == 3 && !resumed.interrupted)
        #expect(!FileManager.default.fileExists(atPath: leftover.path))
        report = try BatchReport.load([dir.appendingPathComponent("m.run").path])
        #expect(report.done == 3 && report.pending == 0 && report.fps > 0)
    }

    /// Items start largest input first, whatever the manifest's order, so a long clip never starts last and
    /// holds the task while the other slots idle.
    @Test func itemsStartLargestInputFirst() throws {
        let dir = try JobFixtures.temporaryDirectory()
        let sizes = try Self.clips.map { try #require(FileManager.default.attributesOfItem(atPath: $0)[.size] as? NSNumber).intValue }
        try #require(sizes[0] < sizes[1], "the fixture's first clip is the smaller one")
        let manifest = try Self.write([Self.line(Self.clips[0], "csv/small.csv", frames: 4), Self.line(Self.clips[1], "csv/large.csv", frames: 4),
                                       Self.line(Self.clips[0], "csv/small-again.csv", frames: 4)], in: dir)
        let summary = try Self.run(manifest, in: dir, parallel: 1)
        #expect(summary.done == 3)
        let events = try String(contentsOfFile: summary.statusFile, encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(BatchEvent.self, from: Data($0.utf8)) }
        #expect(events.filter { $0.event == .begin }.compactMap(\.line) == [2, 1, 3], "largest first, ties in manifest order")
    }
}
