import Foundation
import Testing
import VisageCore
import VisageJobs
import VisageRuntime

/// Shared test data, and job contexts as a front end makes them: a store of its own, fed from
/// VISAGE_MODEL_MIRROR (CI) or the network, with the models a job needs installed first.
enum JobFixtures {
    static let repository: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { dir.deleteLastPathComponent() }
        return dir
    }()
    static let shared = repository.deletingLastPathComponent().appendingPathComponent("shared", isDirectory: true)
    static func media(_ relative: String) -> String { shared.appendingPathComponent("media/" + relative).path }
    static func sample(_ name: String) -> String { repository.appendingPathComponent("Samples/" + name).path }

    static let store: ModelStore = {
        var store = ModelStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("visage-jobs-models-\(ProcessInfo.processInfo.processIdentifier)"))
        store.acceptLicenses = true
        return store
    }()

    /// Models are loaded once for the whole suite, as a server shares them between jobs.
    static let models = ModelRegistry()

    static func context(_ models: [String], cancellation: CancellationToken = CancellationToken(),
                        progress: @escaping ProgressSink = { _ in }) throws -> JobContext {
        try RequiredModels.install(models, store: store, progress: false)
        return JobContext(store: store, session: SessionConfig(accelerator: .cpu, intraOpThreads: 1), models: Self.models,
                          cancellation: cancellation, progress: progress)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("visage-jobs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Progress events a job sent, kept in order.
final class ProgressLog: @unchecked Sendable {
    let events = Locked<[JobProgress]>([])
    var sink: ProgressSink { { [events] p in events.withLock { $0.append(p) } } }
}

/// The largest per-channel difference between two images of the same size (Int.max when sizes differ).
func maxDifference(_ a: Image, _ b: Image) -> Int {
    guard a.width == b.width, a.height == b.height, a.channels == b.channels else { return .max }
    var worst = 0
    for y in 0..<a.height {
        let p = a.baseAddress.advanced(by: y * a.stride).assumingMemoryBound(to: UInt8.self)
        let q = b.baseAddress.advanced(by: y * b.stride).assumingMemoryBound(to: UInt8.self)
        for x in 0..<a.rowBytes { worst = max(worst, abs(Int(p[x]) - Int(q[x]))) }
    }
    return worst
}

/// The pixels of `a` that differ from `b`, as a bounding box (nil when none differ).
func changedRegion(_ a: Image, _ b: Image) -> Box? {
    var x1 = Int.max, y1 = Int.max, x2 = -1, y2 = -1
    for y in 0..<a.height {
        let p = a.baseAddress.advanced(by: y * a.stride).assumingMemoryBound(to: UInt8.self)
        let q = b.baseAddress.advanced(by: y * b.stride).assumingMemoryBound(to: UInt8.self)
        for x in 0..<a.width where (0..<a.channels).contains(where: { p[x * a.channels + $0] != q[x * b.channels + $0] }) {
            x1 = min(x1, x); x2 = max(x2, x); y1 = min(y1, y); y2 = max(y2, y)
        }
    }
    return x2 < 0 ? nil : Box(x1: Float(x1), y1: Float(y1), x2: Float(x2 + 1), y2: Float(y2 + 1))
}
