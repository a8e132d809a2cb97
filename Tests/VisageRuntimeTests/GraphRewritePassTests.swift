import Foundation
import SwiftProtobuf
import Testing
import VisageCore
@testable import VisageRuntime

/// Each rewrite on small graphs built here, checked against ONNX Runtime running the original.
@Suite struct PadRewriteTests {
    typealias G = RewriteGraphs

    /// x [1,2,5,6] padded by `pads` (ONNX order: all begins, then all ends).
    func padModel(opset: Int, mode: String, pads: [Int64], asInput: Bool) -> Onnx_ModelProto {
        let padded = [1 + pads[0] + pads[4], 2 + pads[1] + pads[5], 5 + pads[2] + pads[6], 6 + pads[3] + pads[7]].map(Int.init)
        let node = asInput
            ? G.node("Pad", ["x", "pads"], ["y"], [G.string("mode", mode)])
            : G.node("Pad", ["x"], ["y"], [G.string("mode", mode), .ints("pads", pads)])
        return G.model(opset: opset, nodes: [node], inputs: [TinyModels.valueInfo("x", .float, [1, 2, 5, 6])],
                       outputs: [TinyModels.valueInfo("y", .float, padded)], initializers: asInput ? [G.ints("pads", pads)] : [])
    }

    func checkRewrite(opset: Int, mode: String, pads: [Int64], asInput: Bool) throws -> Onnx_ModelProto {
        let original = padModel(opset: opset, mode: mode, pads: pads, asInput: asInput)
        var rewritten = original
        let outcome = GraphRewrite.padsToSlices(&rewritten, shapes: ["x": [1, 2, 5, 6]])
        #expect(outcome.replacedNodes == 1, "\(outcome)")
        #expect(G.opCount(rewritten, "Pad") == 0)
        let x = G.pattern([1, 2, 5, 6])
        let expected = try G.run(original, ["x": x])["y"]
        let got = try G.run(rewritten, ["x": x])["y"]
        #expect(expected?.shape == got?.shape)
        #expect(G.maxAbsDiff(expected, got) == 0, "opset \(opset) \(mode) \(pads)")
        return rewritten
    }

    @Test func reflectPadFromAnInputBecomesNegativeStepSlices() throws {
        let m = try checkRewrite(opset: 13, mode: "reflect", pads: [0, 0, 2, 3, 0, 0, 1, 2], asInput: true)
        #expect(G.opCount(m, "Slice") == 4)
        #expect(G.opCount(m, "Concat") == 2)
        #expect(!m.graph.initializer.contains { $0.name == "pads" })   // the pads constant went with the Pad
    }

    @Test func reflectPadAsWideAsTheAxisAllowed() throws {
        // Pads of dim-1 on both sides: the ends reach row 0 and row n-1 (ONNX's "through the start" end).
        _ = try checkRewrite(opset: 13, mode: "reflect", pads: [0, 0, 4, 5, 0, 0, 4, 5], asInput: true)
    }

    @Test func edgePadBecomesRepeatedSlices() throws {
        _ = try checkRewrite(opset: 11, mode: "edge", pads: [0, 1, 2, 0, 0, 0, 1, 3], asInput: true)
    }

    @Test func attributePadsOfOlderOpsets() throws {
        _ = try checkRewrite(opset: 10, mode: "reflect", pads: [0, 0, 1, 2, 0, 0, 2, 1], asInput: false)
        // Opset 9 has no Slice steps: one Slice per mirrored row.
        let m = try checkRewrite(opset: 9, mode: "reflect", pads: [0, 0, 1, 2, 0, 0, 2, 1], asInput: false)
        #expect(G.opCount(m, "Slice") == 6)
    }

