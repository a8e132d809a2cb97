import Foundation
import VisageCore
import VisageMedia
import VisageRuntime

/// 68 facial landmarks (iBUG order) with PFLD: a square crop around each detector box (black
/// outside the frame), resized to 112x112 RGB in [0, 1]; outputs are normalised crop coordinates
/// mapped back to frame pixels through the crop's exact inverse (also for faces cut by the border).
/// All faces of a frame run as one batch.
public final class PFLDLandmarker: @unchecked Sendable {
    public let modelID: String
    /// The model: all faces of a frame in runs of up to `batches.maxBatch` (PFLD declares a dynamic batch).
    public let batches: BatchedSession
    public var session: InferenceSession { batches.single }
    /// Side of the square crop relative to the detector box's longer side. The PFLD repository's
    /// ONNX demo uses max(w, h) × 1.1 (its batch demo min × 1.2); with YuNet/SCRFD boxes max × 1.1
    /// gives the lowest error on our references (0.079 vs 0.089 NME, LandmarkAccuracyTests).
    public let cropScale: Float
    private let outputIndex: Int
    /// One reusable crop per caller thread would need thread-local storage; a small pool does the same.
    private let crops = Locked<[Image]>([])
    public static let inputSize = 112
    public static let defaultCropScale: Float = 1.1

    public init(modelID: String = "pfld-68", modelPath: String, cropScale: Float = PFLDLandmarker.defaultCropScale, config: SessionConfig = SessionConfig()) throws {
        let session = try InferenceSession(modelPath: modelPath, config: config)
        guard let input = session.inputs.first, input.shape.count == 4, let output = session.outputs.first else {
            throw VisageError.invalidModel(path: modelPath, reason: "expected an Nx3x112x112 input, found \(session.inputs)")
        }
        guard cropScale > 0.5, cropScale < 3 else { throw VisageError.invalidArgument("PFLD crop scale \(cropScale) is out of range") }
        self.modelID = modelID
        self.batches = BatchedSession(single: session, modelPath: modelPath, config: config)
        self.cropScale = cropScale
        self.outputIndex = session.outputs.firstIndex { $0.name == output.name } ?? 0
    }

    public static func make(store: ModelStore = ModelStore(), config: SessionConfig = SessionConfig()) throws -> PFLDLandmarker {
        try PFLDLandmarker(modelPath: try store.path(for: "pfld-68"), config: config)
    }

    /// The crop (frame → crop pixels) used for a face box.
    public func cropTransform(for box: Box) -> Affine2D {
        let side = max(box.width, box.height) * cropScale
        let s = Double(Float(Self.inputSize) / max(side, 1))
        let cx = Double(box.center.x), cy = Double(box.center.y), half = Double(side) / 2
        return Affine2D([s, 0, -(cx - half) * s, 0, s, -(cy - half) * s])
    }

    /// 68 landmarks in frame pixels for each box, in order.
    public func landmarks(in frame: Image, boxes: [Box]) throws -> [[Point]] {
        guard !boxes.isEmpty else { return [] }
        let size = Self.inputSize, plane = size * size
        let crop = crops.withLock { $0.popLast() } ?? Image(width: size, height: size, channels: 3)
        defer { crops.withLock { $0.append(crop) } }
        var result = [[Point]](repeating: [], count: boxes.count)
        try batches.forEachRun(boxes.count) { run in
            let start = run.start, n = run.count
            try run.session.run(BindingShape(batch: run.batch), fill: { inputs in
                for i in 0..<n {
                    try ImageOps.warpAffine(frame, cropTransform(for: boxes[start + i]), into: crop)
                    inputs[0].withUnsafeMutableBuffer(of: Float.self) { buffer in
                        let base = i * 3 * plane
                        for y in 0..<size {
                            let row = crop.baseAddress.advanced(by: y * crop.stride).assumingMemoryBound(to: UInt8.self)
                            for x in 0..<size {
                                for c in 0..<3 { buffer[base + c * plane + y * size + x] = Float(row[x * 3 + 2 - c]) / 255 }
                            }
                        }
                    }
                }
            }, read: { outputs in
                let output = outputs[outputIndex]
                guard output.elementCount == run.batch * 136, output.elementType == .float32 else {
                    throw VisageError.runtime("PFLD returned \(output.shape) for \(n) faces")
                }
                let values = output.data.assumingMemoryBound(to: Float.self)
                for i in 0..<n {
                    let back = cropTransform(for: boxes[start + i]).inverted!
                    result[start + i] = (0..<68).map { k in
                        back.apply(Point(values[i * 136 + 2 * k] * Float(size), values[i * 136 + 2 * k + 1] * Float(size)))
                    }
                }
            })
        }
        return result
    }
}

/// Facts derived from 68 iBUG landmarks.
public enum Landmarks68 {
    /// The 5 detector-style keypoints: eye centres, nose tip, mouth corners (image-left first).
    public static func fivePoints(_ l: [Point]) -> [Point] {
        func mean(_ r: Range<Int>) -> Point {
            let n = Float(r.count)
            return Point(r.reduce(0) { $0 + l[$1].x } / n, r.reduce(0) { $0 + l[$1].y } / n)
        }
        return [mean(36..<42), mean(42..<48), l[30], l[48], l[54]]
    }

    /// Outer eye corner distance (the usual normaliser of landmark errors).
    public static func interocular(_ l: [Point]) -> Float {
        let dx = l[36].x - l[45].x, dy = l[36].y - l[45].y
        return (dx * dx + dy * dy).squareRoot()
    }

    public static func bounds(_ l: [Point]) -> Box {
        Box(x1: l.map(\.x).min()!, y1: l.map(\.y).min()!, x2: l.map(\.x).max()!, y2: l.map(\.y).max()!)
    }
}
