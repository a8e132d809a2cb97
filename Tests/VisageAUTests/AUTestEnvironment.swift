import Foundation

/// Where the shared test data lives (read-only, beside the repository).
enum AUTestEnvironment {
    static let shared: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("shared", isDirectory: true)
    }()

    /// OpenFace 2.2 model files as the model store lays them out (`lib/local/...`).
    static let openFaceModels = shared.appendingPathComponent("models/openface-2.2.0/lib/local", isDirectory: true)
    static let auPredictors = openFaceModels.appendingPathComponent("FaceAnalyser/AU_predictors", isDirectory: true)
    static let landmarkModels = openFaceModels.appendingPathComponent("LandmarkDetector/model", isDirectory: true)
    static let reference = shared.appendingPathComponent("reference/openface", isDirectory: true)

    static func path(_ url: URL) -> String { url.path }
}