    @Test func allZeroConstantPadIsRemoved() throws {
        var m = padModel(opset: 10, mode: "constant", pads: [0, 0, 0, 0, 0, 0, 0, 0], asInput: false)
        m.graph.node.append(G.node("Relu", ["y"], ["z"]))
        m.graph.output = [TinyModels.valueInfo("z", .float, [1, 2, 5, 6])]
        let original = m
        let outcome = GraphRewrite.padsToSlices(&m, shapes: [:])
        #expect(outcome.replacedNodes == 1)
        #expect(m.graph.node.map(\.opType) == ["Relu"])
        let x = G.pattern([1, 2, 5, 6])
        #expect(G.maxAbsDiff(try G.run(original, ["x": x])["z"], try G.run(m, ["x": x])["z"]) == 0)
    }

    @Test func padsThatAreNotConstantAreSkippedWithAReason() throws {
        var m = G.model(opset: 13, nodes: [G.node("Pad", ["x", "p"], ["y"], [G.string("mode", "reflect")])],
                        inputs: [TinyModels.valueInfo("x", .float, [1, 2, 5, 6]), TinyModels.valueInfo("p", .int64, [8])],
                        outputs: [TinyModels.valueInfo("y", .float, ["h", "w", "c", "d"])])
        let before = m
        let outcome = GraphRewrite.padsToSlices(&m, shapes: ["x": [1, 2, 5, 6]])
        #expect(outcome.replacedNodes == 0)
        #expect(outcome.skipped.count == 1)
        #expect(outcome.skipped[0].contains("not a constant"))
        #expect(m == before)
    }

    @Test func constantPaddingAndUnknownShapesAreLeftAlone() throws {
        var constant = padModel(opset: 13, mode: "constant", pads: [0, 0, 1, 1, 0, 0, 1, 1], asInput: true)
        #expect(GraphRewrite.padsToSlices(&constant, shapes: ["x": [1, 2, 5, 6]]).skipped.first?.contains("constant padding") == true)
        var unknown = padModel(opset: 13, mode: "reflect", pads: [0, 0, 1, 1, 0, 0, 1, 1], asInput: true)
        #expect(GraphRewrite.padsToSlices(&unknown, shapes: [:]).skipped.first?.contains("unknown") == true)
        var tooWide = padModel(opset: 13, mode: "reflect", pads: [0, 0, 5, 0, 0, 0, 0, 0], asInput: true)
        #expect(GraphRewrite.padsToSlices(&tooWide, shapes: ["x": [1, 2, 5, 6]]).skipped.first?.contains("not smaller") == true)
    }
}

@Suite struct SplitRewriteTests {
    typealias G = RewriteGraphs

    func check(_ original: Onnx_ModelProto, shapes: [String: [Int]], outputs: [String]) throws {
        var m = original
        let outcome = GraphRewrite.splitsToSlices(&m, shapes: shapes)
        #expect(outcome.replacedNodes == 1, "\(outcome)")
        #expect(G.opCount(m, "Split") == 0)
        #expect(G.opCount(m, "Slice") == outputs.count)
        let x = G.pattern([2, 10, 3])
        let a = try G.run(original, ["x": x]), b = try G.run(m, ["x": x])
        for o in outputs { #expect(G.maxAbsDiff(a[o], b[o]) == 0, "\(o)") }
    }

    let x = TinyModels.valueInfo("x", .float, [2, 10, 3])

    @Test func splitSizesFromTheInput() throws {
        let m = G.model(opset: 13, nodes: [G.node("Split", ["x", "s"], ["a", "b", "c"], [.int("axis", 1)])], inputs: [x],
                        outputs: ["a", "b", "c"].map { TinyModels.valueInfo($0, .float, [2, "n", 3]) }, initializers: [G.ints("s", [2, 5, 3])])
        try check(m, shapes: [:], outputs: ["a", "b", "c"])
    }

    @Test func splitSizesFromTheAttribute() throws {
        let m = G.model(opset: 11, nodes: [G.node("Split", ["x"], ["a", "b"], [.int("axis", -2), .ints("split", [4, 6])])], inputs: [x],
                        outputs: ["a", "b"].map { TinyModels.valueInfo($0, .float, [2, "n", 3]) })
        try check(m, shapes: ["x": [2, 10, 3]], outputs: ["a", "b"])
    }

    @Test func equalPartsFromTheProbedShape() throws {
        let m = G.model(opset: 13, nodes: [G.node("Split", ["x"], ["a", "b"], [.int("axis", 1)])], inputs: [x],
                        outputs: ["a", "b"].map { TinyModels.valueInfo($0, .float, [2, "n", 3]) })
        try check(m, shapes: ["x": [2, 10, 3]], outputs: ["a", "b"])
        var unknown = m
        #expect(GraphRewrite.splitsToSlices(&unknown, shapes: [:]).skipped.first?.contains("unknown") == true)
    }

    @Test func numOutputsRoundsTheLastPartDown() throws {
        let m = G.model(opset: 18, nodes: [G.node("Split", ["x"], ["a", "b", "c"], [.int("axis", 1), .int("num_outputs", 3)])], inputs: [x],
                        outputs: ["a", "b", "c"].map { TinyModels.valueInfo($0, .float, [2, "n", 3]) })
        try check(m, shapes: ["x": [2, 10, 3]], outputs: ["a", "b", "c"])
    }
}

@Suite struct ShapeFoldingTests {
    typealias G = RewriteGraphs

