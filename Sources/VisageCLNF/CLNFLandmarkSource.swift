import VisageAU
import VisageCore
import VisageMedia

/// OpenFace's CLNF as the AU stage's landmark source, single face like FeatureExtraction: one observation
/// (face 0) per frame, whether or not the tracker succeeded (its `success` says which).
public final class CLNFLandmarkSource: AULandmarkSource {
    public let name = "clnf"
    public let tracker: CLNFVideoTracker
    /// The last frame's full result (parameters, eye landmarks for gaze).
    public private(set) var lastResult: CLNFResult?

    public init(tracker: CLNFVideoTracker) { self.tracker = tracker }

    public func observe(_ frame: Image, index: Int) throws -> [AUFaceObservation] {
        guard frame.depth == .uint8, frame.channels == 3 || frame.channels == 1 else {
            throw VisageError.invalidArgument("CLNF landmark source needs a BGR or grey uint8 frame, got \(frame.channels) channel(s) of \(frame.depth)")
        }
        // OpenFace's ConvertToGrayscale_8bit: cv::cvtColor BGR2GRAY for colour frames.
        let gray = frame.channels == 1 ? frame : try ImageOps.convertColor(frame, .bgrToGray)
        let result = try tracker.process(frame: frame, gray: gray)
        lastResult = result
        return [AUFaceObservation(faceID: 0, landmarks: result.landmarks, confidence: result.confidence, success: result.success)]
    }
}
