import Foundation
import VisageCore
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
            let probe = try InferenceSession(modelPath: model, config: SessionConfig(accelerator: .cpu))
            let isYuNet = probe.outputs.contains { $0.name == "cls_8" }
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
