import Foundation
import VisageRuntime

enum RuntimeFixtures {
    static let sharedModels: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("shared/models", isDirectory: true)
    }()

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("visage-runtime-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A store in a fresh directory, fed from VISAGE_MODEL_MIRROR (CI) or the network, installing what a
    /// test asks for.
    static func store() throws -> ModelStore {
        var store = ModelStore(root: try temporaryDirectory())
        store.installsMissing = true
        return store
    }
}
