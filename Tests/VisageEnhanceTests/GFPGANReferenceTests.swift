import Foundation
import Testing
import VisageCore
import VisageMedia
@testable import VisageEnhance

/// Our GFPGAN pipeline against the reference's own code (facexlib 0.3.0 FaceRestoreHelper's alignment and
/// paste-back, FaceFusion's normalisation and blend, onnxruntime on the GFPGAN v1.4 twin), written by
/// scripts/reference/gfpgan_reference.py into Fixtures/: every pasted and blended sample within 1/255.
@Suite struct GFPGANReferenceTests {
    struct Reference: Decodable {
        struct PNG: Decodable { let file: String }
        struct Face: Decodable {
            let index: Int
            let kps: [[Float]]
            let box: [Float]
            let skipped: Bool
            let affine: [[Double]]?
            let restored_png: PNG?
        }
        struct Region: Decodable { let x: Int; let y: Int; let w: Int; let h: Int; let file: String? }
        struct Entry: Decodable {
            let image: String
            let width: Int
            let height: Int
            let faces: [Face]
            let pasted: Region?
            let blended: Region?
        }
        struct Rules: Decodable { let min_eye_distance: Float; let blend_percent: Int }
        let images: [Entry]
        let rules: Rules
    }

    static func load() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: EnhanceFixtures.fixture("gfpgan_reference.json")))
    }

    static func path(of label: String) -> String {
        let parts = label.split(separator: ":", maxSplits: 1).map(String.init)
        return parts[0] == "repo" ? EnhanceFixtures.repository.appendingPathComponent(parts[1]).path
                                  : EnhanceFixtures.shared.appendingPathComponent(parts[1]).path
    }

    /// Compares `image` inside the region with the fixture PNG, and checks nothing changed outside it.
    static func compare(_ image: Image, original: Image, region: Reference.Region, label: String) throws -> (worst: Int, overOne: Int, samples: Int) {
        let expected = try ImageIO.read(EnhanceFixtures.fixture(try #require(region.file)).path)
        let ours = try #require(image.region(x: region.x, y: region.y, width: region.w, height: region.h)).copy()
        let diff = EnhanceFixtures.difference(ours, expected)
        var outside = 0
        for y in stride(from: 0, to: image.height, by: 2) {
            for x in stride(from: 0, to: image.width, by: 2)
            where x < region.x || x >= region.x + region.w || y < region.y || y >= region.y + region.h {
                for c in 0..<3 where image.byte(x: x, y: y, channel: c) != original.byte(x: x, y: y, channel: c) { outside += 1 }
            }
        }
        #expect(outside == 0, "\(label): pixels outside the reference's changed region differ")
        return (diff.worst, diff.overOne, region.w * region.h * 3)
    }

    @Test func matchesFacexlibAndFaceFusionOnTheTwin() throws {
        let reference = try Self.load()
        let enhancer = try ONNXFaceEnhancer(modelPath: try EnhanceFixtures.gfpganTwin(), profile: .gfpgan14)
        #expect(enhancer.imageInput == "input" && enhancer.outputName == "output" && enhancer.fidelityInput == nil)
        let engine = try FaceEnhancementEngine(enhancer: enhancer, options: EnhanceOptions(blend: 1, minimumEyeDistance: reference.rules.min_eye_distance))
        var restoredCache: [String: Image] = [:]   // the obama face is enhanced in two entries; the twin is slow

        for entry in reference.images {
            let image = try ImageIO.read(Self.path(of: entry.image))
            #expect(image.width == entry.width && image.height == entry.height)
            let faces = entry.faces.map { EnhanceFace(keypoints: $0.kps.map { Point($0[0], $0[1]) },
                                                      box: Box(x1: $0.box[0], y1: $0.box[1], x2: $0.box[2], y2: $0.box[3])) }
            var restored: [RestoredFace] = []
            for (face, expected) in zip(faces, entry.faces) {
                #expect((engine.tooSmall(face) != nil) == expected.skipped, "\(entry.image) face \(expected.index): skip rule")
                guard !expected.skipped else { continue }
                // Alignment: facexlib's estimateAffinePartial2D(LMEDS) matrix.
                let transform = try EnhancerAlignment.transform(keypoints: face.keypoints, profile: .gfpgan14)
                let affine = try #require(expected.affine).flatMap { $0 }
                let matrixError = zip(transform.m, affine).map { abs($0 - $1) }.max()!
                #expect(matrixError < 1e-9, "\(entry.image) face \(expected.index): affine differs by \(matrixError)")
                let key = "\(face.keypoints)"
                let crop = try restoredCache[key] ?? engine.restore(image, transform: transform, times: nil)
                restoredCache[key] = crop
                if let png = expected.restored_png {
                    // Normalisation, network, decoding: the restored 512 crop itself.
                    let theirs = try ImageIO.read(EnhanceFixtures.fixture(png.file).path)
                    let d = EnhanceFixtures.difference(crop, theirs)
                    print("gfpgan \(entry.image) face \(expected.index): restored crop max diff \(d.worst) (\(d.differing) samples differ)")
                    #expect(d.worst <= 1)
                }
                restored.append(RestoredFace(crop: crop, transform: transform))
            }
            if let region = entry.pasted {
                let pasted = image.copy()
                engine.options.blend = 1
                try engine.composite(restored, into: pasted, times: nil)
                let d = try Self.compare(pasted, original: image, region: region, label: "\(entry.image) pasted")
                print("gfpgan \(entry.image) (\(restored.count) faces) pasted: max diff \(d.worst), \(d.overOne) of \(d.samples) samples over 1")
                #expect(d.worst <= 1, "\(entry.image): paste-back differs by up to \(d.worst)/255")
            }
            if let region = entry.blended, region.file != nil {
                let blended = image.copy()
                engine.options.blend = Double(reference.rules.blend_percent) / 100
                try engine.composite(restored, into: blended, times: nil)
                let d = try Self.compare(blended, original: image, region: region, label: "\(entry.image) blended")
                print("gfpgan \(entry.image) blended \(reference.rules.blend_percent)%: max diff \(d.worst), \(d.overOne) of \(d.samples) samples over 1")
                #expect(d.worst <= 1, "\(entry.image): blend differs by up to \(d.worst)/255")
            }
        }
    }

    @Test func publicEnhanceEqualsTheStepByStepPipeline() throws {
        // enhance(_:faces:) on the first fixture image, through the public API, gives the fixture's pasted region.
        let reference = try Self.load()
        let entry = reference.images[0]
        let engine = try FaceEnhancementEngine(enhancer: try ONNXFaceEnhancer(modelPath: try EnhanceFixtures.gfpganTwin(), profile: .gfpgan14),
                                               options: EnhanceOptions(blend: 1))
        let image = try ImageIO.read(Self.path(of: entry.image))
        let times = StageTimes()
        let (out, report) = try engine.enhanced(image, faces: entry.faces.map { EnhanceFace(keypoints: $0.kps.map { Point($0[0], $0[1]) }) }, times: times)
        #expect(report.enhanced == [0] && report.modelRuns == 1 && report.skipped.isEmpty)
        #expect(Set(times.order) == ["align", "model", "paste_back"])   // blend 1: no blend stage
        let d = try Self.compare(out, original: image, region: try #require(entry.pasted), label: entry.image)
        #expect(d.worst <= 1)
    }
}
