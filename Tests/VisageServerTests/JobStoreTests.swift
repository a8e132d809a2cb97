import Foundation
import GRDB
import Testing
@testable import VisageServer

@Suite struct JobStoreTests {
    static func record(_ id: String, client: String = "local", state: JobState = .queued, inputs: [String] = []) -> JobRecord {
        JobRecord(id: id, seq: 0, kind: "analyze", client: client, state: state, request: "{\"kind\":\"analyze\",\"inputs\":{}}",
                  inputs: String(decoding: try! JSONEncoder().encode(inputs), as: UTF8.self), attempts: 0,
                  createdAt: Date().timeIntervalSince1970, resultsRemoved: false)
    }

    /// A job running when the process died is queued again once; at the second death it fails with the
    /// reason. Nothing stays running.
    @Test func runningJobsAreRequeuedOnceThenFailed() throws {
        let path = try ServerFixtures.temporaryDirectory().appendingPathComponent("visage.sqlite")
        var store: JobStore? = try JobStore(path: path)
        _ = try store!.insert(Self.record("a"))
        _ = try store!.insert(Self.record("b"))
        #expect(try store!.start("a", at: 1)?.attempts == 1)
        store = nil   // the process dies with "a" running

        let reopened = try JobStore(path: path)
        let first = try reopened.recoverAfterRestart(now: 2)
        #expect(first.requeued == ["a"] && first.failed.isEmpty)
        #expect(try reopened.job("a")?.state == .queued && reopened.job("a")?.note?.contains("re-queued") == true)
        #expect(try reopened.queued().map(\.id) == ["a", "b"], "submission order kept")
        #expect(try reopened.start("a", at: 3)?.attempts == 2)

        let second = try JobStore(path: path).recoverAfterRestart(now: 4)
        #expect(second.failed == ["a"] && second.requeued.isEmpty)
        let failed = try #require(try reopened.job("a"))
        #expect(failed.state == .failed && failed.error?.contains("second time") == true && failed.finishedAt == 4)
        #expect(try reopened.count(state: .running) == 0)
    }

    /// The schema has a version (migrations recorded, SQLite user_version) and the database is in WAL mode.
    @Test func schemaIsVersionedAndWAL() throws {
        let store = try JobStore(path: try ServerFixtures.temporaryDirectory().appendingPathComponent("visage.sqlite"))
        let (version, journal, migrations) = try store.pool.read { db in
            (try Int.fetchOne(db, sql: "PRAGMA user_version"), try String.fetchOne(db, sql: "PRAGMA journal_mode"),
             try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"))
        }
        #expect(version == JobStore.schemaVersion && journal == "wal" && migrations == ["v1"])
        try store.setSetting("mode", "quality")
        try store.setSetting("mode", "battery")
        #expect(try store.setting("mode") == "battery")
    }
}
