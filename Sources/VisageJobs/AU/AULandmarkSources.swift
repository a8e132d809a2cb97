import Foundation
import VisageAU
import VisageCLNF
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

/// Where the AU stage's 68 landmarks come from.
public enum AULandmarks: String, Sendable, Codable, CaseIterable {
    /// OpenFace's own MTCNN + CLNF fitting: its numbers.
    case clnf
    /// Our detector + PFLD: faster, less OpenFace-like.
    case pfld
}

/// Makes the landmark source of one AU stream (a video, a camera, a sequence of photos). Each stream gets
/// its own fitters and tracking; the CLNF model, the AU models and the detector networks are shared
/// through the job context's registry.
// @unchecked: a replayed CSV source is used by one stream only; everything else is a value or shared safely.
struct AULandmarkSourceFactory: @unchecked Sendable {
    let context: JobContext
    let openFaceRoot: URL
    let kind: AULandmarks
    let multiFace: Bool
    let detector: String
    let detectEvery: Int
    /// A given source (`--landmarks-from`) instead of fitting landmarks.
    var replay: CSVLandmarkSource?
    /// False for `bench au`: each timed run loads its own CLNF model and pays for its own covariances,
    /// as OpenFace does.
    var shareCLNFModel = true

    func make() throws -> AULandmarkSource {
        if let replay { return replay }
        let pipeline = FacePipeline(context: context)
        let reidentify = multiFace ? try pipeline.embedder() : nil
        switch kind {
        case .clnf:
            let model = shareCLNFModel ? try sharedCLNFModel() : nil
            return try CLNFPersonSource(openFaceRoot: openFaceRoot, config: context.session, multiFace: multiFace, model: model,
                                        reidentify: reidentify)
        case .pfld:
            let analyzer = try pipeline.analyzer(detector: detector, detection: DetectionOptions(maxInputSide: FacePipeline.videoDetectorSide),
                                                 options: AnalysisOptions(landmarks: true, pose: false, embeddings: false, detectEvery: detectEvery))
            return PFLDLandmarkSource(analyzer: analyzer, reidentify: reidentify)
        }
    }

    /// The CLNF model shared by every stream of the process: a folder of videos parses the patch experts
    /// once and computes each response covariance once, not once per video. The covariances also persist
    /// beside the installed model (verified on every read), so later processes skip computing them.
    func sharedCLNFModel() throws -> CLNFMainModel {
        try context.models.shared("clnf/\(openFaceRoot.path)") {
            SharedCLNFModel(openFaceRoot: openFaceRoot, sigmaCache: .beside(openFaceRoot: openFaceRoot))
        }.get()
    }
}

extension AUModels {
    /// The AU models of the installed OpenFace files, loaded once per process.
    static func shared(root: URL, context: JobContext) throws -> AUModels {
        try context.models.sharedValue("au-models/\(root.path)") { try AUModels(root: root) }
    }
}
