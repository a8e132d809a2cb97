import Foundation
import Testing
@testable import VisageServer

@Suite struct RetentionTests {
    static func file(_ id: String, size: Int, lastUsed: Double, in files: FileStore, store: JobStore) throws -> FileRecord {
        let record = FileRecord(id: id, kind: "image", ext: "jpg", size: Int64(size), name: "x.jpg", format: "jpeg", width: 1, height: 1,
                                createdAt: lastUsed, lastUsed: lastUsed)
        try Data(count: size).write(to: files.path(of: record))
        try store.save(record)
        return record
    }

    /// Old uploads and results go; what a queued job reads stays whatever its age.
    @Test func removesExpiredFilesButNeverWhatAQueuedJobNeeds() throws {
        let root = try ServerFixtures.temporaryDirectory()
        let files = try FileStore(root: root)
        let store = try JobStore(path: root.appendingPathComponent("visage.sqlite"))
        let now = 1_000_000.0
        let old = try Self.file(String(repeating: "a", count: 64), size: 100, lastUsed: now - 90_000, in: files, store: store)
        let needed = try Self.file(String(repeating: "b", count: 64), size: 100, lastUsed: now - 90_000, in: files, store: store)
        let fresh = try Self.file(String(repeating: "c", count: 64), size: 100, lastUsed: now - 60, in: files, store: store)
        _ = try store.insert(JobStoreTests.record("queued-job", inputs: [needed.id]))
        var done = JobStoreTests.record("done-job", state: .succeeded)
        done.finishedAt = now - 90_000
        done.outputs = "[\"output.png\"]"
        _ = try store.insert(done)
        try FileManager.default.createDirectory(at: files.resultDirectory(job: "done-job"), withIntermediateDirectories: true)
        try Data(count: 50).write(to: files.resultDirectory(job: "done-job").appendingPathComponent("output.png"))

        let sweep = try Retention(store: store, files: files, keep: 86_400, quota: nil).sweep(now: now)
        #expect(sweep.filesRemoved == [old.id] && sweep.resultsRemoved == ["done-job"] && sweep.bytesFreed == 150)
        #expect(!FileManager.default.fileExists(atPath: files.path(of: old).path))
        #expect(FileManager.default.fileExists(atPath: files.path(of: needed).path), "a queued job reads it")
        #expect(FileManager.default.fileExists(atPath: files.path(of: fresh).path))
        #expect(try store.job("done-job")?.resultsRemoved == true)
        #expect(!FileManager.default.fileExists(atPath: files.resultDirectory(job: "done-job").path))
    }

    /// Over the quota: the oldest go first, until it fits.
    @Test func quotaRemovesOldestFirst() throws {
        let root = try ServerFixtures.temporaryDirectory()
        let files = try FileStore(root: root)
        let store = try JobStore(path: root.appendingPathComponent("visage.sqlite"))
        let now = 1_000_000.0
        let a = try Self.file(String(repeating: "a", count: 64), size: 400, lastUsed: now - 300, in: files, store: store)
        let b = try Self.file(String(repeating: "b", count: 64), size: 400, lastUsed: now - 200, in: files, store: store)
        let c = try Self.file(String(repeating: "c", count: 64), size: 400, lastUsed: now - 100, in: files, store: store)
        let sweep = try Retention(store: store, files: files, keep: 86_400, quota: 900).sweep(now: now)
        #expect(sweep.filesRemoved == [a.id], "\(sweep)")
        #expect(try store.file(b.id) != nil && store.file(c.id) != nil)
    }
}
