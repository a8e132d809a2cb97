import Foundation
import Testing
import VisageCore
@testable import VisageRuntime

@Suite struct TensorTypeTests {
    let cpu = SessionConfig(accelerator: .cpu, intraOpThreads: 1, optimization: .basic)

    @Test func namedInputsOutputsAndDynamicAxes() throws {
        let session = try InferenceSession(modelPath: try TinyModels.add(), config: cpu)
        #expect(session.inputs.map(\.name) == ["x", "y"])
        #expect(session.inputs[0].shape == [-1, 3] && session.inputs[0].elementType == .float32)
        #expect(session.outputs.map(\.description) == ["z: float32[?,3]"])
        for n in [1, 4] {
            let x = Tensor(floats: (0..<(n * 3)).map(Float.init), shape: [n, 3])
            let y = Tensor(floats: [Float](repeating: 0.5, count: n * 3), shape: [n, 3])
            let z = try #require(try session.run(["x": x, "y": y])["z"])
            #expect(z.shape == [n, 3])
            #expect(z.floats() == (0..<(n * 3)).map { Float($0) + 0.5 })
        }
    }

    @Test func inputsAreReadInPlaceWithoutCopies() throws {
        let session = try InferenceSession(modelPath: try TinyModels.add(), config: cpu)
        let x = Tensor(.float32, shape: [1, 3]), y = Tensor(.float32, shape: [1, 3])
        // Writing through the tensor's own buffer is what the model sees.
        x.withUnsafeMutableBuffer(of: Float.self) { $0[0] = 7; $0[2] = -1 }
        let z = try #require(try session.run(["x": x, "y": y])["z"])
        #expect(z.floats() == [7, 0, -1])
    }

    @Test func uint8Int64Float16RoundTrip() throws {
        let session = try InferenceSession(modelPath: try TinyModels.casts(), config: cpu)
        let f16 = Tensor(.float16, shape: [4])
        f16.withUnsafeMutableBuffer(of: UInt16.self) { b in
            for (i, v) in [Float(0.5), -2, 1024, 0.099975586].enumerated() { b[i] = Float16Bits.fromFloat(v) }
        }
        let out = try session.run([
            "u8": Tensor(bytes: [0, 1, 128, 255], shape: [4]),
            "i64": Tensor(int64s: [-3, 0, 1 << 40, 42], shape: [4]),
            "f16": f16,
        ])
        #expect(out["u8_as_f32"]?.floats() == [0, 1, 128, 255])
        #expect(out["i64_as_f32"]?.floats() == [-3, 0, Float(1 << 40), 42])
        #expect(out["f16_as_f32"]?.floats() == [0.5, -2, 1024, 0.099975586])
        #expect(out["u8_as_f16"]?.elementType == .float16)
        #expect(out["u8_as_f16"]?.floats() == [0, 1, 128, 255])
        #expect(out["u8_as_i64"]?.int64s() == [0, 1, 128, 255])
    }

    @Test func requestingASubsetOfOutputs() throws {
        let session = try InferenceSession(modelPath: try TinyModels.casts(), config: cpu)
        let out = try session.run(["u8": Tensor(bytes: [9, 8, 7, 6], shape: [4]), "i64": Tensor(int64s: [1, 2, 3, 4], shape: [4]),
                                   "f16": Tensor(.float16, shape: [4])], outputs: ["u8_as_i64"])
        #expect(Array(out.keys) == ["u8_as_i64"])
    }

    @Test func everyOptimisationLevelLoads() throws {
        for level in [SessionConfig.Optimization.disabled, .basic, .extended, .all] {
            let session = try InferenceSession(modelPath: try TinyModels.add(), config: SessionConfig(accelerator: .cpu, intraOpThreads: 2, optimization: level))
            #expect(session.outputs.count == 1)
        }
    }
}
