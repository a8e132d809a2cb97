import Foundation
import VisageCore
import VisageMedia
import VisageRuntime

/// insightface's SCRFD family (det_500m, det_2.5g, det_10g, ...): letterbox, anchor grid,
/// distance decoding, insightface's NMS. Output layout is read from the model's output count,
/// so one decoder serves every published size.
public final class SCRFDDetector: FaceDetector, @unchecked Sendable {
    public let modelID: String
    public let options: DetectionOptions
    public let session: InferenceSession
    private let strides: [Int]
    private let anchorsPerCell: Int
    private let hasKeypoints: Bool
    private let preparer = InputPreparer()

    public static let defaultScoreThreshold: Float = 0.5
    public static let defaultNMSThreshold: Float = 0.4

    public init(modelID: String, modelPath: String, options: DetectionOptions = DetectionOptions(), config: SessionConfig = SessionConfig(),
                derivedModels: URL = ModelStore().derivedDirectory) throws {
        guard options.inputWidth % 32 == 0, options.inputHeight % 32 == 0, options.inputWidth > 0, options.inputHeight > 0 else {
            throw VisageError.invalidArgument("SCRFD input size must be a positive multiple of 32, got \(options.inputWidth)x\(options.inputHeight)")
        }
        // A copy pinned to the input size we always feed: faster, and numerically the same graph.
        let size = [1, 3, options.inputHeight, options.inputWidth]
        let fixedPath = try GraphRewrite.cached(source: modelPath, variant: "fixed-\(options.inputWidth)x\(options.inputHeight)",
                                                cacheDirectory: derivedModels) { GraphRewrite.fixInputShape(&$0, dims: size) }
        let session = try InferenceSession(modelPath: fixedPath, config: config)
        guard session.inputs.count == 1, let input = session.inputs.first, input.shape.count == 4 else {
            throw VisageError.invalidModel(path: modelPath, reason: "expected one NCHW image input, found \(session.inputs)")
        }
        switch session.outputs.count {
        case 6: (strides, anchorsPerCell, hasKeypoints) = ([8, 16, 32], 2, false)
        case 9: (strides, anchorsPerCell, hasKeypoints) = ([8, 16, 32], 2, true)
        case 10: (strides, anchorsPerCell, hasKeypoints) = ([8, 16, 32, 64, 128], 1, false)
        case 15: (strides, anchorsPerCell, hasKeypoints) = ([8, 16, 32, 64, 128], 1, true)
        default:
            throw VisageError.invalidModel(path: modelPath, reason: "\(session.outputs.count) outputs is not an SCRFD layout (6, 9, 10 or 15)")
        }
        self.modelID = modelID
        self.options = options
        self.session = session
    }

    public func inputSize(forFrameWidth width: Int, height: Int) -> (width: Int, height: Int) {
        (options.inputWidth, options.inputHeight)
    }

    public func detectTimed(_ image: Image) throws -> (faces: [DetectedFace], timings: DetectionTimings) {
        var timings = DetectionTimings()
        let w = options.inputWidth, h = options.inputHeight
        var clock = ContinuousClock.now

        var scale: Float = 1
        let decoded = try session.run(.single, fill: { inputs in
            scale = try preparer.prepare(image, into: inputs[0], width: w, height: h, fit: .insightface, swapRB: true, mean: 127.5, scale: 1.0 / 128.0)
            timings.preprocess = clock.lap()
        }, read: { outputs in
            timings.inference = clock.lap()
            return decode(outputs, scale: scale)
        })
        let faces = DetectedFace.trusted(decoded, from: modelID)
        timings.postprocess = clock.lap()
        return (faces, timings)
    }

    /// Boxes from the outputs in the session's output order (scores per level, then boxes, then keypoints).
    private func decode(_ outputs: [Tensor], scale: Float) -> [DetectedFace] {
        let threshold = options.scoreThreshold ?? Self.defaultScoreThreshold
        let levels = strides.count
        var boxes: [Box] = [], scores: [Float] = [], keypoints: [[Point]] = []
        for (level, stride) in strides.enumerated() {
            guard level + levels < outputs.count else { continue }
            let scoreTensor = outputs[level], boxTensor = outputs[level + levels]
            let kpsTensor = hasKeypoints && level + 2 * levels < outputs.count ? outputs[level + 2 * levels] : nil
            let cols = options.inputWidth / stride, rows = options.inputHeight / stride
            let count = min(rows * cols * anchorsPerCell, scoreTensor.elementCount, boxTensor.elementCount / 4)
            let s = scoreTensor.data.assumingMemoryBound(to: Float.self)
            let b = boxTensor.data.assumingMemoryBound(to: Float.self)
            let k = kpsTensor?.data.assumingMemoryBound(to: Float.self)
            let fs = Float(stride)
            for i in 0..<count where s[i] >= threshold {
                let cell = i / anchorsPerCell
                let cx = Float((cell % cols) * stride), cy = Float((cell / cols) * stride)
                // Same float32 operation order as insightface: distances * stride, then offset, then / det_scale.
                let box = Box(x1: (cx - b[i * 4] * fs) / scale, y1: (cy - b[i * 4 + 1] * fs) / scale,
                              x2: (cx + b[i * 4 + 2] * fs) / scale, y2: (cy + b[i * 4 + 3] * fs) / scale)
                boxes.append(box)
                scores.append(s[i])
                if let k {
                    keypoints.append((0..<5).map { p in
                        Point((cx + k[i * 10 + 2 * p] * fs) / scale, (cy + k[i * 10 + 2 * p + 1] * fs) / scale)
                    })
                } else {
                    keypoints.append([])
                }
            }
        }
        let keep = NonMaximumSuppression.insightface(boxes: boxes, scores: scores, threshold: options.nmsThreshold ?? Self.defaultNMSThreshold)
        var faces = keep.map { DetectedFace(box: boxes[$0], score: scores[$0], keypoints: keypoints[$0]) }
        if options.maxFaces > 0, faces.count > options.maxFaces { faces = Array(faces.prefix(options.maxFaces)) }
        return faces
    }
}

extension ContinuousClock.Instant {
    /// Milliseconds since `self`, resetting `self` to now.
    mutating func lap() -> Double {
        let now = ContinuousClock.now
        let d = (now - self).components
        self = now
        return Double(d.seconds) * 1000 + Double(d.attoseconds) / 1e15
    }
}
