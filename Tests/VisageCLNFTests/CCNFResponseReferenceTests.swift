import Foundation
import Testing
import VisageCore
@testable import VisageCLNF

/// The optimised CCNF response (transposed im2col, tiled neuron product, transposed Σ; portable loops and AVX
/// kernels) against the straightforward form of `CCNF_patch_expert::ResponseOpenBlas` kept here: row-major im2col, one dot product
/// per neuron and position, Σ · r row by row, all summed in order.
@Suite struct CCNFResponseReferenceTests {
    static func referenceResponse(expert: CCNFPatchExpert, sigma: [Float], window: Int, aoi: [Float]) -> [Float] {
        let positions = window * window
        guard !expert.isEmpty else { return [Float](repeating: 0, count: positions) }
        let w = expert.width, h = expert.height, side = window + w - 1, length = expert.rowLength
        var columns = [Float](repeating: 0, count: positions * length)
        for i in 0..<window {
            for j in 0..<window {
                let row = (i * window + j) * length
                columns[row] = 1
                var sum: Float = 0
                for yy in 0..<h {
                    for xx in 0..<w {
                        let v = aoi[(i + yy) * side + j + xx]
                        sum += v
                        columns[row + 1 + yy * w + xx] = v
                    }
                }
                let mean = sum / Float(w * h)
                var sumSquares: Float = 0
                for k in 1..<length {
                    columns[row + k] -= mean
                    sumSquares += columns[row + k] * columns[row + k]
                }
                var norm = sumSquares.squareRoot()
                if norm == 0 { norm = 1 }
                let inverse = Float(1.0 / Double(norm))
                for k in 1..<length { columns[row + k] *= inverse }
            }
        }
        var r = [Float](repeating: 0, count: positions)
        for k in 0..<expert.activeNeuronCount {
            for p in 0..<positions {
                var z: Float = 0
                for e in 0..<length { z += expert.weightRows[k * length + e] * columns[p * length + e] }
                r[p] += Float(expert.twoAlphas[k] / (1.0 + Double(exp(-z))))
            }
        }
        var out = [Float](repeating: 0, count: positions)
        for p in 0..<positions {
            var v: Float = 0
            for q in 0..<positions { v += sigma[p * positions + q] * r[q] }
            out[p] = v
        }
        let minimum = out.min() ?? 0
        if minimum < 0 { for p in 0..<positions { out[p] -= minimum } }
        return out
    }

