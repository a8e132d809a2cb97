import Foundation
import Testing
import VisageCore
@testable import VisageRuntime

@Suite struct InferenceSessionTests {
    @Test func fileThatIsNotONNXIsAnInvalidModel() throws {
        let file = try RuntimeFixtures.temporaryDirectory().appendingPathComponent("model.onnx")
        try Data("definitely not a protobuf graph".utf8).write(to: file)
        let error = try #require(throws: VisageError.self) { try InferenceSession(modelPath: file.path) }
        guard case .invalidModel = error else { Issue.record("expected invalidModel, got \(error)"); return }
    }

    @Test func missingEmptyAndDirectoryModels() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        #expect(throws: VisageError.fileNotFound(path: dir.path + "/x.onnx")) { try InferenceSession(modelPath: dir.path + "/x.onnx") }
        #expect(throws: VisageError.notAFile(path: dir.path)) { try InferenceSession(modelPath: dir.path) }
        FileManager.default.createFile(atPath: dir.path + "/empty.onnx", contents: Data())
        #expect(throws: VisageError.emptyFile(path: dir.path + "/empty.onnx")) { try InferenceSession(modelPath: dir.path + "/empty.onnx") }
    }

    @Test func realDetectorReportsNamedInputsAndOutputs() throws {
        let path = try RuntimeFixtures.store().path(for: "scrfd-500m")
        let session = try InferenceSession(modelPath: path, config: SessionConfig(accelerator: .cpu, intraOpThreads: 1))
        #expect(session.inputs.map(\.name) == ["input.1"])
        #expect(session.inputs[0].elementType == .float32)
        #expect(session.inputs[0].shape.count == 4 && session.inputs[0].shape[1] == 3)
        #expect(session.outputs.count == 9)
        #expect(session.plan.chosen == [.cpu])

        let input = Tensor(.float32, shape: [1, 3, 640, 640])
        let out = try session.run(["input.1": input])
        #expect(out.count == 9)
        let scores = try #require(out[session.outputs[0].name])
        #expect(scores.shape == [12800, 1])
        #expect(scores.floats().allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    @Test func wrongInputTypeAndMissingInputAreErrors() throws {
        let path = try RuntimeFixtures.store().path(for: "scrfd-500m")
        let session = try InferenceSession(modelPath: path, config: SessionConfig(accelerator: .cpu, intraOpThreads: 1))
        #expect(throws: VisageError.self) { try session.run([:]) }
        #expect(throws: VisageError.self) { try session.run(["input.1": Tensor(.int64, shape: [1, 3, 32, 32])]) }
        // A wrong shape is ONNX Runtime's error, surfaced as a Swift error.
        #expect(throws: VisageError.self) { try session.run(["input.1": Tensor(.float32, shape: [1, 4, 32, 32])]) }
    }

    @Test func unavailableAcceleratorFallsBackToCPU() throws {
        let path = try RuntimeFixtures.store().path(for: "yunet-2023mar")
        let library = try ORTLibrary.shared()
        guard !library.availableProviders.contains("CUDAExecutionProvider") else { return }   // GPU build: nothing to fall back from
        let session = try InferenceSession(modelPath: path, config: SessionConfig(accelerator: .cuda))
        #expect(session.plan.chosen == [.cpu])
        #expect(session.plan.fallback?.contains("falling back to CPU") == true)
    }
}
