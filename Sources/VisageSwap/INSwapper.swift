import Foundation
import SwiftProtobuf
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

/// insightface's inswapper_128 run exactly as `INSwapper.get` does: the target face aligned to
/// 128x128 (arcface_dst + 8 px in x) as RGB/255, the source's normalised ArcFace embedding times
/// `emap` (the graph's last initializer) normalised again, the RGB [0,1] output back to BGR
/// uint8 and pasted with insightface's mask rules (`INSwapperPasteBack`).
public final class INSwapper: @unchecked Sendable {
    /// The model: one face on the file as it is, several faces per run on its dynamic-batch copy.
    public let batches: BatchedSession
    public var session: InferenceSession { batches.single }
    /// 512x512 row-major, from the model file.
    public let emap: [Float]
    public static let template = AlignmentTemplate.inswapper128

    public init(modelPath: String, config: SessionConfig = SessionConfig()) throws {
        emap = try Self.readEmap(modelPath)
        let session = try InferenceSession(modelPath: modelPath, config: config)
        guard session.inputs.contains(where: { $0.name == "target" }), session.inputs.contains(where: { $0.name == "source" }),
              !session.outputs.isEmpty else {
            throw VisageError.invalidModel(path: modelPath, reason: "not an inswapper model (inputs \(session.inputs.map(\.name)))")
        }
        batches = BatchedSession(single: session, modelPath: modelPath, config: config)
    }

    /// The emap matrix: the graph's last initializer, 512x512 float (or float16).
    static func readEmap(_ path: String) throws -> [Float] {
        let model: Onnx_ModelProto
        do { model = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)) } catch {
            throw VisageError.invalidModel(path: path, reason: "cannot parse the ONNX graph (\(error))")
        }
        guard let last = model.graph.initializer.last, last.dims == [512, 512] else {
            throw VisageError.invalidModel(path: path, reason: "its last initializer is not the 512x512 emap")
        }
        if last.dataType == Int32(Onnx_TensorProto.DataType.float.rawValue) {
            if !last.rawData.isEmpty { return last.rawData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }
            if last.floatData.count == 512 * 512 { return last.floatData }
        } else if last.dataType == Int32(Onnx_TensorProto.DataType.float16.rawValue), !last.rawData.isEmpty {
            return last.rawData.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }.map(Float16Bits.toFloat)
        }
        throw VisageError.invalidModel(path: path, reason: "emap has no readable float data")
    }

    /// normalize(normedEmbedding · emap), the `source` input.
    public func latent(for normedEmbedding: [Float]) throws -> [Float] {
        guard normedEmbedding.count == 512 else { throw VisageError.invalidArgument("inswapper needs a 512-d ArcFace embedding") }
        var out = [Float](repeating: 0, count: 512)
        for i in 0..<512 {
            let e = normedEmbedding[i]
            if e == 0 { continue }
            let row = i * 512
            for j in 0..<512 { out[j] += e * emap[row + j] }
        }
        return FaceEmbedder.normalized(out)
    }

    /// The swapped 128x128 BGR crop and the alignment matrix (frame → crop).
    public func swapCrop(_ frame: Image, targetKeypoints: [Point], latent: [Float], times: StageTimes? = nil) throws -> (crop: Image, aligned: Image, transform: Affine2D) {
        try swapCrops(frame, targets: [targetKeypoints], latents: [latent], times: times)[0]
    }

    /// The swapped crops of several faces of `frame` (each with its own source latent), several faces per
    /// model run where the model takes a batch; the same crops as `swapCrop` one face at a time, within
    /// float rounding (BatchedInferenceTests).
    public func swapCrops(_ frame: Image, targets: [[Point]], latents: [[Float]], times: StageTimes? = nil) throws
        -> [(crop: Image, aligned: Image, transform: Affine2D)] {
        guard targets.count == latents.count else { throw VisageError.invalidArgument("one latent per target face") }
        guard latents.allSatisfy({ $0.count == 512 }) else { throw VisageError.invalidArgument("inswapper latents have 512 values") }
        let size = Self.template.size, plane = size * size
        let aligned = try times.measure("align") {
            try targets.map { try FaceAlignment.crop(frame, keypoints: $0, template: Self.template) }
        }
        var results: [(crop: Image, aligned: Image, transform: Affine2D)] = []
        results.reserveCapacity(targets.count)
        try batches.forEachRun(targets.count) { run in
            let start = run.start, n = run.count, session = run.session
            let targetIndex = session.inputs.firstIndex { $0.name == "target" } ?? 0
            let sourceIndex = session.inputs.firstIndex { $0.name == "source" } ?? 1
            var modelStart: UInt64 = 0
            try session.run(BindingShape(batch: run.batch), fill: { inputs in
                times.measure("align") {
                    inputs[targetIndex].withUnsafeMutableBuffer(of: Float.self) { b in
                        for i in 0..<n {
                            let crop = aligned[start + i].crop, base = i * 3 * plane
                            for y in 0..<size {
                                let row = crop.baseAddress.advanced(by: y * crop.stride).assumingMemoryBound(to: UInt8.self)
                                for x in 0..<size { for c in 0..<3 { b[base + c * plane + y * size + x] = Float(row[x * 3 + 2 - c]) / 255 } }
                            }
                        }
                    }
                    inputs[sourceIndex].withUnsafeMutableBuffer(of: Float.self) { b in
                        for i in 0..<n { for j in 0..<512 { b[i * 512 + j] = latents[start + i][j] } }
                    }
                }
                modelStart = DispatchTime.now().uptimeNanoseconds
            }, read: { outputs in
                times?.add("swap_model", Double(DispatchTime.now().uptimeNanoseconds - modelStart) / 1e6)
                let output = outputs[0]
                guard output.elementType == .float32, output.elementCount == run.batch * 3 * plane else {
                    throw VisageError.runtime("inswapper returned \(output.shape), not \(n)x3x128x128")
                }
                // The real items only: slots past `n` pad the batch to its bound shape and are not read.
                let pred = UnsafeBufferPointer(start: output.data.assumingMemoryBound(to: Float.self), count: n * 3 * plane)
                guard pred.allSatisfy(\.isFinite) else {
                    throw VisageError.invalidModel(path: self.session.modelPath, reason: "it computed non-finite numbers (NaN or infinity); the file is probably corrupt")
                }
                for i in 0..<n {
                    let crop = Image(width: size, height: size, channels: 3), base = i * 3 * plane
                    for y in 0..<size {
                        let row = crop.baseAddress.advanced(by: y * crop.stride).assumingMemoryBound(to: UInt8.self)
                        for x in 0..<size {
                            for c in 0..<3 {   // RGB planes → BGR, clip(255·v, 0, 255) then truncate like numpy astype(uint8)
                                let v = min(max(255 * pred[base + c * plane + y * size + x], 0), 255)
                                row[x * 3 + 2 - c] = UInt8(v)
                            }
                        }
                    }
                    results.append((crop, aligned[start + i].crop, aligned[start + i].transform))
                }
            })
        }
        return results
    }
}

