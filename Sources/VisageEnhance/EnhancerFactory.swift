import Foundation
import VisageCore
import VisageRuntime

/// Builds face enhancers from the model store (installing, checking licences) or from a file.
public enum EnhancerFactory {
    /// Catalogue ids this factory can run.
    public static var supportedModels: [String] { EnhancerProfile.all.map(\.modelID) }
    /// FaceFusion's and Deep-Live-Cam's default.
    public static let defaultModel = "gfpgan-1.4"

    /// The enhancer for a catalogue id. A model whose licence must be accepted (CodeFormer) is refused with
    /// the licence text unless the store accepts licences, installed or not. `modelPath` replaces the
    /// catalogue's file (a user's own copy); it must still be the model the id names.
    public static func make(model: String, store: ModelStore = ModelStore(), modelPath: String? = nil,
                            config: SessionConfig = SessionConfig()) throws -> ONNXFaceEnhancer {
        guard let profile = EnhancerProfile.forModel(model) else {
            throw VisageError.invalidArgument("'\(model)' is not a face enhancer Visage can run; use one of \(supportedModels.joined(separator: ", "))")
        }
        if let modelPath {
            return try ONNXFaceEnhancer(modelPath: modelPath, profile: profile, config: config)
        }
        let entry = try ModelCatalog.entry(model)
        try store.checkLicense(entry)
        let path = try store.path(for: model)
        return try ONNXFaceEnhancer(modelPath: path, profile: profile, config: config)
    }
}
