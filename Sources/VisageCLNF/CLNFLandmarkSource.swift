import VisageAU
import VisageCore
import VisageMedia

/// What FeatureExtraction writes besides the landmarks, derived from a CLNF result: the model's own PDM fit
/// (the `p_*` columns, pose and 3D landmarks come from it) and, with the eye part models, their fits (gaze
/// and the eye landmarks come from them).
struct CLNFObservationBuilder {
    let model: CLNFMainModel
    private let eyes: (left: CLNFPartModel, right: CLNFPartModel)?

    init(model: CLNFMainModel) {
        self.model = model
        if let left = model.parts.first(where: { $0.name == "left_eye_28" }),
           let right = model.parts.first(where: { $0.name == "right_eye_28" }) {
            eyes = (left, right)
        } else {
            eyes = nil
        }
    }

    func observation(_ result: CLNFResult, faceID: Int) -> AUFaceObservation {
        var observation = AUFaceObservation(faceID: faceID, landmarks: result.landmarks, confidence: result.confidence,
                                            success: result.success, modelFit: PDMFit(global: result.global, local: result.local))
        // OpenFace estimates gaze only for frames it tracked successfully.
        guard result.success, let eyes,
              let left = result.parts[eyes.left.name], let right = result.parts[eyes.right.name],
              let leftFit = result.partFits[eyes.left.name], let rightFit = result.partFits[eyes.right.name] else { return observation }
        observation.eyes = OpenFaceEyes(left: OpenFaceEyeFit(landmarks: left, global: leftFit.global, local: leftFit.local),
                                        right: OpenFaceEyeFit(landmarks: right, global: rightFit.global, local: rightFit.local),
                                        leftPDM: eyes.left.model.shape.pdm, rightPDM: eyes.right.model.shape.pdm)
        return observation
    }

    /// OpenFace's ConvertToGrayscale_8bit: cv::cvtColor BGR2GRAY for colour frames.
    static func gray(_ frame: Image) throws -> Image {
        guard frame.depth == .uint8, frame.channels == 3 || frame.channels == 1 else {
            throw VisageError.invalidArgument("CLNF landmark source needs a BGR or grey uint8 frame, got \(frame.channels) channel(s) of \(frame.depth)")
        }
        return frame.channels == 1 ? frame : try ImageOps.convertColor(frame, .bgrToGray)
    }
}

/// OpenFace's CLNF as the AU stage's landmark source, single face like FeatureExtraction: one observation
/// (face 0) per frame, whether or not the tracker succeeded (its `success` says which).
public final class CLNFLandmarkSource: AULandmarkSource {
    public let name = "clnf"
    public let tracker: CLNFVideoTracker
    /// The last frame's full result (parameters, eye landmarks for gaze).
    public private(set) var lastResult: CLNFResult?
    private let builder: CLNFObservationBuilder

    public init(tracker: CLNFVideoTracker) {
        self.tracker = tracker
        builder = CLNFObservationBuilder(model: tracker.detector.model)
    }

    public func observe(_ frame: Image, index: Int) throws -> [AUFaceObservation] {
        let result = try tracker.process(frame: frame, gray: try CLNFObservationBuilder.gray(frame))
        lastResult = result
        return [builder.observation(result, faceID: 0)]
    }
}