    /// y = Reshape(x, [N, C·H·W]) with the target computed from Shape(x) as exporters write it.
    func flattenModel(batch: Any) -> Onnx_ModelProto {
        let nodes = [
            G.node("Shape", ["x"], ["s"]),
            G.node("Gather", ["s", "i0"], ["n"], [.int("axis", 0)]),
            G.node("Unsqueeze", ["n", "axes0"], ["n1"]),
            G.node("Concat", ["n1", "minus1"], ["target"], [.int("axis", 0)]),
            G.node("Reshape", ["x", "target"], ["y"]),
            G.node("Relu", ["y"], ["z"]),
        ]
        var i0 = G.ints("i0", [0])
        i0.dims = []
        return G.model(opset: 13, nodes: nodes, inputs: [TinyModels.valueInfo("x", .float, [batch, 3, 4, 4])],
                       outputs: [TinyModels.valueInfo("z", .float, [batch, 48])],
                       initializers: [i0, G.ints("axes0", [0]), G.ints("minus1", [-1])])
    }

    @Test func shapeChainsFoldOnceTheInputShapeIsStatic() throws {
        let original = flattenModel(batch: "n")
        var m = original
        let outcomes = try ModelOptimizer.rewrite(&m, options: OptimizationOptions(rewrites: [.staticShape, .shapeFolding], inputShape: [2, 3, 4, 4]),
                                                  scratch: try RuntimeFixtures.temporaryDirectory())
        let fold = try #require(outcomes.first { $0.rewrite == .shapeFolding })
        #expect(fold.replacedNodes == 4, "\(fold)")
        #expect(m.graph.node.map(\.opType) == ["Reshape", "Relu"])
        let target = try #require(m.graph.initializer.first { $0.name == "target" })
        #expect(target.integers == [2, -1])
        #expect(!m.graph.initializer.contains { $0.name == "i0" || $0.name == "axes0" })
        let x = G.pattern([2, 3, 4, 4])
        #expect(G.maxAbsDiff(try G.run(original, ["x": x])["z"], try G.run(m, ["x": x])["z"]) == 0)
    }

    @Test func aShapeTheModelCannotTakeIsAnError() throws {
        var m = flattenModel(batch: "n")
        for wrong in [[2, 3, 4], [2, 3, 5, 4]] {   // wrong rank; a dim the file fixes at 4
            #expect(throws: VisageError.self) {
                try ModelOptimizer.rewrite(&m, options: OptimizationOptions(rewrites: [.staticShape, .shapeFolding], inputShape: wrong),
                                           scratch: try RuntimeFixtures.temporaryDirectory())
            }
        }
        #expect(throws: VisageError.self) { try OptimizationOptions.parseShape("1x3x0x640") }
        #expect(try OptimizationOptions.parseShape("1x3X640x480") == [1, 3, 640, 480])
    }

