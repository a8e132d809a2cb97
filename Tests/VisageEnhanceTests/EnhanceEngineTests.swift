import Foundation
import Testing
import VisageCore
import VisageMedia
@testable import VisageEnhance

/// The library API's rules: which faces are enhanced, what blend means, bad input, cancellation.
@Suite struct EnhanceEngineTests {
    static func engine(blend: Double = 0.8) throws -> FaceEnhancementEngine {
        try FaceEnhancementEngine(enhancer: try ONNXFaceEnhancer(modelPath: try StandInModels.gpen(size: 256), profile: .gpenBFR256),
                                  options: EnhanceOptions(blend: blend))
    }

    /// The obama sample's face, and a copy scaled about the nose by `scale`.
    static func face(scale: Float = 1, dx: Float = 0) -> EnhanceFace {
        let nose = Point(500.75, 270.93)
        let f = EnhancerModelTests.obamaFace
        return EnhanceFace(keypoints: f.keypoints.map { Point(nose.x + dx + ($0.x - nose.x) * scale, nose.y + ($0.y - nose.y) * scale) })
    }

    @Test func facesTooSmallForTheTemplateAreSkippedAndReported() throws {
        let engine = try Self.engine()
        let image = try ImageIO.read(EnhanceFixtures.sample("obama.jpg"))
        // Eyes 107 px apart; ×0.14 → 15 px (skipped), ×0.16 → 17 px (kept). A 12 px box is skipped too.
        var tinyBox = Self.face(scale: 0.5, dx: -300)
        tinyBox.box = Box(x: 190, y: 250, width: 12, height: 40)
        let faces = [Self.face(scale: 0.14, dx: 200), Self.face(scale: 0.16, dx: -200), tinyBox]
        let report = try engine.enhance(image.copy(), faces: faces)
        #expect(report.enhanced == [1])
        #expect(report.skipped.map(\.index) == [0, 2])
        #expect(report.skipped[0].reason.contains("under 16 px") && report.skipped[1].reason.contains("box"))
    }

    @Test func blendZeroLeavesTheImageAndOneIsThePaste() throws {
        let image = try ImageIO.read(EnhanceFixtures.sample("obama.jpg"))
        let (none, _) = try Self.engine(blend: 0).enhanced(image, faces: [Self.face()])
        #expect(EnhanceFixtures.difference(none, image).differing == 0)
        let (full, _) = try Self.engine(blend: 1).enhanced(image, faces: [Self.face()])
        let (most, _) = try Self.engine(blend: 0.8).enhanced(image, faces: [Self.face()])
        // The blend is addWeighted(original, 0.2, pasted, 0.8): every sample lies between the two.
        var outside = 0
        for y in stride(from: 0, to: image.height, by: 2) {
            for x in stride(from: 0, to: image.width, by: 2) {
                for c in 0..<3 {
                    let o = Double(image.byte(x: x, y: y, channel: c)), p = Double(full.byte(x: x, y: y, channel: c))
                    if abs(Double(most.byte(x: x, y: y, channel: c)) - (0.2 * o + 0.8 * p)) > 0.5 + 1e-6 { outside += 1 }
                }
            }
        }
        #expect(outside == 0)
        #expect(EnhanceFixtures.difference(full, image).differing > 10_000)
    }

    @Test func overlappingFacesShareOneRegion() throws {
        let a = RestoredFace(crop: Image(width: 256, height: 256), transform: try EnhancerAlignment.transform(keypoints: Self.face().keypoints, profile: .gpenBFR256))
        let b = RestoredFace(crop: Image(width: 256, height: 256), transform: try EnhancerAlignment.transform(keypoints: Self.face(dx: 60).keypoints, profile: .gpenBFR256))
        let c = RestoredFace(crop: Image(width: 256, height: 256), transform: try EnhancerAlignment.transform(keypoints: Self.face(scale: 0.3, dx: -380).keypoints, profile: .gpenBFR256))
        let rects = [a, b, c].map { SoftMaskPaste.region(of: $0, frameWidth: 910, frameHeight: 1137) }
        let groups = SoftMaskPaste.clusters(rects)
        #expect(groups.count == 2)
        #expect(groups.contains { $0.1 == [0, 1] } && groups.contains { $0.1 == [2] })
        // A face entirely outside the frame touches nothing.
        let away = RestoredFace(crop: Image(width: 256, height: 256), transform: Affine2D([1, 0, 5000, 0, 1, 5000]))
        #expect(SoftMaskPaste.region(of: away, frameWidth: 910, frameHeight: 1137) == nil)
    }

    @Test func badInputIsAClearError() throws {
        let engine = try Self.engine()
        let gray = Image(width: 640, height: 480, channels: 1)
        #expect(throws: VisageError.self) { try engine.enhance(gray, faces: [Self.face().keypoints]) }
        let image = try ImageIO.read(EnhanceFixtures.sample("obama.jpg"))
        #expect(throws: VisageError.self) { try engine.enhance(image, faces: [[Point(1, 2), Point(3, 4)]]) }
        #expect(throws: VisageError.self) { try engine.enhance(image, faces: [[Point](repeating: Point(.nan, 1), count: 5)]) }
        #expect(throws: VisageError.self) { try FaceEnhancementEngine(enhancer: engine.enhancer, options: EnhanceOptions(blend: 1.2)) }
        #expect(throws: VisageError.self) { try EnhancerFactory.make(model: "yunet-2023mar") }
        // Nothing was written by the failed calls.
        #expect(EnhanceFixtures.difference(image, try ImageIO.read(EnhanceFixtures.sample("obama.jpg"))).differing == 0)
    }

    @Test func stoppingLeavesTheImageUntouched() throws {
        let engine = try Self.engine()
        let image = try ImageIO.read(EnhanceFixtures.sample("obama.jpg"))
        let before = image.copy()
        var calls = 0
        let error = #expect(throws: VisageError.self) {
            try engine.enhance(image, faces: [Self.face(), Self.face(dx: 150)], shouldStop: { calls += 1; return calls > 1 })
        }
        #expect(error == .interrupted)
        #expect(EnhanceFixtures.difference(image, before).differing == 0)
    }
}
