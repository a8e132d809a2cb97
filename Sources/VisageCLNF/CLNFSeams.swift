import VisageCore

/// A face found by OpenFace's face detector, its box already corrected the way OpenFace corrects it before
/// initialising CLNF (so the box is in OpenFace's convention, not the raw detector's).
public struct OpenFaceDetection: Sendable, Equatable {
    public var box: Box
    /// The detector's own score (MTCNN: O-Net probability).
    public var confidence: Float

    public init(box: Box, confidence: Float) {
        self.box = box
        self.confidence = confidence
    }
}

/// The detector CLNF initialises from (OpenFace 2.2 uses MTCNN). `frame` is the BGR uint8 video frame.
/// Results are sorted by confidence, best first.
public protocol OpenFaceFaceDetector: AnyObject {
    func detect(_ frame: Image) throws -> [OpenFaceDetection]
}

/// OpenFace's `DetectionValidator::Check`: how much the fitted landmarks look like a face.
/// `gray` is the uint8 grey frame, `landmarks` the 68 points in OpenFace's layout (x_0…x_67 then y_0…y_67),
/// `rotation` the fitted PDM rotation (rx, ry, rz in radians) that picks the validator's view.
/// Returns the raw certainty exactly as OpenFace's `Check` returns it (the caller derives the CSV's
/// `confidence` column and the success decision from it the way OpenFace does).
public protocol OpenFaceLandmarkValidator: AnyObject {
    func check(gray: Image, landmarks: [Float], rotation: (Float, Float, Float)) throws -> Double
}
