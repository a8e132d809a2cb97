import Foundation
import VisageRuntime

/// Where the shared test data and models are, and a model store for integration tests.
enum TestEnvironment {
    /// shared/ beside the repository (CI and developers have it; read-only).
    static let shared: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("shared", isDirectory: true)
    }()

    static func media(_ relative: String) -> String { shared.appendingPathComponent("media/" + relative).path }

    /// Models come from VISAGE_MODEL_MIRROR (CI: shared/models) or the network; installed into a
    /// per-run temporary cache so tests never depend on a developer's cache. Without either,
    /// installing fails with ModelStore's message that names the missing mirror/network.
    static let store: ModelStore = {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("visage-test-models-\(ProcessInfo.processInfo.processIdentifier)")
        return ModelStore(root: root)
    }()
}
