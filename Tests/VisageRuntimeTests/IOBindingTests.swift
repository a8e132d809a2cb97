import Foundation
import Testing
import VisageCore
@testable import VisageRuntime

/// Bound, reused buffers (ONNX Runtime IO binding) give what `run(_:)` gives, keep their memory from run
/// to run, and are handed out per shape; and the FLOP count of small graphs is the textbook one.
@Suite("IO binding")
struct IOBindingTests {
    private func fill(_ tensor: Tensor, offset: Float) {
        tensor.withUnsafeMutableBuffer(of: Float.self) { b in for i in b.indices { b[i] = Float(i) * 0.5 + offset } }
    }

    @Test func boundRunsMatchPlainRunsAndReuseTheirBuffers() throws {
        let session = try InferenceSession(modelPath: try TinyModels.add(), config: SessionConfig(accelerator: .cpu))
        #expect(session.prefersBinding)
        var firstOutput: UnsafeMutableRawPointer?
        var firstInput: UnsafeMutableRawPointer?
        for run in 0..<3 {
            let offset = Float(run)
            let bound: [Float] = try session.run(BindingShape(batch: 2), fill: { inputs in
                #expect(inputs.map(\.shape) == [[2, 3], [2, 3]])
                if firstInput == nil { firstInput = inputs[0].data } else { #expect(inputs[0].data == firstInput) }
                fill(inputs[0], offset: offset)
                fill(inputs[1], offset: 10)
            }, read: { outputs in
                if firstOutput == nil { firstOutput = outputs[0].data } else { #expect(outputs[0].data == firstOutput) }
                return outputs[0].floats()
            })
            let x = Tensor(.float32, shape: [2, 3]), y = Tensor(.float32, shape: [2, 3])
            fill(x, offset: offset)
            fill(y, offset: 10)
            let plain = try #require(try session.run(["x": x, "y": y])["z"]).floats()
            #expect(bound == plain)
            #expect(bound[0] == offset + 10)
        }
    }

    @Test func eachBatchSizeGetsItsOwnBinding() throws {
        let session = try InferenceSession(modelPath: try TinyModels.add(), config: SessionConfig(accelerator: .cpu))
        let one = try session.withBinding(BindingShape(batch: 1)) { b -> [Int] in
            fill(b.inputs[0], offset: 1); fill(b.inputs[1], offset: 2)
            try b.run()
            return b.outputs[0].shape
        }
        let four = try session.withBinding(BindingShape(batch: 4)) { b -> [Int] in
            fill(b.inputs[0], offset: 1); fill(b.inputs[1], offset: 2)
            try b.run()
            #expect(b.runs == 1)
            return b.outputs[0].shape
        }
        #expect(one == [1, 3] && four == [4, 3])
        // The batch-1 binding is kept and handed out again.
        let runs = try session.withBinding(BindingShape(batch: 1)) { b in try b.run(); return b.runs }
        #expect(runs == 2)
    }

    @Test func unboundSessionsStillRunThroughTheSameAPI() throws {
        let session = try InferenceSession(modelPath: try TinyModels.add(), config: SessionConfig(accelerator: .cpu, ioBinding: false))
        #expect(!session.prefersBinding)
        let z: [Float] = try session.run(BindingShape(batch: 3), fill: { inputs in
            fill(inputs[0], offset: 0); fill(inputs[1], offset: 1)
        }, read: { $0[0].floats() })
        #expect(z.count == 9 && z[0] == 1 && z[8] == 9)
    }

    @Test func aBatchOfOneModelRefusesLargerBatchesClearly() throws {
        let path = try TinyModels.write(TinyModels.model(nodes: [TinyModels.node("Relu", ["x"], ["y"])],
                                                         inputs: [TinyModels.valueInfo("x", .float, [1, 3])],
                                                         outputs: [TinyModels.valueInfo("y", .float, [1, 3])]), name: "relu1.onnx")
        let session = try InferenceSession(modelPath: path, config: SessionConfig(accelerator: .cpu))
        #expect(throws: VisageError.self) {
            try session.withBinding(BindingShape(batch: 2)) { _ in }
        }
    }

    @Test func flopsOfConvAndGemmAreCounted() throws {
        // Conv 3→8, 3x3, pad 1 on 1x3x16x16: 2·(8·16·16)·(3·3·3) = 110 592; Gemm [1,2048]x[2048,10]: 2·10·2048 = 40 960.
        let w = RewriteGraphs.floats("w", [Float](repeating: 0.1, count: 8 * 3 * 3 * 3), dims: [8, 3, 3, 3])
        let g = RewriteGraphs.floats("g", [Float](repeating: 0.01, count: 2048 * 10), dims: [2048, 10])
        let shape = RewriteGraphs.ints("flat", [1, -1])
        var pads = Onnx_AttributeProto(); pads.name = "pads"; pads.type = .ints; pads.ints = [1, 1, 1, 1]
        let model = RewriteGraphs.model(opset: 13, nodes: [RewriteGraphs.node("Conv", ["x", "w"], ["c"], [pads]),
                                                           RewriteGraphs.node("Reshape", ["c", "flat"], ["f"]),
                                                           RewriteGraphs.node("Gemm", ["f", "g"], ["y"])],
                                        inputs: [TinyModels.valueInfo("x", .float, ["n", 3, 16, 16])],
                                        outputs: [TinyModels.valueInfo("y", .float, ["n", 10])], initializers: [w, g, shape])
        let path = try TinyModels.write(model, name: "convgemm.onnx")
        let counted = try GraphFLOPs.count(modelPath: path, inputShapes: ["x": [1, 3, 16, 16]], scratch: try RuntimeFixtures.temporaryDirectory())
        #expect(counted.byOperator["Conv"] == 110_592)
        #expect(counted.byOperator["Gemm"] == 40_960)
        #expect(counted.flops == 151_552)
        #expect(counted.nodes == 2)
    }
}
