import VisageAU
import VisageCore
import VisageMedia

/// What FeatureExtraction writes besides the landmarks, derived from a CLNF result: the model's own PDM fit
/// (the `p_*` columns, pose and 3D landmarks come from it) and, with the eye part models, gaze and the eye
/// landmarks.
struct CLNFObservationBuilder {
    let model: CLNFMainModel
    private let eyes: (left: CLNFPartModel, right: CLNFPartModel)?
    private var eyeFitters: (left: PDMFitter, right: PDMFitter)?

    init(model: CLNFMainModel) {
        self.model = model
        if let left = model.parts.first(where: { $0.name == "left_eye_28" }),
           let right = model.parts.first(where: { $0.name == "right_eye_28" }) {
            eyes = (left, right)
            eyeFitters = (PDMFitter(pdm: left.model.shape.pdm), PDMFitter(pdm: right.model.shape.pdm))
        } else {
            eyes = nil
        }
    }

    mutating func observation(_ result: CLNFResult, faceID: Int, camera: Geometry3D.Camera) -> AUFaceObservation {
        let fit = PDMFit(global: result.global, local: result.local, iterations: 0)
        var observation = AUFaceObservation(faceID: faceID, landmarks: result.landmarks, confidence: result.confidence,
                                            success: result.success, modelFit: fit)
        // OpenFace estimates gaze only for frames it tracked successfully.
        guard result.success, let eyes, var fitters = eyeFitters,
              let left = result.parts[eyes.left.name], let right = result.parts[eyes.right.name] else { return observation }
        // The eye landmarks are exactly their PDM's projection, so CalcParams recovers the eye model's own
        // parameters (GetShape needs them for the camera-space eye landmarks).
        let leftFit = fitters.left.fit(landmarks: Self.points(left))
        let rightFit = fitters.right.fit(landmarks: Self.points(right))
        eyeFitters = fitters
        let face3D = OpenFacePose.estimate(fit: fit, pdm: model.main.shape.pdm, landmarks: result.landmarks, camera: camera)
        observation.gaze = OpenFaceGaze.columns(
            face3D: face3D.landmarks3D, headPose: (face3D.pose[3], face3D.pose[4], face3D.pose[5]),
            left: OpenFaceEyeFit(landmarks: left, global: leftFit.global, local: leftFit.local),
            right: OpenFaceEyeFit(landmarks: right, global: rightFit.global, local: rightFit.local),
            eyePDMs: (eyes.left.model.shape.pdm, eyes.right.model.shape.pdm), camera: camera)
        return observation
    }

    static func points(_ v: [Float]) -> [Point] {
        let n = v.count / 2
        return (0..<n).map { Point(v[$0], v[$0 + n]) }
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
    private var builder: CLNFObservationBuilder

    public init(tracker: CLNFVideoTracker) {
        self.tracker = tracker
        builder = CLNFObservationBuilder(model: tracker.detector.model)
    }

    public func observe(_ frame: Image, index: Int) throws -> [AUFaceObservation] {
        let result = try tracker.process(frame: frame, gray: try CLNFObservationBuilder.gray(frame))
        lastResult = result
        let camera = Geometry3D.Camera.openFaceDefault(width: frame.width, height: frame.height)
        return [builder.observation(result, faceID: 0, camera: camera)]
    }
}
