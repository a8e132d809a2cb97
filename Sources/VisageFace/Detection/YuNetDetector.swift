import Foundation
import VisageCore
import VisageMedia
import VisageRuntime

/// OpenCV's YuNet (face_detection_yunet_2023mar) as OpenCV's FaceDetectorYN runs it: the frame at
/// its own size, padded right/bottom to a multiple of 32, score = sqrt(cls * obj), OpenCV's
/// decoding and integer-rectangle NMS. The published graph pins 640x640, so a cached copy with
/// symbolic height/width is what ONNX Runtime loads (see `GraphRewrite.makeImageSizeDynamic`).
public final class YuNetDetector: FaceDetector, @unchecked Sendable {
    public let modelID: String
    public let options: DetectionOptions
    public let session: InferenceSession
    private let preparer = InputPreparer()
    /// Per stride (8, 16, 32): where its cls, obj, bbox and kps outputs are in the session's output order.
    private let levelOutputs: [(cls: Int, obj: Int, bbox: Int, kps: Int)]

    /// OpenCV's FaceDetectorYN uses 0.9; on dlib's annotated faces that misses 14% of them while
    /// 0.7 finds all 43 with no false positive (DlibRecallTests), so 0.7 is our default.
    public static let defaultScoreThreshold: Float = 0.7
    public static let defaultNMSThreshold: Float = 0.3
    private static let strides = [8, 16, 32]

    public init(modelID: String, modelPath: String, options: DetectionOptions = DetectionOptions(), config: SessionConfig = SessionConfig(),
                derivedModels: URL = ModelStore().derivedDirectory) throws {
        let dynamicPath = try GraphRewrite.cached(source: modelPath, variant: "dynamic", cacheDirectory: derivedModels) {
            GraphRewrite.makeImageSizeDynamic(&$0)
        }
        let session = try InferenceSession(modelPath: dynamicPath, config: config)
        guard let input = session.inputs.first, input.shape.count == 4 else {
            throw VisageError.invalidModel(path: modelPath, reason: "expected one NCHW image input, found \(session.inputs)")
        }
        let names = Set(session.outputs.map(\.name))
        guard Self.strides.allSatisfy({ names.isSuperset(of: ["cls_\($0)", "obj_\($0)", "bbox_\($0)", "kps_\($0)"]) }) else {
            throw VisageError.invalidModel(path: modelPath, reason: "not a YuNet model (outputs \(session.outputs.map(\.name)))")
        }
        guard options.maxInputSide >= 32 else { throw VisageError.invalidArgument("maxInputSide must be at least 32") }
        self.modelID = modelID
        self.options = options
        self.session = session
        let order = session.outputs.map(\.name)
        self.levelOutputs = Self.strides.map { stride in
            (order.firstIndex(of: "cls_\(stride)")!, order.firstIndex(of: "obj_\(stride)")!,
             order.firstIndex(of: "bbox_\(stride)")!, order.firstIndex(of: "kps_\(stride)")!)
        }
    }

    /// The frame's own size (scaled down past `maxInputSide`), padded up to a multiple of 32.
    public func inputSize(forFrameWidth width: Int, height: Int) -> (width: Int, height: Int) {
        inputSize(forFrameWidth: width, height: height, maxSide: options.maxInputSide)
    }

    private func inputSize(forFrameWidth width: Int, height: Int, maxSide: Int) -> (width: Int, height: Int) {
        let scale = min(1.0, Double(maxSide) / Double(max(width, height)))
        let scaledW = max(1, Int((Double(width) * scale).rounded())), scaledH = max(1, Int((Double(height) * scale).rounded()))
        return ((scaledW + 31) / 32 * 32, (scaledH + 31) / 32 * 32)
    }

