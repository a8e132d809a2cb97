import Foundation
import Testing
import VisageCore
import VisageJobs
import VisageMedia

/// A running job stops within one frame of being cancelled and leaves nothing behind; progress events
/// count up and the last one is the real total.
@Suite struct CancellationAndProgressTests {
    let clip = JobFixtures.media("video/face_recognition/short_hamilton_clip.mp4")

    /// Runs `body` with a token that is cancelled when progress reaches `frame`; returns the frames reported.
    func cancelled(at frame: Int, _ body: (JobContext) throws -> Void, models: [String]) throws -> (error: Error?, events: [JobProgress]) {
        let token = CancellationToken()
        let log = ProgressLog()
        let context = try JobFixtures.context(models, cancellation: token) { p in
            log.sink(p)
            if p.done >= frame { token.cancel() }
        }
        do { try body(context) } catch { return (error, log.events.value) }
        return (nil, log.events.value)
    }

    @Test func aCancelledSwapStopsWithinAFrameAndLeavesNoOutput() throws {
        let dir = try JobFixtures.temporaryDirectory()
        var job = SwapJob(source: JobFixtures.sample("obama.jpg"), target: clip, output: dir.appendingPathComponent("out.mp4").path)
        job.keepFrames = true
        let (error, events) = try cancelled(at: 5, { _ = try job.run(in: $0) }, models: job.requiredModels)
        #expect((error as? VisageError) == .cancelled, "\(String(describing: error))")
        #expect((events.last?.done ?? 0) <= 6, "frames after the cancel: \(events.map(\.done))")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(left.isEmpty, "left behind: \(left)")
    }

    @Test func aCancelledAUJobLeavesNoCSVNorPartialRows() throws {
        let dir = try JobFixtures.temporaryDirectory()
        var job = AUJob(input: JobFixtures.media("video/openface/default.wmv"), output: dir.appendingPathComponent("au.csv").path)
        job.landmarks = .pfld
        let (error, events) = try cancelled(at: 10, { _ = try job.run(in: $0) }, models: job.requiredModels)
        #expect((error as? VisageError) == .cancelled)
        #expect((events.last?.done ?? 0) <= 11)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func progressCountsUpAndEndsAtTheRealTotal() throws {
        let log = ProgressLog()
        var job = AnalyzeJob(input: JobFixtures.media("video/openface_ytf/1192_01_006_julia_roberts.avi"))
        job.collectFrames = false
        let context = try JobFixtures.context(job.requiredModels, progress: log.sink)
        let result = try job.run(in: context)
        let events = log.events.value
        #expect(!events.isEmpty)
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.done <= $1.done && $0.elapsed <= $1.elapsed })
        let last = try #require(events.last)
        #expect(last.finished && last.done == result.frameCount && last.total == last.done)
        #expect(events.dropLast().allSatisfy { !$0.finished && ($0.total ?? .max) >= $0.done })
    }

    @Test func cancellingAParentCancelsItsChildrenOnly() {
        let process = CancellationToken()
        let jobA = CancellationToken(parent: process), jobB = CancellationToken(parent: process)
        let heard = Locked(0)
        jobB.onCancel { _ in heard.withLock { $0 += 1 } }
        jobA.cancel()
        #expect(jobA.isCancelled && !jobB.isCancelled && !process.isCancelled)
        process.cancel(.interrupted)
        #expect(jobB.reason == .interrupted && heard.value == 1)
        #expect(throws: VisageError.interrupted) { try jobB.check() }
        #expect(throws: VisageError.cancelled) { try jobA.check() }
    }
}
