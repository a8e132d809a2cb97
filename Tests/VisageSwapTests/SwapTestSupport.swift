import Foundation
import VisageRuntime

enum SwapFixtures {
    static let shared: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("shared", isDirectory: true)
    }()
    static func media(_ relative: String) -> String { shared.appendingPathComponent("media/" + relative).path }
    static let store: ModelStore = {
        var store = ModelStore(root: FileManager.default.temporaryDirectory
            .appendingPathComponent("visage-swap-models-\(ProcessInfo.processInfo.processIdentifier)"))
        store.installsMissing = true
        return store
    }()
}
