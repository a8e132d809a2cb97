import Foundation
import SwiftProtobuf
import VisageCore
import VisageMedia
import VisageRuntime

/// Builds the right detector for a model id from the store, or for an .onnx path.
public enum DetectorFactory {
    /// Detector model ids this factory understands.
    public static let supportedModels = ["yunet-2023mar", "scrfd-500m", "scrfd-2.5g", "scrfd-10g"]
    /// Permissively licensed (MIT/Apache), so it installs without any licence question.
    public static let defaultModel = "yunet-2023mar"

    public static func make(model: String, store: ModelStore = ModelStore(), options: DetectionOptions = DetectionOptions(),
                            config: SessionConfig = SessionConfig()) throws -> FaceDetector {
        if model.hasSuffix(".onnx") {
            // A file of the user's: pick the decoder from the output names.
            // Read the output names from the graph itself rather than building a second session.
            try ImageIO.checkReadableFile(model)
            let graph: Onnx_ModelProto
            do { graph = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: model), options: .mappedIfSafe)) } catch {
                throw VisageError.invalidModel(path: model, reason: "cannot parse the ONNX graph (\(error))")
            }
            let isYuNet = graph.graph.output.contains { $0.name == "cls_8" }
            let id = URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent
            return isYuNet ? try YuNetDetector(modelID: id, modelPath: model, options: options, config: config, derivedModels: store.derivedDirectory)
                           : try SCRFDDetector(modelID: id, modelPath: model, options: options, config: config, derivedModels: store.derivedDirectory)
        }
        let entry = try ModelCatalog.entry(model)
        guard entry.task == .detect, supportedModels.contains(model) else {
            throw VisageError.invalidArgument("'\(model)' is not a face detector Visage can run; use one of \(supportedModels.joined(separator: ", "))")
        }
        let path = try store.path(for: model)
        if model.hasPrefix("yunet") {
            return try YuNetDetector(modelID: model, modelPath: path, options: options, config: config, derivedModels: store.derivedDirectory)
        }
        return try SCRFDDetector(modelID: model, modelPath: path, options: options, config: config, derivedModels: store.derivedDirectory)
    }
}
