import Foundation
import Testing
import VisageCore
import VisageFace
import VisageMedia

/// Alignment matrices against insightface's `estimate_norm` (112 arcface, 128 inswapper) and
/// facexlib's FFHQ-512 LMEDS fit, on the keypoints of 45 real faces
/// (Fixtures/alignment_reference.json, made by scripts/reference/alignment_reference.py).
@Suite struct AlignmentTests {
    struct Reference: Decodable {
        struct Face: Decodable { let image: String; let kps: [[Double]]; let M112: [[Double]]; let M128: [[Double]]; let M512_ffhq: [[Double]] }
        let faces: [Face]
        let crop_means: [String: [Double]]
    }

    static func reference() throws -> Reference {
        let url = try #require(Bundle.module.url(forResource: "alignment_reference", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    static func maxDifference(_ m: Affine2D, _ r: [[Double]]) -> Double {
        zip(m.m, r.flatMap { $0 }).map { abs($0 - $1) }.max()!
    }

    @Test func matchesInsightfaceEstimateNorm() throws {
        let reference = try Self.reference()
        #expect(reference.faces.count >= 40)
        for face in reference.faces {
            let kps = face.kps.map { ($0[0], $0[1]) }
            for (template, expected) in [(AlignmentTemplate.arcface112, face.M112), (AlignmentTemplate.inswapper128, face.M128)] {
                let m = try FaceAlignment.umeyama(from: kps, to: template.points.map { (Double($0.x), Double($0.y)) })
                #expect(Self.maxDifference(m, expected) < 1e-4, "\(face.image) \(template.name): \(m.m) vs \(expected)")
            }
        }
    }

    @Test func ffhqTemplateFollowsFacexlib() throws {
        var close = 0
        let faces = try Self.reference().faces
        for face in faces {
            let m = try FaceAlignment.estimate(face.kps.map { Point(Float($0[0]), Float($0[1])) }, to: .ffhq512)
            if Self.maxDifference(m, face.M512_ffhq) < 1e-2 { close += 1 }
        }
        // LMEDS picks the best subset; float32 keypoints can tip a near-tie on a few faces.
        #expect(close >= faces.count - 2, "\(close) of \(faces.count) FFHQ matrices match facexlib")
    }

    @Test func normCropGivesInsightfacesCrop() throws {
        let reference = try Self.reference()
        let faces = reference.faces.filter { $0.image == "face_recognition/obama.jpg" }
        let face = try #require(faces.first)
        let frame = try ImageIO.read(TestEnvironment.media("images/" + face.image))
        let aligned = try FaceAlignment.crop(frame, keypoints: face.kps.map { Point(Float($0[0]), Float($0[1])) }, template: .arcface112)
        #expect(aligned.crop.width == 112 && aligned.crop.height == 112)
        let expected = try #require(reference.crop_means["face_recognition/obama.jpg#0"])
        for c in 0..<3 {
            var sum = 0.0
            for y in 0..<112 { for x in 0..<112 { sum += Double(aligned.crop.byte(x: x, y: y, channel: c)) } }
            #expect(abs(sum / (112 * 112) - expected[c]) < 0.5, "channel \(c)")
        }
        // The inverse takes crop pixels back to frame pixels.
        let nose = Point(Float(face.kps[2][0]), Float(face.kps[2][1]))
        let back = aligned.inverse.apply(aligned.transform.apply(nose))
        #expect(abs(back.x - nose.x) < 1e-3 && abs(back.y - nose.y) < 1e-3)
    }
}