    @Test func dynamicShapesAreNotFolded() throws {
        var m = flattenModel(batch: "n")
        let outcomes = try ModelOptimizer.rewrite(&m, options: OptimizationOptions(rewrites: [.shapeFolding]),
                                                  scratch: try RuntimeFixtures.temporaryDirectory())
        #expect(outcomes.first?.replacedNodes == 0)
        #expect(outcomes.first?.skipped.first?.contains("not static") == true)
        #expect(RewriteGraphs.opCount(m, "Shape") == 1)
    }

    @Test func aShapeThatDependsOnDataIsNotFolded() throws {
        // NonZero's output length depends on the values: the Shape of it is not a constant.
        let nodes = [G.node("NonZero", ["x"], ["nz"]), G.node("Shape", ["nz"], ["s"]), G.node("Cast", ["s"], ["y"], [.int("to", 1)])]
        var m = G.model(opset: 13, nodes: nodes, inputs: [TinyModels.valueInfo("x", .float, [4])], outputs: [TinyModels.valueInfo("y", .float, [2])])
        let outcomes = try ModelOptimizer.rewrite(&m, options: OptimizationOptions(rewrites: [.shapeFolding]), scratch: try RuntimeFixtures.temporaryDirectory())
        #expect(outcomes.first?.replacedNodes == 0)
        #expect(RewriteGraphs.opCount(m, "Shape") == 1)
    }
}

@Suite struct Float16ConversionTests {
    typealias G = RewriteGraphs

    /// x → Mul(w) → Resize(scales) → Add(Constant b) → y, plus an initializer no node reads (like inswapper's emap).
    func model() -> Onnx_ModelProto {
        var constant = G.node("Constant", [], ["b"])
        var value = Onnx_AttributeProto()
        value.name = "value"
        value.type = .tensor
        value.t = G.floats("", [0.25, -0.5], dims: [1, 2, 1, 1])
        constant.attribute = [value]
        let nodes = [
            G.node("Mul", ["x", "w"], ["m"]),
            G.node("Resize", ["m", "", "scales"], ["r"], [G.string("mode", "nearest")]),
            constant,
            G.node("Add", ["r", "b"], ["y"]),
        ]
        return G.model(opset: 13, nodes: nodes, inputs: [TinyModels.valueInfo("x", .float, [1, 2, 3, 3])],
                       outputs: [TinyModels.valueInfo("y", .float, [1, 2, 6, 6])],
                       initializers: [G.floats("w", [1.5, 1e-9], dims: [1, 2, 1, 1]), G.floats("scales", [1, 1, 2, 2], dims: [4]),
                                      G.floats("emap", [0.1, 0.2, 0.3, 0.4], dims: [2, 2])])
    }

    @Test func weightsAndActivationsBecomeFloat16WithFloat32InputsAndOutputs() throws {
        let original = model()
        var m = original
        let types = try GraphProbe.probe(m, inputShapes: nil, scratch: try RuntimeFixtures.temporaryDirectory()).types
        let outcome = GraphRewrite.convertToFloat16(&m, types: types)
        #expect(outcome.replacedNodes == 3, "\(outcome)")   // Mul, Constant, Add
        let init16 = Dictionary(uniqueKeysWithValues: m.graph.initializer.map { ($0.name, $0.dataType) })
        #expect(init16["w"] == 10)
        #expect(init16["scales"] == 1)   // read only by Resize, which stays float32
        #expect(init16["emap"] == 1)     // read by no node: left as it is, and still last
        #expect(m.graph.initializer.last?.name == "emap")
        // The tiny weight 1e-9 was clamped to 1e-7 rather than flushed to zero.
        let w = try #require(m.graph.initializer.first { $0.name == "w" })
        let halves = w.rawData.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
        #expect(Float16Bits.toFloat(halves[1]) > 0)
        // Casts: x to fp16, Resize's input to fp32 and its output back, y to fp32.
        #expect(G.opCount(m, "Cast") == 4)
        #expect(m.graph.input[0].type.tensorType.elemType == 1)
        #expect(m.graph.output[0].type.tensorType.elemType == 1)
        let x = G.pattern([1, 2, 3, 3])
        let a = try #require(try G.run(original, ["x": x])["y"]), b = try #require(try G.run(m, ["x": x])["y"])
        #expect(b.elementType == .float32)
        let scale = a.floats().map(abs).max()!
        #expect(G.maxAbsDiff(a, b) <= 2e-3 * scale)
    }

