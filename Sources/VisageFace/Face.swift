import VisageCore
import VisageRuntime

/// A face found in a frame. All coordinates are in frame pixels.
public struct DetectedFace: Sendable, Equatable, Codable {
    /// Box corners, as insightface's `bbox` (may extend past the frame edge).
    public var box: Box
    /// Detector confidence in [0, 1] (insightface's `det_score`).
    public var score: Float
    /// Five keypoints in image-left-first order: eye, eye, nose tip, mouth corner, mouth corner
    /// (insightface's `kps`; the subject's right eye comes first).
    public var keypoints: [Point]

    public init(box: Box, score: Float, keypoints: [Point]) {
        self.box = box
        self.score = score
        self.keypoints = keypoints
    }
}

extension DetectedFace {
    /// Box, score and keypoints are all numbers.
    public var isFinite: Bool {
        [box.x1, box.y1, box.x2, box.y2, score].allSatisfy(\.isFinite) && keypoints.allSatisfy(\.isFinite)
    }

    /// Model outputs are never trusted blindly: a corrupted or wrong model file yields NaN or infinite values,
    /// which downstream turn into crashes (NaN → Int) or silently wrong results. Such faces are dropped, and
    /// that is said once per process.
    static func trusted(_ faces: [DetectedFace], from model: String) -> [DetectedFace] {
        let kept = faces.filter(\.isFinite)
        if kept.count < faces.count {
            DecisionLog.once(VisageLog.logger("face"), "the face detector \(model) computed non-finite values (NaN or infinity); those faces are skipped (is the model file corrupt?)", level: .warning)
        }
        return kept
    }
}

/// Wall-clock milliseconds spent in each stage of one detection.
public struct DetectionTimings: Sendable, Equatable {
    public var preprocess: Double = 0
    public var inference: Double = 0
    public var postprocess: Double = 0
    public var total: Double { preprocess + inference + postprocess }
    public init() {}
}

/// Settings shared by all detectors.
public struct DetectionOptions: Sendable, Equatable {
    /// Network input (width, height); the frame is letterboxed into it.
    public var inputWidth: Int
    public var inputHeight: Int
    /// Minimum confidence; nil takes the model's customary default.
    public var scoreThreshold: Float?
    public var nmsThreshold: Float?
    /// Keep at most this many faces (highest scores); 0 keeps all.
    public var maxFaces: Int
    /// For detectors that run at the frame's own size (YuNet): frames whose longer side exceeds
    /// this are scaled down first, bounding the cost on very large photos.
    public var maxInputSide: Int
    /// For YuNet on large frames: also look at a 640-px copy, so faces too large for the
    /// full-resolution anchors are found (off = exactly OpenCV's single pass).
    public var multiScale: Bool

    public init(inputWidth: Int = 640, inputHeight: Int = 640, scoreThreshold: Float? = nil, nmsThreshold: Float? = nil,
                maxFaces: Int = 0, maxInputSide: Int = 1920, multiScale: Bool = true) {
        self.inputWidth = inputWidth
        self.inputHeight = inputHeight
        self.scoreThreshold = scoreThreshold
        self.nmsThreshold = nmsThreshold
        self.maxFaces = maxFaces
        self.maxInputSide = maxInputSide
        self.multiScale = multiScale
    }
}

/// Finds faces in BGR frames.
public protocol FaceDetector: AnyObject, Sendable {
    /// Model store id of the network, e.g. "scrfd-500m".
    var modelID: String { get }
    var options: DetectionOptions { get }
    /// The ONNX Runtime session (its accelerator plan goes into banners and benchmarks).
    var session: InferenceSession { get }
    /// The network input (width, height) used for a frame of this size.
    func inputSize(forFrameWidth width: Int, height: Int) -> (width: Int, height: Int)
    /// Faces sorted by descending score, in frame pixels, with per-stage timings.
    func detectTimed(_ image: Image) throws -> (faces: [DetectedFace], timings: DetectionTimings)
}

extension FaceDetector {
    public func detect(_ image: Image) throws -> [DetectedFace] { try detectTimed(image).faces }
}
