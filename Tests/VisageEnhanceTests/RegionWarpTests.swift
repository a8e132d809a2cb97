import Foundation
import Testing
import VisageCore
import VisageMedia

/// The OpenCV primitives paste-back is built on: a region of a warp must be the full-frame warp's pixels
/// exactly (facexlib warps whole frames), and addWeighted must be OpenCV's.
@Suite struct RegionWarpTests {
    /// A 512 crop's similarity transform into a 960×540 frame, partly outside it on the right.
    static let inverse = Affine2D([0.31, -0.07, 771.4, 0.07, 0.31, 201.9])

    @Test(arguments: [(0, 0), (700, 150), (890, 230)])
    func regionOfAWarpIsTheFullWarpsPixels(origin: (Int, Int)) throws {
        let crop = EnhanceFixtures.texturedFrame(width: 512, height: 512)
        let full = try ImageOps.warpAffine(crop, Self.inverse, width: 960, height: 540)
        let w = min(240, 960 - origin.0), h = min(160, 540 - origin.1)
        let region = Image(width: w, height: h, channels: 3)
        try ImageOps.warpAffine(crop, Self.inverse, into: region, origin: origin)
        let expected = try #require(full.region(x: origin.0, y: origin.1, width: w, height: h)).copy()
        #expect(EnhanceFixtures.difference(region, expected).differing == 0)

        // float32 masks too (the warped square of ones).
        let ones = Image(width: 512, height: 512, channels: 1, depth: .float32)
        ones.baseAddress.initializeMemory(as: Float.self, repeating: 1, count: 512 * 512)
        let fullMask = try ImageOps.warpAffine(ones, Self.inverse, width: 960, height: 540)
        let regionMask = Image(width: w, height: h, channels: 1, depth: .float32)
        try ImageOps.warpAffine(ones, Self.inverse, into: regionMask, origin: origin)
        var mismatches = 0, nonzero = 0
        for y in 0..<h {
            let a = regionMask.baseAddress.advanced(by: y * regionMask.stride).assumingMemoryBound(to: Float.self)
            let b = fullMask.baseAddress.advanced(by: (y + origin.1) * fullMask.stride).assumingMemoryBound(to: Float.self)
            for x in 0..<w {
                if a[x].bitPattern != b[x + origin.0].bitPattern { mismatches += 1 }
                if a[x] != 0 { nonzero += 1 }
            }
        }
        #expect(mismatches == 0)
        if origin != (0, 0) { #expect(nonzero > 0, "the region should see part of the face") }
    }

    @Test func shiftingTheMatrixInsteadIsNotExact() throws {
        // Why the region warp exists: warping a region with a translated matrix rounds coordinates
        // differently from the full-frame warp, which the noisy twin output turns into visible differences.
        let crop = EnhanceFixtures.texturedFrame(width: 512, height: 512)
        let full = try ImageOps.warpAffine(crop, Self.inverse, width: 960, height: 540)
        var shifted = Self.inverse
        shifted.m[2] -= 700
        shifted.m[5] -= 150
        let naive = try ImageOps.warpAffine(crop, shifted, width: 240, height: 160)
        let expected = try #require(full.region(x: 700, y: 150, width: 240, height: 160)).copy()
        #expect(EnhanceFixtures.difference(naive, expected).differing > 0)
    }

    @Test func addWeightedRoundsLikeOpenCV() throws {
        let a = EnhanceFixtures.texturedFrame(width: 64, height: 32, seed: 1)
        let b = EnhanceFixtures.texturedFrame(width: 64, height: 32, seed: 2)
        let out = Image(width: 64, height: 32, channels: 3)
        try ImageOps.addWeighted(a, alpha: 1 - 0.8, b, beta: 0.8, into: out)
        var worst: Float = 0
        for y in 0..<32 {
            for x in 0..<64 {
                for c in 0..<3 {
                    let exact = Float(a.byte(x: x, y: y, channel: c)) * 0.2 + Float(b.byte(x: x, y: y, channel: c)) * 0.8
                    worst = max(worst, abs(exact - Float(out.byte(x: x, y: y, channel: c))))
                }
            }
        }
        #expect(worst <= 0.5 + 1e-4)
        // In place into one of the inputs, as the blend stage does.
        try ImageOps.addWeighted(a, alpha: 0.2, b, beta: 0.8, into: b)
        #expect(EnhanceFixtures.difference(out, b).differing == 0)
        // Mismatched sizes are an error, not a reallocation.
        #expect(throws: VisageError.self) { try ImageOps.addWeighted(a, alpha: 0.5, b, beta: 0.5, into: Image(width: 8, height: 8)) }
    }
}
