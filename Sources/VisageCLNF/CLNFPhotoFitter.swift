import VisageAU
import VisageCore
import VisageMedia

/// Independent photos the way OpenFace's FaceLandmarkImg treats them: every face the detector finds is fitted
/// on its own with `DetectLandmarksInImage` (frontal start from the corrected box, the initial windows, no
/// multi-view hypotheses: FaceLandmarkImg leaves `multi_view` off), and nothing is carried from one photo to
/// the next.
public final class CLNFPhotoFitter {
    public let detector: CLNFLandmarkDetector
    public let faceDetector: OpenFaceFaceDetector
    private let builder: CLNFObservationBuilder

    public init(detector: CLNFLandmarkDetector, faceDetector: OpenFaceFaceDetector) {
        self.detector = detector
        self.faceDetector = faceDetector
        builder = CLNFObservationBuilder(model: detector.model)
    }

    /// One fit per detected face, in the detector's order (best score first).
    public func fit(_ frame: Image) throws -> [CLNFResult] {
        let gray = try CLNFObservationBuilder.gray(frame)
        return try faceDetector.detect(frame).map { try detector.detect(gray: gray, initialBox: $0.box, multiView: false) }
    }

    /// The fits as AU observations, `faceID` = detection order.
    public func observations(_ frame: Image) throws -> [AUFaceObservation] {
        try fit(frame).enumerated().map { builder.observation($0.element, faceID: $0.offset) }
    }
}
