import Foundation
import Testing
import VisageCore
import VisageMedia
import VisageRuntime
@testable import VisageEnhance

/// GPEN-BFR and CodeFormer through their real interfaces (stand-in graphs, see StandInModels), and the
/// checks that keep a wrong file from producing a silent wrong result.
@Suite struct EnhancerModelTests {
    static let obamaFace = EnhanceFace(keypoints: [Point(443.07, 207.37), Point(550.51, 209.67), Point(500.75, 270.93),
                                                   Point(445.1, 317.17), Point(544.36, 318.72)],
                                       box: Box(x1: 373.63, y1: 94.25, x2: 605.29, y2: 415.64))

    @Test func gpenRestoresThroughRGBPlanes() throws {
        let enhancer = try ONNXFaceEnhancer(modelPath: try StandInModels.gpen(size: 256), profile: .gpenBFR256)
        #expect(enhancer.imageInput == "input" && enhancer.outputName == "output")
        let crop = EnhanceFixtures.texturedFrame(width: 256, height: 256)
        let restored = try enhancer.restore(crop, fidelity: 0.5)
        // The stand-in swaps R and B inside the network: with the right plane order on both sides the
        // restored crop is the crop with blue and red exchanged, to within the 8-bit round trip.
        var worst = 0
        for y in stride(from: 0, to: 256, by: 3) {
            for x in stride(from: 0, to: 256, by: 3) {
                worst = max(worst, abs(Int(restored.byte(x: x, y: y, channel: 0)) - Int(crop.byte(x: x, y: y, channel: 2))))
                worst = max(worst, abs(Int(restored.byte(x: x, y: y, channel: 1)) - Int(crop.byte(x: x, y: y, channel: 1))))
                worst = max(worst, abs(Int(restored.byte(x: x, y: y, channel: 2)) - Int(crop.byte(x: x, y: y, channel: 0))))
            }
        }
        #expect(worst == 0)   // (v/255−0.5)/0.5 → (x+1)/2·255 → round is exact for every byte
    }

    @Test(arguments: [("input", "weight"), ("x", "w")])
    func codeformerGetsItsFidelityAsFloat64(names: (String, String)) throws {
        let enhancer = try ONNXFaceEnhancer(modelPath: try StandInModels.codeformer(image: names.0, weight: names.1), profile: .codeformer)
        #expect(enhancer.imageInput == names.0 && enhancer.fidelityInput?.name == names.1 && enhancer.fidelityInput?.type == .float64)
        let crop = EnhanceFixtures.texturedFrame(width: 512, height: 512)
        for w in [0.0, 0.5, 1.0] {
            let restored = try enhancer.restore(crop, fidelity: w)
            // output = input · w, so the decoded byte is round(((x·w + 1)/2)·255) with x = (v/255 − 0.5)/0.5.
            for (x, y) in [(3, 5), (100, 200), (511, 511)] {
                for c in 0..<3 {
                    let v = Double(crop.byte(x: x, y: y, channel: c))
                    let expected = (((v / 255 - 0.5) / 0.5 * w + 1) / 2 * 255).rounded()
                    #expect(abs(Double(restored.byte(x: x, y: y, channel: c)) - expected) <= 1, "w \(w)")
                }
            }
        }
        #expect(throws: VisageError.self) { try enhancer.restore(crop, fidelity: 1.5) }
    }

    @Test func aModelOfAnotherSizeIsRefusedNamingTheFile() throws {
        let path = try StandInModels.gpen(size: 256)
        let error = #expect(throws: VisageError.self) { try ONNXFaceEnhancer(modelPath: path, profile: .gpenBFR512) }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains(path) && text.contains("1x3x256x256") && text.contains("gpen-bfr-512"), "\(text)")
        // A CodeFormer file given as GFPGAN (an input too many), and GFPGAN's interface given as CodeFormer.
        #expect(throws: VisageError.self) { try ONNXFaceEnhancer(modelPath: try StandInModels.codeformer(), profile: .gfpgan14) }
        #expect(throws: VisageError.self) { try ONNXFaceEnhancer(modelPath: try StandInModels.gpen(size: 512), profile: .codeformer) }
        // Not a model at all.
        let junk = try EnhanceFixtures.temporaryDirectory().appendingPathComponent("junk.onnx")
        try Data("not onnx".utf8).write(to: junk)
        #expect(throws: VisageError.self) { try EnhancerFactory.make(model: "gfpgan-1.4", modelPath: junk.path) }
    }

    @Test func faceFusionAlignmentPutsKeypointsOnTheTemplate() throws {
        for profile in EnhancerProfile.all {
            let m = try EnhancerAlignment.transform(keypoints: Self.obamaFace.keypoints, profile: profile)
            let residual = zip(Self.obamaFace.keypoints.map(m.apply), profile.templatePoints)
                .map { hypot(Double($0.x - $1.x), Double($0.y - $1.y)) }.max()!
            // A similarity fit of a real face: a few pixels of residual in the crop, not more.
            #expect(residual < 0.04 * Double(profile.size), "\(profile.modelID): residual \(residual) px")
        }
        // Degenerate keypoints are an error, not a garbage crop.
        let same = [Point](repeating: Point(10, 10), count: 5)
        #expect(throws: VisageError.self) { try EnhancerAlignment.transform(keypoints: same, profile: .gfpgan14) }
        #expect(throws: VisageError.self) { try EnhancerAlignment.transform(keypoints: Array(same.prefix(3)), profile: .gfpgan14) }
    }

    @Test func gpenEnhancesAPhotoWithTheSoftMask() throws {
        let engine = try FaceEnhancementEngine(enhancer: try ONNXFaceEnhancer(modelPath: try StandInModels.gpen(size: 512), profile: .gpenBFR512))
        let image = try ImageIO.read(EnhanceFixtures.sample("obama.jpg"))
        let times = StageTimes()
        let (out, report) = try engine.enhanced(image, faces: [Self.obamaFace], times: times)
        #expect(report.enhanced == [0] && report.modelRuns == 1)
        #expect(times.order == ["align", "model", "paste_back", "blend"])
        let d = EnhanceFixtures.difference(out, image)
        #expect(d.differing > 50_000, "the face should change (R/B swapped inside the mask)")
        // Far corners are outside every mask.
        for (x, y) in [(0, 0), (image.width - 1, image.height - 1), (5, image.height - 5)] {
            for c in 0..<3 { #expect(out.byte(x: x, y: y, channel: c) == image.byte(x: x, y: y, channel: c)) }
        }
        // Centre of the face: blend 0.8 of the channel-swapped face.
        let cx = 497, cy = 270
        let blue = Double(image.byte(x: cx, y: cy, channel: 0)), red = Double(image.byte(x: cx, y: cy, channel: 2))
        #expect(abs(Double(out.byte(x: cx, y: cy, channel: 0)) - (0.2 * blue + 0.8 * red)) <= 3)
    }
}
