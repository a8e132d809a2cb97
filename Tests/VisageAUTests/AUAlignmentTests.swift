import Foundation
import Testing
import VisageAU
import VisageCore
import VisageMedia

/// FaceAnalyser's masked 112×112 aligned face against OpenFace's own `-simalign` BMPs of default.wmv.
@Suite struct AUAlignmentTests {
    static let video = AUTestEnvironment.shared.appendingPathComponent("media/video/openface/default.wmv").path
    static let alignedDirectory = AUTestEnvironment.reference.appendingPathComponent("default_hogalign/default_aligned")
    static let frames = [1, 50, 100, 200, 288]

    /// Frames `wanted` (1-based) of default.wmv, decoding sequentially as OpenFace's reader does.
    static func decodeFrames(_ wanted: [Int]) throws -> [Int: Image] {
        let reader = try VideoReader(path: video)
        var out: [Int: Image] = [:]
        var index = 0
        while let frame = try reader.read() {
            index += 1
            if wanted.contains(index) { out[index] = frame }
            if index >= wanted.max() ?? 0 { break }
        }
        return out
    }

    struct Comparison {
        var stats = ErrorStats()
        var over1 = 0, over8 = 0
        /// Pixels masked (all channels 0) in exactly one of the two images.
        var maskDisagreements = 0
    }

    static func compare(_ ours: Image, _ theirs: Image, into result: inout Comparison) {
        for y in 0..<ours.height {
            for x in 0..<ours.width {
                var oursZero = true, theirsZero = true
                for c in 0..<3 {
                    let a = ours.byte(x: x, y: y, channel: c), b = theirs.byte(x: x, y: y, channel: c)
                    oursZero = oursZero && a == 0
                    theirsZero = theirsZero && b == 0
                    let d = abs(Int(a) - Int(b))
                    result.stats.add(Double(d))
                    if d > 1 { result.over1 += 1 }
                    if d > 8 { result.over8 += 1 }
                }
                if oursZero != theirsZero { result.maskDisagreements += 1 }
            }
        }
    }

