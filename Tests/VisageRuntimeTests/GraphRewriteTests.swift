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

@Suite struct DequantizationFoldingTests {
    @Test func foldedSFaceComputesTheSameEmbedding() throws {
        let original = try RuntimeFixtures.store().path(for: "sface-2021dec-int8bq")
        let cache = try RuntimeFixtures.temporaryDirectory()
        let plain = try GraphRewrite.cached(source: original, variant: "plain", cacheDirectory: cache) {
            GraphRewrite.removeUnusedInputs(&$0)
        }
        var folded = 0, weightInputs: [String] = []
        let fast = try GraphRewrite.cached(source: original, variant: "folded", cacheDirectory: cache) {
            GraphRewrite.removeUnusedInputs(&$0)
            weightInputs = GraphRewrite.removeInitializerInputs(&$0)
            folded = GraphRewrite.foldWeightDequantization(&$0)
        }
        #expect(folded == 29)
        #expect(!weightInputs.isEmpty)
        let input = Tensor(.float32, shape: [1, 3, 112, 112])
        input.withUnsafeMutableBuffer(of: Float.self) { b in for i in b.indices { b[i] = Float((i * 7919) % 256) } }
        let config = SessionConfig(accelerator: .cpu)
        let a = try #require(try InferenceSession(modelPath: plain, config: config).run(["data": input]).values.first).floats()
        let b = try #require(try InferenceSession(modelPath: fast, config: config).run(["data": input]).values.first).floats()
        let scale = a.map(abs).max()!
        #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-4 * scale })
    }

    @Test func blockedPerAxisAndPerTensorDequantization() {
        func tensor(_ type: Onnx_TensorProto.DataType, _ dims: [Int64], _ bytes: [UInt8]) -> Onnx_TensorProto {
            var t = Onnx_TensorProto()
            t.dataType = Int32(type.rawValue)
            t.dims = dims
            t.rawData = Data(bytes)
            return t
        }
        func floats(_ v: [Float]) -> [UInt8] { v.withUnsafeBytes { Array($0) } }
        let x = tensor(.int8, [4], [0xFE, 2, 3, 4])          // -2, 2, 3, 4
        // Blocks of 2 along axis 0: scales 0.5 and 2, zero points 0 and 1.
        let blocked = GraphRewrite.dequantize(x: x, scale: tensor(.float, [2], floats([0.5, 2])),
                                              zeroPoint: tensor(.int8, [2], [0, 1]), axis: 0, blockSize: 2)
        #expect(blocked == [-1, 1, 4, 6])
        let perTensor = GraphRewrite.dequantize(x: x, scale: tensor(.float, [], floats([0.25])), zeroPoint: nil, axis: 0, blockSize: 0)
        #expect(perTensor == [-0.5, 0.5, 0.75, 1])
        let x2 = tensor(.uint8, [2, 2], [1, 2, 3, 4])
        let perAxis = GraphRewrite.dequantize(x: x2, scale: tensor(.float, [2], floats([1, 10])), zeroPoint: nil, axis: 0, blockSize: 0)
        #expect(perAxis == [1, 2, 30, 40])
    }
}