    @Test func aModelAlreadyInFloat16IsNotConvertedTwice() throws {
        var m = model()
        let types = try GraphProbe.probe(m, inputShapes: nil, scratch: try RuntimeFixtures.temporaryDirectory()).types
        _ = GraphRewrite.convertToFloat16(&m, types: types)
        let again = GraphRewrite.convertToFloat16(&m, types: types)
        #expect(again.replacedNodes == 0)
        #expect(again.skipped.first?.contains("already") == true)
    }
}

@Suite struct DynamicBatchTests {
    typealias G = RewriteGraphs

    @Test func elementwiseGraphsBatch() throws {
        var m = G.model(opset: 13, nodes: [G.node("Sigmoid", ["x"], ["y"])], inputs: [TinyModels.valueInfo("x", .float, [1, 3, 4])],
                        outputs: [TinyModels.valueInfo("y", .float, [1, 3, 4])])
        let outcome = try ModelOptimizer.makeBatchDynamicIfEquivalent(&m, scratch: try RuntimeFixtures.temporaryDirectory())
        #expect(outcome.skipped.isEmpty, "\(outcome)")
        #expect(m.graph.input[0].type.tensorType.shape.dim[0].dimParam == "batch")
        let out = try G.run(m, ["x": G.pattern([3, 3, 4])])
        #expect(out["y"]?.shape == [3, 3, 4])
    }

    @Test func aReshapeToAFixedLeadingOneIsCaught() throws {
        // Reshape(x, [1, -1]) accepts batch 2 but folds it into the features: outputs would be wrong, not an error.
        var m = G.model(opset: 13, nodes: [G.node("Reshape", ["x", "shape"], ["y"]), G.node("Softmax", ["y"], ["z"], [.int("axis", 1)])],
                        inputs: [TinyModels.valueInfo("x", .float, [1, 3, 4])], outputs: [TinyModels.valueInfo("z", .float, [1, 12])],
                        initializers: [G.ints("shape", [1, -1])])
        let before = m
        let outcome = try ModelOptimizer.makeBatchDynamicIfEquivalent(&m, scratch: try RuntimeFixtures.temporaryDirectory())
        #expect(!outcome.skipped.isEmpty)
        #expect(m == before)
    }
}

@Suite struct MalformedModelTests {
    func expectInvalid(_ bytes: Data, name: String) throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let file = dir.appendingPathComponent(name)
        try bytes.write(to: file)
        do {
            _ = try ModelOptimizer.optimize(modelPath: file.path, options: OptimizationOptions(rewrites: [.padToSlices, .float16]),
                                            cacheDirectory: dir.appendingPathComponent("cache"))
            Issue.record("\(name) was accepted")
        } catch let error as VisageError {
            switch error {
            case .invalidModel(let path, let reason):
                #expect(path == file.path)
                #expect(!reason.isEmpty)
            case .emptyFile: break
            default: Issue.record("unexpected error \(error)")
            }
        }
        #expect((try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("cache").path))?.filter { $0.hasSuffix(".onnx") }.isEmpty ?? true)
    }

    @Test func truncatedNotOnnxAndEmptyFilesAreClearErrors() throws {
        let full: Data = try RewriteGraphs.model(opset: 13, nodes: [RewriteGraphs.node("Relu", ["x"], ["y"])],
                                                 inputs: [TinyModels.valueInfo("x", .float, [2])],
                                                 outputs: [TinyModels.valueInfo("y", .float, [2])]).serializedBytes()
        try expectInvalid(full.prefix(full.count / 2), name: "truncated.onnx")
        try expectInvalid(Data("name,score\nobama,0.9\n".utf8), name: "scores.onnx")
        try expectInvalid(Data(), name: "empty.onnx")
    }
}