/// insightface INSwapper paste-back, restricted to the face's region: float32 white mask warped
/// back, values > 20 set to 255 (lower edge values kept), erosion by max(size/10, 10), Gaussian blur
/// with kernel 2·max(size/20, 5)+1, mask/255, blend in float32 and truncate to uint8.
public enum INSwapperPasteBack {
    /// - Parameter opacity: 1 is insightface's paste; lower values let the target show through.
    public static func paste(_ crop: Image, into frame: Image, transform: Affine2D, opacity: Float = 1, times: StageTimes? = nil) throws {
        guard let inverse = transform.inverted else { throw VisageError.invalidArgument("singular alignment matrix") }
        let corners = [Point(0, 0), Point(Float(crop.width), 0), Point(0, Float(crop.height)), Point(Float(crop.width), Float(crop.height))].map(inverse.apply)
        let x0 = max(0, Int(floor(corners.map(\.x).min()!)) - 2), y0 = max(0, Int(floor(corners.map(\.y).min()!)) - 2)
        let x1 = min(frame.width, Int(ceil(corners.map(\.x).max()!)) + 2), y1 = min(frame.height, Int(ceil(corners.map(\.y).max()!)) + 2)
        guard x1 > x0, y1 > y0, let target = frame.region(x: x0, y: y0, width: x1 - x0, height: y1 - y0) else { return }
        let w = x1 - x0, h = y1 - y0
        // crop → region: the inverse warp shifted by the region origin (same pixels as a full-frame warp).
        var toRegion = inverse
        toRegion.m[2] -= Double(x0)
        toRegion.m[5] -= Double(y0)
        let fake = try times.measure("paste_back") { try ImageOps.warpAffine(crop, toRegion, width: w, height: h) }
        let maskStart = DispatchTime.now().uptimeNanoseconds
        let white = Image(width: crop.width, height: crop.height, channels: 1, depth: .float32)
        white.baseAddress.initializeMemory(as: Float.self, repeating: 255, count: white.width * white.height)
        let mask = try ImageOps.warpAffine(white, toRegion, width: w, height: h)
        var minX = w, minY = h, maxX = -1, maxY = -1
        for y in 0..<h {
            let row = mask.baseAddress.advanced(by: y * mask.stride).assumingMemoryBound(to: Float.self)
            for x in 0..<w where row[x] > 20 {
                row[x] = 255
                minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
            }
        }
        guard maxX >= minX else { return }
        let size = Int(Double((maxY - minY) * (maxX - minX)).squareRoot())
        let erodeK = max(size / 10, 10)
        let eroded = try ImageOps.erode(mask, kernelWidth: erodeK, kernelHeight: erodeK)
        let blurK = max(size / 20, 5)
        let soft = try ImageOps.gaussianBlur(eroded, kernelWidth: 2 * blurK + 1, kernelHeight: 2 * blurK + 1)
        times?.add("mask", Double(DispatchTime.now().uptimeNanoseconds - maskStart) / 1e6)
        let blendStart = DispatchTime.now().uptimeNanoseconds
        defer { times?.add("paste_back", Double(DispatchTime.now().uptimeNanoseconds - blendStart) / 1e6) }
        for y in 0..<h {
            let m = soft.baseAddress.advanced(by: y * soft.stride).assumingMemoryBound(to: Float.self)
            let f = fake.baseAddress.advanced(by: y * fake.stride).assumingMemoryBound(to: UInt8.self)
            let t = target.baseAddress.advanced(by: y * target.stride).assumingMemoryBound(to: UInt8.self)
            for x in 0..<w {
                let a = opacity == 1 ? m[x] / 255 : m[x] / 255 * opacity
                guard a > 0 else { continue }
                for c in 0..<3 {
                    let i = x * 3 + c
                    t[i] = UInt8(max(0, min(255, a * Float(f[i]) + (1 - a) * Float(t[i]))))
                }
            }
        }
    }
}
