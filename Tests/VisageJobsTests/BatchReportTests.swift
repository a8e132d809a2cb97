import Foundation
import Testing
import VisageJobs

/// The status report folded from shard status files: latest state per item, a killed task's items pending
/// again, shards added up, throughput over wall time.
@Suite struct BatchReportTests {
    static func event(_ kind: BatchEvent.Kind, _ second: Int, _ fill: (inout BatchEvent) -> Void = { _ in }) -> BatchEvent {
        var e = BatchEvent(event: kind, time: String(format: "2026-01-01T00:%02d:%02d.000Z", second / 60, second % 60))
        fill(&e)
        return e
    }

    static func start(_ shard: String, _ second: Int, items: Int) -> BatchEvent {
        event(.start, second) { $0.shard = shard; $0.items = items }
    }

    static func item(_ output: String, _ second: Int, _ status: BatchEvent.ItemStatus, frames: Int? = nil, error: String? = nil) -> BatchEvent {
        event(.item, second) { $0.output = output; $0.status = status; $0.frames = frames; $0.error = error; $0.line = Int(output.dropFirst()) }
    }

    static func begin(_ output: String, _ second: Int) -> BatchEvent { event(.begin, second) { $0.output = output } }
    static func stop(_ second: Int) -> BatchEvent { event(.stop, second) }

    @Test func aKilledTasksItemsArePendingAndItsResubmissionSkipsTheFinishedOnes() {
        let now = ISO8601DateFormatter().date(from: "2026-01-01T01:00:00Z")!
        // Shard 0/2: finished a1 and a3, then was killed (no stop) while a5 ran; resubmitted, skipped a1 and a3
        // and finished a5. Shard 1/2: a2 done, a4 failed.
        let shard0 = [Self.start("0/2", 0, items: 3), Self.begin("a1", 0), Self.item("a1", 10, .done, frames: 100),
                      Self.begin("a3", 10), Self.item("a3", 20, .done, frames: 100), Self.begin("a5", 20),
                      Self.start("0/2", 30, items: 3), Self.item("a1", 30, .skipped), Self.item("a3", 30, .skipped),
                      Self.begin("a5", 30), Self.item("a5", 40, .done, frames: 100), Self.stop(40)]
        let shard1 = [Self.start("1/2", 0, items: 2), Self.begin("a2", 0), Self.item("a2", 10, .done, frames: 200),
                      Self.begin("a4", 10), Self.item("a4", 15, .failed, error: "file not found: a4.avi"), Self.stop(15)]
        let report = BatchReport.fold([shard0, shard1], now: now)
        #expect(report.total == 5 && report.done == 4 && report.failed == 1 && report.pending == 0 && report.running == 0)
        #expect(report.items.first { $0.output == "a1" }?.frames == 100, "a skip keeps what the run that made it said")
        #expect(report.failures.map(\.output) == ["a4"] && report.failures[0].error == "file not found: a4.avi")
        #expect(report.shards.map(\.attempts) == [2, 1])
        // Latest attempts: shard 0 ran 30 s to 40 s (a5, 100 frames), shard 1 from 0 to 15 s (300 frames in all... 200).
        #expect(abs(report.fps - 300.0 / 40.0) < 1e-9)
        #expect(report.etaSeconds == nil, "nothing runs: no time left to estimate")

        // Before the resubmission: a5 was lost with the killed task, and shows as running (no stop yet).
        let killed = BatchReport.fold([Array(shard0.prefix(6)), shard1], now: now)
        #expect(killed.done == 3 && killed.running == 1 && killed.pending == 0)
        #expect(killed.shards[0].stopped == nil)
        // Once another attempt starts, the one without a stop was killed: its item is pending again.
        let restarted = BatchReport.fold([Array(shard0.prefix(7)), shard1], now: now)
        #expect(restarted.running == 0 && restarted.pending == 1)
    }

    @Test func whileATaskRunsTheETAFollowsItsItemRate() {
        let now = ISO8601DateFormatter().date(from: "2026-01-01T00:00:40Z")!
        let log = [Self.start("0/1", 0, items: 6), Self.begin("a1", 0), Self.item("a1", 10, .done, frames: 250),
                   Self.begin("a2", 10), Self.item("a2", 20, .done, frames: 250), Self.begin("a3", 20)]
        let report = BatchReport.fold([log], now: now)
        #expect(report.done == 2 && report.running == 1 && report.pending == 3)
        // Two items in 40 s: 4 left (3 pending + 1 running) take 80 s more.
        #expect(report.etaSeconds == 80)
        #expect(abs(report.fps - 500.0 / 40.0) < 1e-9)
    }

    @Test func interruptedItemsArePendingNotFailed() {
        let log = [Self.start("0/1", 0, items: 2), Self.begin("a1", 0), Self.item("a1", 5, .interrupted), Self.stop(5)]
        let report = BatchReport.fold([log])
        #expect(report.failed == 0 && report.pending == 2 && report.items[0].state == .pending)
    }
}