    public func detectTimed(_ image: Image) throws -> (faces: [DetectedFace], timings: DetectionTimings) {
        var timings = DetectionTimings()
        var candidates = try pass(image, maxSide: options.maxInputSide, timings: &timings)
        // YuNet's anchors stop at stride 32: at full resolution a face filling a large photo is
        // missed. A second look at 640 px finds those; NMS below merges both passes.
        if options.multiScale, max(image.width, image.height) > 2 * Self.coarseSide {
            let coarse = try pass(image, maxSide: Self.coarseSide, timings: &timings)
            candidates.boxes += coarse.boxes
            candidates.scores += coarse.scores
            candidates.keypoints += coarse.keypoints
        }
        var clock = ContinuousClock.now
        let faces = DetectedFace.trusted(suppress(candidates), from: modelID)
        timings.postprocess += clock.lap()
        return (faces, timings)
    }

    private static let coarseSide = 640

    private typealias Candidates = (boxes: [Box], scores: [Float], keypoints: [[Point]])

    private func pass(_ image: Image, maxSide: Int, timings: inout DetectionTimings) throws -> Candidates {
        var clock = ContinuousClock.now
        let (w, h) = inputSize(forFrameWidth: image.width, height: image.height, maxSide: maxSide)
        var inputScale: Float = 1
        var added: (preprocess: Double, inference: Double) = (0, 0)
        let candidates = try session.run(BindingShape(batch: 1, height: h, width: w), fill: { inputs in
            inputScale = try preparer.prepare(image, into: inputs[0], width: w, height: h, fit: .withoutUpscaling, swapRB: false, mean: 0, scale: 1)
            added.preprocess = clock.lap()
        }, read: { outputs in
            added.inference = clock.lap()
            return decode(outputs, width: w, height: h, scale: inputScale)
        })
        timings.preprocess += added.preprocess
        timings.inference += added.inference
        timings.postprocess += clock.lap()
        return candidates
    }

    /// Candidates from the outputs in the session's output order (`levelOutputs` says which is which).
    private func decode(_ outputs: [Tensor], width: Int, height: Int, scale: Float) -> Candidates {
        let threshold = options.scoreThreshold ?? Self.defaultScoreThreshold
        var boxes: [Box] = [], scores: [Float] = [], keypoints: [[Point]] = []
        for (stride, index) in zip(Self.strides, levelOutputs) {
            let cls = outputs[index.cls], obj = outputs[index.obj], bbox = outputs[index.bbox], kps = outputs[index.kps]
            let cols = width / stride, rows = height / stride
            let c = cls.data.assumingMemoryBound(to: Float.self), o = obj.data.assumingMemoryBound(to: Float.self)
            let b = bbox.data.assumingMemoryBound(to: Float.self), k = kps.data.assumingMemoryBound(to: Float.self)
            let fs = Float(stride)
            for i in 0..<min(rows * cols, cls.elementCount) {
                let score = (min(max(c[i], 0), 1) * min(max(o[i], 0), 1)).squareRoot()
                guard score >= threshold else { continue }
                let col = Float(i % cols), row = Float(i / cols)
                let cx = (col + b[i * 4]) * fs, cy = (row + b[i * 4 + 1]) * fs
                let bw = exp(b[i * 4 + 2]) * fs, bh = exp(b[i * 4 + 3]) * fs
                // OpenCV keeps (x, y, w, h) in float32 and NMS truncates those, so build the box the same way.
                boxes.append(Box(x: (cx - bw / 2) / scale, y: (cy - bh / 2) / scale, width: bw / scale, height: bh / scale))
                scores.append(score)
                keypoints.append((0..<5).map { n in Point((k[i * 10 + 2 * n] + col) * fs / scale, (k[i * 10 + 2 * n + 1] + row) * fs / scale) })
            }
        }
        return (boxes, scores, keypoints)
    }

    private func suppress(_ c: Candidates) -> [DetectedFace] {
        let threshold = options.scoreThreshold ?? Self.defaultScoreThreshold
        let keep = c.boxes.count < 2 ? Array(c.boxes.indices)
            : NonMaximumSuppression.openCV(boxes: c.boxes, scores: c.scores, scoreThreshold: threshold,
                                           threshold: options.nmsThreshold ?? Self.defaultNMSThreshold)
        var faces = keep.map { DetectedFace(box: c.boxes[$0], score: c.scores[$0], keypoints: c.keypoints[$0]) }
        if options.maxFaces > 0, faces.count > options.maxFaces { faces = Array(faces.prefix(options.maxFaces)) }
        return faces
    }
}
