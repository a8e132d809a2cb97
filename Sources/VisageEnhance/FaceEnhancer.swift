import Foundation
import VisageCore
import VisageRuntime

/// A face-restoration network: an aligned BGR crop in, a restored BGR crop of the same size out.
///
/// Alignment, paste-back and blending live in `FaceEnhancementEngine`; an implementation only runs the
/// network. One instance may serve several threads when its `restore` is thread-safe (the ONNX one is).
public protocol FaceEnhancer: AnyObject, Sendable {
    /// The model's crop size, template and alignment rules.
    var profile: EnhancerProfile { get }
    /// Restores one aligned crop (`profile.size`² pixels, 8-bit BGR).
    /// - Parameter fidelity: CodeFormer's w in [0, 1] (ignored by models without that input).
    func restore(_ crop: Image, fidelity: Double) throws -> Image
}

/// GFPGAN, GPEN-BFR and CodeFormer through ONNX Runtime. They share one tensor convention (FaceFusion's
/// prepare/normalize_crop_frame, which GFPGANer's img2tensor/tensor2img match): input RGB (x/255 − 0.5)/0.5
/// computed in double and stored as float32; output clipped to [−1, 1] (GFPGAN's graph does not clamp),
/// (x + 1)/2 · 255 rounded half to even, RGB → BGR.
public final class ONNXFaceEnhancer: FaceEnhancer, @unchecked Sendable {
    public let profile: EnhancerProfile
    public let session: InferenceSession
    /// The image input (rank 4, float32).
    public let imageInput: String
    /// CodeFormer's fidelity input ('weight' in FaceFusion's file, 'w' in other conversions) and its type.
    public let fidelityInput: (name: String, type: ElementType)?
    public let outputName: String
    private static let logger = VisageLog.logger("enhance")

    /// (x/255 − 0.5)/0.5 for every byte value, computed in double like numpy, then rounded to float32.
    private static let inputTable: [Float] = (0..<256).map { Float((Double($0) / 255.0 - 0.5) / 0.5) }

    /// Loads `modelPath` and checks that its inputs are what `profile` says; a file of another size or
    /// another kind is refused with an error naming the file.
    public init(modelPath: String, profile: EnhancerProfile, config: SessionConfig = SessionConfig()) throws {
        let session = try InferenceSession(modelPath: modelPath, config: config)
        let file = URL(fileURLWithPath: modelPath).lastPathComponent
        let images = session.inputs.filter { $0.shape.count == 4 }
        guard images.count == 1, let image = images.first else {
            throw VisageError.invalidModel(path: modelPath, reason: "expected one image input [1,3,\(profile.size),\(profile.size)], found \(session.inputs.map(\.description).joined(separator: ", ")); is \(file) a \(profile.modelID) model?")
        }
        guard image.elementType == .float32 else {
            throw VisageError.invalidModel(path: modelPath, reason: "image input '\(image.name)' is \(image.elementType?.description ?? "?"), expected float32 (a float16-input conversion is not supported)")
        }
        let expected = [1, 3, profile.size, profile.size]
        if zip(image.shape, expected).contains(where: { $0 >= 0 && $0 != $1 }) {
            throw VisageError.invalidModel(path: modelPath, reason: "its input '\(image.name)' is \(image.shape.map { $0 < 0 ? "?" : String($0) }.joined(separator: "x")) but \(profile.modelID) takes \(expected.map(String.init).joined(separator: "x")); use the file the catalogue names for \(profile.modelID), or the profile that matches this file")
        }
        let others = session.inputs.filter { $0.name != image.name }
        var fidelity: (String, ElementType)?
        if profile.takesFidelity {
            guard others.count == 1, let w = others.first, let type = w.elementType, type == .float64 || type == .float32,
                  w.shape.reduce(1, { $0 * max($1, 1) }) == 1 else {
                throw VisageError.invalidModel(path: modelPath, reason: "\(profile.modelID) needs a one-element fidelity input ('weight' or 'w', float64), found \(others.map(\.description))")
            }
            fidelity = (w.name, type)
        } else if !others.isEmpty {
            throw VisageError.invalidModel(path: modelPath, reason: "\(profile.modelID) takes only the image, but \(file) also wants \(others.map(\.description).joined(separator: ", "))")
        }
        guard let output = session.outputs.first else { throw VisageError.invalidModel(path: modelPath, reason: "the graph has no output") }
        if output.shape.count != 4 || zip(output.shape, expected).contains(where: { $0 >= 0 && $0 != $1 }) {
            throw VisageError.invalidModel(path: modelPath, reason: "its output '\(output.name)' is \(output.shape), expected 1x3x\(profile.size)x\(profile.size)")
        }
        self.profile = profile
        self.session = session
        self.imageInput = image.name
        self.fidelityInput = fidelity
        self.outputName = output.name
        Self.logger.debug("\(file): \(profile.modelID) on \(session.plan.summary); input '\(image.name)'\(fidelity.map { ", fidelity '\($0.0)' (\($0.1))" } ?? ""), output '\(output.name)'")
    }

