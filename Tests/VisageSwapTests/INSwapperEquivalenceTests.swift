import Foundation
import Testing
import VisageCore
import VisageFace
import VisageMedia
import VisageSwap

/// Our inswapper path against insightface's own `ArcFaceONNX.get` + `INSwapper.get(paste_back=True)`
/// on the seeded random-weight twins (scripts/reference/inswapper_reference.py; twins made by
/// scripts/setup-twins.sh, which `make test` runs): every pasted pixel within 1/255.
@Suite struct INSwapperEquivalenceTests {
    struct Reference: Decodable {
        struct Source: Decodable { let image: String; let kps: [[Float]]; let normed_embedding_f32le_b64: String; let latent_f32le_b64: String }
        struct Blob: Decodable { let width: Int?; let height: Int?; let data: String; let encoding: String? }
        struct Region: Decodable { let x: Int; let y: Int; let w: Int; let h: Int; let encoding: String; let data: String }
        struct PasteBack: Decodable { let region: Region }
        struct Target: Decodable { let image: String; let kps: [[Float]]; let M: [[Double]]; let bgr_fake: Blob; let paste_back: PasteBack }
        let source: Source
        let targets: [Target]
    }

    static let twins: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent(".deps/twins")
    }()

    static func twin(_ name: String) throws -> String {
        let path = twins.appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw VisageError.modelNotInstalled(id: name, hint: "run scripts/setup-twins.sh (make test does) to fill the twins from shared/models/twins")
        }
        return path
    }

    static func floats(_ base64: String) -> [Float] {
        let data = Data(base64Encoded: base64)!
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    static func bytes(_ base64: String, encoding: String?) throws -> [UInt8] {
        let data = Data(base64Encoded: base64)!
        if encoding == "png" {
            let image = try ImageIO.decode(data)
            var out: [UInt8] = []
            for y in 0..<image.height { for x in 0..<image.width { for c in 0..<3 { out.append(image.byte(x: x, y: y, channel: c)) } } }
            return out
        }
        return [UInt8](data)
    }

    @Test func matchesInsightfaceINSwapperGet() throws {
        let url = try #require(Bundle.module.url(forResource: "inswapper_reference", withExtension: "json", subdirectory: "Fixtures"))
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        let arcface = try FaceEmbedder(profile: .arcface, modelPath: try Self.twin("w600k_r50_twin.onnx"),
                                       derivedModels: FileManager.default.temporaryDirectory)
        let swapper = try INSwapper(modelPath: try Self.twin("inswapper_128_twin.onnx"))

        // Source identity: ArcFace embedding and the emap-projected latent.
        let source = try ImageIO.read(SwapFixtures.media("images/" + reference.source.image))
        let embedding = try arcface.embed(source, keypoints: reference.source.kps.map { Point($0[0], $0[1]) })
        let expectedEmbedding = Self.floats(reference.source.normed_embedding_f32le_b64)
        // OpenCV 4.6 (ours) and 5.0 (the reference) may round a crop pixel differently; the random
        // twin amplifies that, so compare directions: same vector up to float noise.
        #expect(FaceEmbedder.similarity(embedding, expectedEmbedding) > 0.9999)
        let expectedLatent = Self.floats(reference.source.latent_f32le_b64)
        // The emap projection itself, on insightface's own embedding, is exact to float precision.
        let latent = try swapper.latent(for: expectedEmbedding)
        #expect(zip(latent, expectedLatent).map { abs($0 - $1) }.max()! < 1e-5)

        for target in reference.targets {
            let frame = try ImageIO.read(SwapFixtures.media("images/" + target.image))
            let original = frame.copy()
            // The same inputs as insightface's: its latent and the target keypoints.
            let swapped = try swapper.swapCrop(frame, targetKeypoints: target.kps.map { Point($0[0], $0[1]) }, latent: expectedLatent)
            for (a, b) in zip(swapped.transform.m, target.M.flatMap { $0 }) { #expect(abs(a - b) < 1e-3, "\(target.image) M") }
            let fake = try Self.bytes(target.bgr_fake.data, encoding: target.bgr_fake.encoding)
            var ours: [UInt8] = []
            for y in 0..<128 { for x in 0..<128 { for c in 0..<3 { ours.append(swapped.crop.byte(x: x, y: y, channel: c)) } } }
            let cropDiff = zip(ours, fake).map { abs(Int($0) - Int($1)) }.max()!
            #expect(cropDiff <= 1, "\(target.image): swapped crop differs by \(cropDiff)")

            let region = target.paste_back.region
            let expected = try Self.bytes(region.data, encoding: region.encoding)
            func compare(_ image: Image) -> (worst: Int, over: Int) {
                var worst = 0, over = 0, i = 0
                for y in region.y..<(region.y + region.h) {
                    for x in region.x..<(region.x + region.w) {
                        for c in 0..<3 {
                            let d = abs(Int(image.byte(x: x, y: y, channel: c)) - Int(expected[i]))
                            worst = max(worst, d)
                            if d > 1 { over += 1 }
                            i += 1
                        }
                    }
                }
                return (worst, over)
            }
            // Paste-back alone, from insightface's own crop and matrix. The reference ran OpenCV 5.0, we
            // link Debian's 4.6, whose warpAffine/GaussianBlur round a few values differently: within
            // 1/255 except for at most 0.1% of the values, and never more than 2/255.
            let theirCrop = Image(width: 128, height: 128, channels: 3)
            fake.withUnsafeBytes { theirCrop.baseAddress.copyMemory(from: $0.baseAddress!, byteCount: fake.count) }
            let pastedTheirs = original.copy()
            try INSwapperPasteBack.paste(theirCrop, into: pastedTheirs, transform: Affine2D(target.M.flatMap { $0 }))
            let alone = compare(pastedTheirs)
            #expect(alone.worst <= 2 && alone.over * 1000 <= expected.count, "\(target.image): paste-back differs by up to \(alone.worst)/255")

            // End to end (our crop, our matrix): within 1/255 but for pixels where the crop itself
            // was rounded the other way (≤ 1 level in the crop can become 2 after blending).
            try INSwapperPasteBack.paste(swapped.crop, into: frame, transform: swapped.transform)
            let total = compare(frame)
            print("inswapper \(target.image): crop max diff \(cropDiff), paste-back alone max diff \(alone.worst), end to end max diff \(total.worst) (\(total.over) of \(expected.count) values over 1)")
            #expect(total.worst <= 2 && total.over * 1000 <= expected.count, "\(target.image): end to end differs by up to \(total.worst)/255 (\(total.over) values > 1)")
            // Nothing outside the region changed.
            var outside = 0
            for y in stride(from: 0, to: frame.height, by: 3) {
                for x in stride(from: 0, to: frame.width, by: 3) where x < region.x || x >= region.x + region.w || y < region.y || y >= region.y + region.h {
                    if frame.byte(x: x, y: y, channel: 1) != original.byte(x: x, y: y, channel: 1) { outside += 1 }
                }
            }
            #expect(outside == 0)
        }
    }
}
