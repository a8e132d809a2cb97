import Foundation
import SwiftProtobuf
import VisageCore
import VisageMedia
import VisageRuntime

/// insightface's `2d106det` (buffalo_l) 106-point landmarks, run as insightface's `Landmark.get`:
/// a 192x192 crop centred on the box, scaled so that 1.5 × the longer box side fills it; outputs in
/// [-1, 1] of the crop ((v + 1) · 96) mapped back through the crop's inverse. Input normalisation
/// follows insightface's rule: if the graph starts with its own Sub and Mul nodes, feed raw pixels
/// (mean 0, std 1); otherwise (x − 127.5) / 128.
public final class Insightface106Landmarker: @unchecked Sendable {
    public let session: InferenceSession
    public let inputSize: Int
    public let mean: Float
    public let std: Float
    private let inputName: String
    private let outputName: String
    public static let pointCount = 106

    public init(modelPath: String, config: SessionConfig = SessionConfig()) throws {
        session = try InferenceSession(modelPath: modelPath, config: config)
        guard let input = session.inputs.first, input.shape.count == 4, input.shape[2] > 0, input.shape[2] == input.shape[3],
              let output = session.outputs.first else {
            throw VisageError.invalidModel(path: modelPath, reason: "expected a square NCHW input, found \(session.inputs)")
        }
        inputSize = input.shape[2]
        inputName = input.name
        outputName = output.name
        let names = try Self.firstNodeNames(modelPath, count: 8)
        let hasSub = names.contains { $0.hasPrefix("Sub") || $0.hasPrefix("_minus") }
        let hasMul = names.contains { $0.hasPrefix("Mul") || $0.hasPrefix("_mul") }
        (mean, std) = hasSub && hasMul ? (0, 1) : (127.5, 128)
    }

    static func firstNodeNames(_ path: String, count: Int) throws -> [String] {
        do {
            let model = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe))
            return model.graph.node.prefix(count).map(\.name)
        } catch {
            throw VisageError.invalidModel(path: path, reason: "cannot parse the ONNX graph (\(error))")
        }
    }

    /// frame → crop pixels for a face box (insightface `face_align.transform` with rotation 0).
    public func cropTransform(for box: Box) -> Affine2D {
        let s = Double(inputSize) / (Double(max(box.width, box.height)) * 1.5)
        let cx = Double(box.x1 + box.x2) / 2, cy = Double(box.y1 + box.y2) / 2, half = Double(inputSize / 2)
        return Affine2D([s, 0, -cx * s + half, 0, s, -cy * s + half])
    }

    /// 106 landmarks in frame pixels for each box.
    public func landmarks(in frame: Image, boxes: [Box]) throws -> [[Point]] {
        try boxes.map { box in
            let m = cropTransform(for: box)
            let crop = try ImageOps.warpAffine(frame, m, width: inputSize, height: inputSize)
            let plane = inputSize * inputSize
            let input = Tensor(.float32, shape: [1, 3, inputSize, inputSize])
            input.withUnsafeMutableBuffer(of: Float.self) { b in
                for y in 0..<inputSize {
                    let row = crop.baseAddress.advanced(by: y * crop.stride).assumingMemoryBound(to: UInt8.self)
                    for x in 0..<inputSize { for c in 0..<3 { b[c * plane + y * inputSize + x] = (Float(row[x * 3 + 2 - c]) - mean) / std } }
                }
            }
            guard let pred = try session.run([inputName: input], outputs: [outputName])[outputName]?.floats() else {
                throw VisageError.runtime("2d106det returned nothing")
            }
            let dims = pred.count >= 3000 ? 3 : 2
            let points = pred.count / dims
            guard points >= Self.pointCount else { throw VisageError.runtime("2d106det returned \(points) points") }
            let back = m.inverted!
            let half = Float(inputSize / 2)
            return ((points - Self.pointCount)..<points).map { k in
                back.apply(Point((pred[k * dims] + 1) * half, (pred[k * dims + 1] + 1) * half))
            }
        }
    }
}