    /// Every visible landmark of the main model (three scales, frontal and a side view) and of a part model,
    /// at every window size OpenFace uses, on areas of interest cut from a real frame around OpenFace's
    /// landmarks.
    @Test func optimisedResponseMatchesReferenceOnRealPatches() throws {
        let model = try CLNFTestSupport.mainModel.get()
        let reference = try CLNFTestSupport.referenceFrames(try CLNFTestSupport.referenceTable("default"))
        let frames = try CLNFTestSupport.frames("default.wmv", count: 1)
        let gray = frames[0].1
        let landmarks = reference[0].landmarks
        var workspace = CCNFResponseWorkspace()
        var worst = 0.0, worstCase = "none", compared = 0, wideDiffers = 0
        for clnf in [model.main, model.parts[1].model] {
            let n = clnf.pointCount
            for (scale, level) in clnf.patchExperts.scales.enumerated() {
                for view in [0, min(1, level.viewCount - 1)] {
                    for window in [3, 5, 7, 9, 11] {
                        let rowMajor = (level.sigmaComponents[window] ?? clnf.patchExperts.sigmaComponents[window]) ?? []
                        for i in 0..<n where level.visibilities[view][i] {
                            let expert = level.experts[view][i]
                            guard !expert.isEmpty else { continue }
                            let side = window + expert.width - 1
                            // Main-model landmark i (or an eye-region point for the eye model), at the scale's
                            // patch resolution: one reference pixel per 1/patchScaling image pixels.
                            let k = clnf.pointCount == 68 ? i : 36 + i % 12
                            let lx = landmarks[k], ly = landmarks[k + 68]
                            let a = Double(reference[0].global.scale) / level.patchScaling
                            let step = 1 / a
                            let m = (step, 0.0, Double(lx) - step * Double(side - 1) / 2,
                                     0.0, step, Double(ly) - step * Double(side - 1) / 2)
                            var aoi = [Float](repeating: 0, count: side * side + CCNFResponseWorkspace.areaOfInterestPadding)
                            aoi.withUnsafeMutableBufferPointer { CLNFAreaOfInterest.extract(gray: gray, m: m, side: side, into: $0.baseAddress!) }
                            let sigmaRowMajor = CCNFSigmas.sigma(expert: expert, components: rowMajor, window: window)
                            let expected = Self.referenceResponse(expert: expert, sigma: sigmaRowMajor, window: window, aoi: aoi)
                            var got = [Float](repeating: .nan, count: window * window)
                            let sigma = CCNFSigma(rowMajor: sigmaRowMajor, positions: window * window)
                            got.withUnsafeMutableBufferPointer { out in
                                aoi.withUnsafeBufferPointer { a in
                                    workspace.response(expert: expert, sigma: sigma, window: window,
                                                       areaOfInterest: a.baseAddress!, into: out.baseAddress!)
                                }
                            }
                            var portable = [Float](repeating: .nan, count: window * window)
                            portable.withUnsafeMutableBufferPointer { out in
                                aoi.withUnsafeBufferPointer { a in
                                    workspace.response(expert: expert, sigma: sigma, window: window,
                                                       areaOfInterest: a.baseAddress!, into: out.baseAddress!, wide: false)
                                }
                            }
                            if got.map(\.bitPattern) != portable.map(\.bitPattern) { wideDiffers += 1 }
                            let scaleOfResponse = Double(expected.map(abs).max() ?? 0)
                            #expect(scaleOfResponse > 0, "\(clnf.name) scale \(scale) view \(view) window \(window) landmark \(i): zero response")
                            let delta = zip(got, expected).map { Double(abs($0 - $1)) }.max() ?? .infinity
                            let relative = delta / max(scaleOfResponse, 1e-30)
                            if !(relative <= worst) { worst = relative; worstCase = "\(clnf.name) scale \(scale) view \(view) window \(window) landmark \(i)" }
                            compared += 1
                        }
                    }
                }
            }
        }
        print("CCNF response vs reference: \(compared) responses, worst relative difference \(worst) (\(worstCase)); "
              + "AVX kernels \(CCNFResponseWorkspace.wideKernels ? "on" : "unavailable"), \(wideDiffers) responses differ from the portable loops")
        // The wide kernels do the same operations in the same order: bit-identical, not merely close.
        #expect(wideDiffers == 0, "\(wideDiffers) responses differ between the AVX kernels and the portable loops")
        #expect(compared > 1500, "compared \(compared) responses")
        #expect(worst <= 1e-4, "worst relative difference \(worst) at \(worstCase)")
    }

    /// The vector exp behind the logistic against glibc's `expf` on four million floats across the range the
    /// neurons produce, plus the overflow and underflow ends.
    @Test func vectorExpMatchesFloatExp() {
        var mismatches = 0, worstUlps = 0, compared = 0
        var x: Float = -105
        let stepSize: Float = 200.0 / 1_000_000
        while x < 95 {
            let v = SIMD4<Float>(x, x + stepSize / 4, x + stepSize / 2, x + 3 * stepSize / 4)
            let got = CCNFLogistic.expf(v)
            for lane in 0..<4 {
                let expected = Foundation.exp(v[lane])
                compared += 1
                if got[lane] != expected {
                    mismatches += 1
                    let ulps = abs(Int(got[lane].bitPattern) - Int(expected.bitPattern))
                    worstUlps = max(worstUlps, ulps)
                }
            }
            x += stepSize
        }
        print("vector expf: \(mismatches) of \(compared) differ from glibc, by at most \(worstUlps) ulp")
        #expect(worstUlps <= 1, "worst difference \(worstUlps) ulp")
        // glibc is within 0.502 ulp of e^x, so near-halfway cases (a few in ten thousand) round the other way.
        #expect(Double(mismatches) / Double(compared) < 2e-3, "\(mismatches) of \(compared) differ")
        let ends = CCNFLogistic.expf(SIMD4<Float>(-200, 200, 0, -Float.greatestFiniteMagnitude))
        #expect(ends == SIMD4<Float>(0, .infinity, 1, 0), "exp at the ends: \(ends)")
    }
}