    /// OpenFace aligned with its unrounded landmarks; the CSV holds them to 0.1 px. Restored from the CSV's
    /// own PDM parameters (`OpenFaceShapeRecovery`, what `--landmarks-from` does) they give OpenFace's crop
    /// up to interpolation rounding; as written, a few mask-edge pixels per frame flip. Parameters from our
    /// CalcParams, as FaceAnalyser::AddNextFrame does.
    @Test(arguments: [true, false]) func maskedAlignedFaceMatchesOpenFaceBMPs(restored: Bool) throws {
        let pdm = try PointDistributionModel(contentsOf: OpenFaceReferenceFrames.pdmURL)
        let aligner = try AUFaceAligner(pdm: pdm, triangulation: OpenFaceReferenceFrames.trianglesURL)
        let reference = try OpenFaceReferenceFrames()
        let recovery = OpenFaceShapeRecovery(pdm: pdm)
        let decoded = try Self.decodeFrames(Self.frames)
        var fitter = PDMFitter(pdm: pdm)
        let output = Image(width: 112, height: 112, channels: 3)
        var total = Comparison()
        var lines: [String] = []
        for frame in Self.frames {
            let image = try #require(decoded[frame], "frame \(frame) not decoded")
            var landmarks = reference.landmarks(frame: frame)
            if restored {
                let n = landmarks.count
                let flat = landmarks.map(\.x) + landmarks.map(\.y)
                let csvFit = PDMFit(global: reference.global(frame: frame), local: reference.local(frame: frame))
                let recovered = try #require(recovery.recover(landmarks: flat, fit: csvFit), "frame \(frame)")
                landmarks = (0..<n).map { Point(recovered.landmarks[$0], recovered.landmarks[n + $0]) }
            }
            let fit = fitter.fit(landmarks: landmarks)
            try aligner.align(frame: image, landmarks: landmarks, global: fit.global, into: output)
            let bmp = try ImageIO.read(Self.alignedDirectory.appendingPathComponent(String(format: "frame_det_00_%06d.bmp", frame)).path)
            #expect(bmp.width == 112 && bmp.height == 112 && bmp.channels == 3)
            var one = Comparison()
            Self.compare(output, bmp, into: &one)
            Self.compare(output, bmp, into: &total)
            lines.append("frame \(frame): abs diff \(one.stats), >1: \(one.over1), >8: \(one.over8), mask disagreements \(one.maskDisagreements) px")
        }
        let samples = Double(total.stats.count)
        let report = lines.joined(separator: "\n") + String(format: "\nall: mean %.4f, max %.0f, %.3f%% of samples >1, %.3f%% >8, %d mask disagreements",
                                                             total.stats.mean, total.stats.max, 100 * Double(total.over1) / samples,
                                                             100 * Double(total.over8) / samples, total.maskDisagreements)
        print("AU alignment vs OpenFace BMP (\(restored ? "landmarks restored from the CSV's parameters" : "CSV landmarks as written")):\n\(report)")
        if restored {
            #expect(total.stats.mean <= 0.04, "\(report)")
            #expect(Double(total.over8) / samples < 0.0002, "\(report)")
            #expect(total.maskDisagreements <= Self.frames.count, "\(report)")
        } else {
            #expect(total.stats.mean <= 1.0, "\(report)")
            #expect(Double(total.over8) / samples < 0.01, "\(report)")
            #expect(total.maskDisagreements <= 10 * Self.frames.count, "\(report)")
        }
    }

    /// The warp is a similarity (a = d, b = −c) that sends the PDM's translation to the crop centre.
    @Test func warpIsSimilarityCentredOnTranslation() throws {
        let pdm = try PointDistributionModel(contentsOf: OpenFaceReferenceFrames.pdmURL)
        let aligner = try AUFaceAligner(pdm: pdm, triangulation: OpenFaceReferenceFrames.trianglesURL)
        let reference = try OpenFaceReferenceFrames()
        let landmarks = reference.landmarks(frame: 100)
        let global = pdm.calcParams(landmarks: landmarks).global
        let m = aligner.warpMatrix(landmarks: landmarks, global: global).m
        #expect(abs(m[0] - m[4]) < 1e-6 && abs(m[1] + m[3]) < 1e-6)
        let centre = Affine2D(m).apply(Point(global.tx, global.ty))
        #expect(abs(centre.x - 56) < 1e-3 && abs(centre.y - 56) < 1e-3, "\(centre)")
        // Scale: crop pixels per frame pixel = 0.7 / PDM scale, up to how the rigid points fit.
        let scale = (m[0] * m[0] + m[1] * m[1]).squareRoot()
        #expect(abs(scale * Double(global.scale) / 0.7 - 1) < 0.05, "warp scale \(scale), PDM scale \(global.scale)")
    }

    @Test func rejectsWrongOutputBuffer() throws {
        let pdm = try PointDistributionModel(contentsOf: OpenFaceReferenceFrames.pdmURL)
        let aligner = try AUFaceAligner(pdm: pdm, triangulation: OpenFaceReferenceFrames.trianglesURL)
        let landmarks = try OpenFaceReferenceFrames().landmarks(frame: 1)
        let global = pdm.calcParams(landmarks: landmarks).global
        let frame = Image(width: 320, height: 240, channels: 3)
        #expect(throws: VisageError.self) {
            try aligner.align(frame: frame, landmarks: landmarks, global: global, into: Image(width: 100, height: 112, channels: 3))
        }
        #expect(throws: VisageError.self) {
            try aligner.align(frame: frame, landmarks: Array(landmarks.prefix(60)), global: global, into: Image(width: 112, height: 112, channels: 3))
        }
    }

    /// Timing only (no assertion): one align (warp + mask) per frame.
    @Test func alignTiming() throws {
        let pdm = try PointDistributionModel(contentsOf: OpenFaceReferenceFrames.pdmURL)
        let aligner = try AUFaceAligner(pdm: pdm, triangulation: OpenFaceReferenceFrames.trianglesURL)
        let landmarks = try OpenFaceReferenceFrames().landmarks(frame: 1)
        let global = pdm.calcParams(landmarks: landmarks).global
        let frame = try #require(Self.decodeFrames([1])[1])
        let output = Image(width: 112, height: 112, channels: 3)
        try aligner.align(frame: frame, landmarks: landmarks, global: global, into: output)
        let clock = ContinuousClock()
        let runs = 50
        let elapsed = try clock.measure { for _ in 0..<runs { try aligner.align(frame: frame, landmarks: landmarks, global: global, into: output) } }
        print("align (warp + mask): \(elapsed / runs) per face (this build's optimisation level)")
    }
}
