import Foundation
import VisageCore

/// OpenFace 2.2's AU model files, loaded once and shared (read-only) by every worker.
/// `root` is laid out like OpenFace's repository (`lib/local/...`), as the model store installs
/// the `openface-2.2.0` entry.
public struct AUModels: Sendable {
    public let pdm: PointDistributionModel
    public let triangulation: FaceTriangulation
    public let predictors: AUPredictorSet
    public let root: URL

    public static func predictorDirectory(in root: URL) -> URL {
        root.appendingPathComponent("lib/local/FaceAnalyser/AU_predictors", isDirectory: true)
    }

    public init(root: URL) throws {
        let predictorsDir = Self.predictorDirectory(in: root)
        // FaceAnalyser fits its own PDM (the one next to the AU predictors) and masks with the
        // full 68-point triangulation of the landmark models.
        pdm = try PointDistributionModel(contentsOf: predictorsDir.appendingPathComponent("In-the-wild_aligned_PDM_68.txt"))
        triangulation = try FaceTriangulation(contentsOf: root.appendingPathComponent("lib/local/LandmarkDetector/model/tris_68_full.txt"))
        predictors = try AUPredictorSet(directory: predictorsDir)
        self.root = root
    }

    public var layout: OpenFaceCSVLayout {
        OpenFaceCSVLayout(landmarkCount: pdm.pointCount, modeCount: pdm.modeCount,
                          intensityNames: predictors.intensityNames, presenceNames: predictors.presenceNames)
    }
}