    public func restore(_ crop: Image, fidelity: Double = 0.5) throws -> Image {
        let size = profile.size, plane = size * size
        guard crop.width == size, crop.height == size, crop.channels == 3, crop.depth == .uint8 else {
            throw VisageError.invalidArgument("\(profile.modelID) restores \(size)x\(size) 8-bit BGR crops, got \(crop.width)x\(crop.height)x\(crop.channels)")
        }
        let input = Tensor(.float32, shape: [1, 3, size, size])
        input.withUnsafeMutableBuffer(of: Float.self) { b in
            Self.inputTable.withUnsafeBufferPointer { table in
                for y in 0..<size {
                    let row = crop.baseAddress.advanced(by: y * crop.stride).assumingMemoryBound(to: UInt8.self)
                    let o = y * size
                    for x in 0..<size {   // BGR bytes → R, G, B planes
                        b[o + x] = table[Int(row[3 * x + 2])]
                        b[plane + o + x] = table[Int(row[3 * x + 1])]
                        b[2 * plane + o + x] = table[Int(row[3 * x])]
                    }
                }
            }
        }
        var feeds = [imageInput: input]
        if let (name, type) = fidelityInput {
            guard (0...1).contains(fidelity) else { throw VisageError.invalidArgument("CodeFormer fidelity must be in 0...1, got \(fidelity)") }
            let w = Tensor(type, shape: session.inputs.first { $0.name == name }!.shape.map { max($0, 1) })
            if type == .float64 {
                w.withUnsafeMutableBuffer(of: Double.self) { $0[0] = fidelity }
            } else {
                w.withUnsafeMutableBuffer(of: Float.self) { $0[0] = Float(fidelity) }
            }
            feeds[name] = w
        }
        let outputs = try session.run(feeds, outputs: [outputName])
        guard let out = outputs[outputName], out.elementType == .float32, out.shape == [1, 3, size, size] else {
            throw VisageError.runtime("\(profile.modelID) returned \(outputs[outputName].map { "\($0.elementType)\($0.shape)" } ?? "nothing"), expected float32[1,3,\(size),\(size)]")
        }
        let restored = Image(width: size, height: size, channels: 3)
        let pred = UnsafeBufferPointer(start: out.data.assumingMemoryBound(to: Float.self), count: 3 * plane)
        for y in 0..<size {
            let row = restored.baseAddress.advanced(by: y * restored.stride).assumingMemoryBound(to: UInt8.self)
            let o = y * size
            for x in 0..<size {
                row[3 * x + 2] = Self.decode(pred[o + x])
                row[3 * x + 1] = Self.decode(pred[plane + o + x])
                row[3 * x] = Self.decode(pred[2 * plane + o + x])
            }
        }
        return restored
    }

    /// clip(v, −1, 1) → (v + 1)/2 → ·255 → round half to even, all in float32 as numpy does.
    @inline(__always)
    static func decode(_ v: Float) -> UInt8 {
        let clipped = v.isNaN ? -1 : min(max(v, -1), 1)
        let scaled = ((clipped + 1) / 2) * 255
        return UInt8(scaled.rounded(.toNearestOrEven))
    }
}
