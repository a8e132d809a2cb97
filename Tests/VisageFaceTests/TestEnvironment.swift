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
        var store = ModelStore(root: root)
        store.installsMissing = true
        return store
    }()
}

import Testing
import VisageCore
import VisageFace

/// A reference implementation's face, in its own box convention.
struct ReferenceFace {
    var box: [Float]        // [x1, y1, x2, y2] or [x, y, w, h] (see `boxIsCorners`)
    var points: [[Float]]   // 5 x [x, y]
    var score: Float
}

/// Boxes and keypoints within 1 px and scores within 1e-3 of the reference, face by face in order.
func expectEquivalent(_ faces: [DetectedFace], _ reference: [ReferenceFace], boxIsCorners: Bool, label: String,
                      sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(faces.count == reference.count, "\(label): \(faces.count) faces, reference \(reference.count)", sourceLocation: sourceLocation)
    for (ours, theirs) in zip(faces, reference) {
        let box = boxIsCorners ? [ours.box.x1, ours.box.y1, ours.box.x2, ours.box.y2] : [ours.box.x1, ours.box.y1, ours.box.width, ours.box.height]
        for (a, b) in zip(box, theirs.box) { #expect(abs(a - b) <= 1, "\(label) box \(box) vs \(theirs.box)", sourceLocation: sourceLocation) }
        for (p, q) in zip(ours.keypoints, theirs.points) {
            #expect(abs(p.x - q[0]) <= 1 && abs(p.y - q[1]) <= 1, "\(label) point \(p) vs \(q)", sourceLocation: sourceLocation)
        }
        #expect(abs(ours.score - theirs.score) <= 1e-3, "\(label) score \(ours.score) vs \(theirs.score)", sourceLocation: sourceLocation)
    }
}
