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
    public let session: InferenceSession
    /// Side of the square crop relative to the detector box's longer side. The PFLD repository's
    /// ONNX demo uses max(w, h) × 1.1 (its batch demo min × 1.2); with YuNet/SCRFD boxes max × 1.1
    /// gives the lowest error on our references (0.079 vs 0.089 NME, LandmarkAccuracyTests).
    public let cropScale: Float
    private let inputName: String
    private let outputName: String
    private let batched: Bool
    public static let inputSize = 112
    public static let defaultCropScale: Float = 1.1

    public init(modelID: String = "pfld-68", modelPath: String, cropScale: Float = PFLDLandmarker.defaultCropScale, config: SessionConfig = SessionConfig()) throws {
        let session = try InferenceSession(modelPath: modelPath, config: config)
        guard let input = session.inputs.first, input.shape.count == 4, let output = session.outputs.first else {
            throw VisageError.invalidModel(path: modelPath, reason: "expected an Nx3x112x112 input, found \(session.inputs)")
        }
        guard cropScale > 0.5, cropScale < 3 else { throw VisageError.invalidArgument("PFLD crop scale \(cropScale) is out of range") }
        self.modelID = modelID
        self.session = session
        self.cropScale = cropScale
        self.inputName = input.name
        self.outputName = output.name
        self.batched = input.shape[0] != 1
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
        if !batched && boxes.count > 1 {
            return try boxes.map { try landmarks(in: frame, boxes: [$0])[0] }
        }
        let n = boxes.count, size = Self.inputSize, plane = size * size
        let input = Tensor(.float32, shape: [n, 3, size, size])
        let crop = Image(width: size, height: size, channels: 3)
        var transforms: [Affine2D] = []
        for (i, box) in boxes.enumerated() {
            let m = cropTransform(for: box)
            transforms.append(m)
            try ImageOps.warpAffine(frame, m, into: crop)
            input.withUnsafeMutableBuffer(of: Float.self) { buffer in
                let base = i * 3 * plane
                for y in 0..<size {
                    let row = crop.baseAddress.advanced(by: y * crop.stride).assumingMemoryBound(to: UInt8.self)
                    for x in 0..<size {
                        for c in 0..<3 { buffer[base + c * plane + y * size + x] = Float(row[x * 3 + 2 - c]) / 255 }
                    }
                }
            }
        }
        let output = try session.run([inputName: input], outputs: [outputName])
        guard let values = output[outputName]?.floats(), values.count == n * 136 else {
            throw VisageError.runtime("PFLD returned \(output[outputName]?.shape ?? []) for \(n) faces")
        }
        return (0..<n).map { i in
            let back = transforms[i].inverted!
            return (0..<68).map { k in
                back.apply(Point(values[i * 136 + 2 * k] * Float(size), values[i * 136 + 2 * k + 1] * Float(size)))
            }
        }
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
