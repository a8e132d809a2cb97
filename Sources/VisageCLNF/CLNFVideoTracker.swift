import Foundation
import VisageAU
import VisageCore

/// One face tracked through a video the way FeatureExtraction does it (`LandmarkDetector::DetectLandmarksInVideo`):
///
/// - while tracking, each frame is fitted from the previous frame's parameters, with the small windows after a
///   successful frame and the initial ones after a failure; a failure counts towards `failuresInARow`;
/// - when not yet tracking, the face detector runs on the first frame and then every `reinitVideoEvery · 6`
///   frames; while tracking fails, it runs every `reinitVideoEvery` failures. A detection (the widest face)
///   initialises the fit from its box with the multi-view rotation hypotheses; if that re-detection fails
///   while tracking, the previous parameters are kept and the frame fails;
/// - after more than 100 failures in a row tracking stops until the next detection.
///
/// Without a face detector the tracker can only follow a face it was started on (`start(box:)`).
/// Without a validator it behaves as OpenFace with `validate_detections` off (see `CLNFLandmarkDetector`).
public final class CLNFVideoTracker: @unchecked Sendable {
    public let detector: CLNFLandmarkDetector
    public let faceDetector: OpenFaceFaceDetector?

    /// `tracking_initialised`.
    public private(set) var trackingInitialised = false
    /// `failures_in_a_row` (−1 after a success, as in OpenFace).
    public private(set) var failuresInARow = -1
    /// The model state after the last frame (`params_global`, `params_local`, `detected_landmarks`, …).
    public private(set) var state: CLNFResult
    /// Frames on which the face detector ran (0-based), for diagnostics.
    public private(set) var detectionFrames: [Int] = []
    private var frameIndex = 0
    private var pendingBox: Box?

    public init(detector: CLNFLandmarkDetector, faceDetector: OpenFaceFaceDetector?, validator: OpenFaceLandmarkValidator? = nil,
                parameters: CLNFParameters = .openFaceVideo) {
        // The validator and parameters travel with the landmark detector; these arguments override it.
        if validator != nil || parameters != detector.parameters {
            self.detector = CLNFLandmarkDetector(model: detector.model, validator: validator ?? detector.validator, parameters: parameters)
            self.detector.threads = detector.threads
        } else {
            self.detector = detector
        }
        self.faceDetector = faceDetector
        state = Self.resetState(detector.model)
    }

    /// `CLNF::Reset`: forget the face (next frame detects again).
    public func reset() {
        trackingInitialised = false
        failuresInARow = -1
        state = Self.resetState(detector.model)
        pendingBox = nil
    }

    /// Start from a known face box on the next frame (`DetectLandmarksInVideo` with a bounding box).
    public func start(box: Box) { pendingBox = box }

    /// Processes the next frame: `frame` is the BGR uint8 frame (for the face detector), `gray` its
    /// cv::cvtColor BGR2GRAY conversion. Returns the model state after the frame; `success` is
    /// DetectLandmarksInVideo's return value (FeatureExtraction's `success` column).
    @discardableResult
    public func process(frame: Image, gray: Image) throws -> CLNFResult {
        defer { frameIndex += 1 }
        let parameters = detector.parameters
        if let box = pendingBox {
            pendingBox = nil
            state.local = [Float](repeating: 0, count: detector.model.main.shape.modeCount)
            state.global = detector.model.main.shape.calcParams(boxX: box.x1, boxY: box.y1, boxWidth: box.width,
                                                                boxHeight: box.height, local: state.local, rotation: (0, 0, 0))
            trackingInitialised = true
        }
        let initialDetection = !trackingInitialised
        if trackingInitialised {
            let windows = state.success ? parameters.windowSizesSmall : parameters.windowSizesInit
            state = try detector.detectLandmarks(gray: gray, global: state.global, local: state.local, windowSizes: windows)
            failuresInARow = state.success ? -1 : failuresInARow + 1
        }
        let every = parameters.reinitVideoEvery
        let detectNow = (!trackingInitialised && every > 0 && (failuresInARow + 1) % (every * 6) == 0)
            || (trackingInitialised && !state.success && every > 0 && failuresInARow % every == 0)
        if detectNow, let faceDetector {
            detectionFrames.append(frameIndex)
            if let box = Self.widest(try faceDetector.detect(frame)) {
                trackingInitialised = true
                let previous = state
                let fitted = try detector.detect(gray: gray, initialBox: box, multiView: true)
                if !initialDetection && !fitted.success {
                    // OpenFace restores the parameters and landmarks but keeps the failed fit's certainty.
                    state = previous
                    state.success = false
                    state.confidence = fitted.confidence
                    return state
                }
                state = fitted
                failuresInARow = -1
                // DetectLandmarksInVideo reports success here even if the first fit failed validation.
                var reported = state
                reported.success = true
                return initialDetection ? reported : state
            }
        }
        if !trackingInitialised { failuresInARow += 1 }
        if failuresInARow > 100 { trackingInitialised = false }
        return state
    }

    /// DetectSingleFaceMTCNN without a preferred point: the widest detection (the first among equals).
    static func widest(_ detections: [OpenFaceDetection]) -> Box? {
        var best: Box?
        for d in detections where best == nil || d.box.width > best!.width { best = d.box }
        return best
    }

    private static func resetState(_ model: CLNFMainModel) -> CLNFResult {
        CLNFResult(landmarks: [Float](repeating: 0, count: 2 * model.main.pointCount),
                   global: PDMGlobalParameters(scale: 1, rx: 0, ry: 0, rz: 0, tx: 0, ty: 0),
                   local: [Float](repeating: 0, count: model.main.shape.modeCount),
                   success: false, confidence: 0, likelihood: -10, parts: [:])
    }
}
