import Foundation
import SwiftProtobuf
import Testing
import VisageCore
@testable import VisageRuntime

@Suite struct GraphRewriteTests {
    @Test func yunetRunsAtAnySizeAfterMakingItsInputDynamic() throws {
        let store = try RuntimeFixtures.store()
        let original = try store.path(for: "yunet-2023mar")
        let fixed = try InferenceSession(modelPath: original, config: SessionConfig(accelerator: .cpu))
        #expect(fixed.inputs[0].shape == [1, 3, 640, 640])
        #expect(throws: VisageError.self) { try fixed.run(["input": Tensor(.float32, shape: [1, 3, 320, 480])]) }

        let dynamic = try GraphRewrite.cached(source: original, variant: "dynamic", cacheDirectory: store.derivedDirectory) {
            GraphRewrite.makeImageSizeDynamic(&$0)
        }
        let session = try InferenceSession(modelPath: dynamic, config: SessionConfig(accelerator: .cpu))
        #expect(session.inputs[0].shape == [1, 3, -1, -1])
        let out = try session.run(["input": Tensor(.float32, shape: [1, 3, 320, 480])])
        #expect(out["cls_8"]?.shape == [1, 40 * 60, 1])
        // Cached: the second call returns the same file without rewriting.
        let again = try GraphRewrite.cached(source: original, variant: "dynamic", cacheDirectory: store.derivedDirectory) { _ in
            Issue.record("rewrote a cached model")
        }
        #expect(again == dynamic)
    }

    @Test func sfaceUnusedInputsAreDroppedSoOnlyDataIsFed() throws {
        let original = try RuntimeFixtures.store().path(for: "sface-2021dec-int8bq")
        let raw = try InferenceSession(modelPath: original, config: SessionConfig(accelerator: .cpu))
        #expect(raw.inputs.count > 1)
        var removed: [String] = []
        let cleaned = try GraphRewrite.cached(source: original, variant: "used-inputs", cacheDirectory: try RuntimeFixtures.temporaryDirectory()) {
            removed = GraphRewrite.removeUnusedInputs(&$0)
        }
        #expect(removed.count == raw.inputs.count - 1)
        let session = try InferenceSession(modelPath: cleaned, config: SessionConfig(accelerator: .cpu))
        #expect(session.inputs.map(\.name) == ["data"])
        let out = try session.run(["data": Tensor(.float32, shape: [1, 3, 112, 112])])
        #expect(out.values.first?.shape == [1, 128])
    }

    @Test func unparsableGraphIsAnInvalidModel() throws {
        let file = try RuntimeFixtures.temporaryDirectory().appendingPathComponent("bad.onnx")
        try Data([0xFF, 0xFF, 0xFF, 0x01, 0x02]).write(to: file)
        #expect(throws: VisageError.self) {
            try GraphRewrite.cached(source: file.path, variant: "x", cacheDirectory: try RuntimeFixtures.temporaryDirectory()) { _ in }
        }
    }
}
