import CVisageKernels
import Foundation

/// `CCNF_patch_expert::ResponseOpenBlas` for one landmark, into caller-owned buffers.
///
/// 1. im2col with contrast normalisation (`im2colContrastNormBias`): every `width × height` patch of the
///    area of interest, mean-subtracted and scaled to unit norm (norm 0 → 1), with a leading 1 for the bias.
/// 2. Each contributing neuron: z = [bias, w·norm] · column, response += 2α / (1 + e^(−z)).
/// 3. response ← Σ · response (the CCNF's edge covariance), then shifted so its minimum is 0 if negative.
/// The result is row-major `window × window`, row = y offset in the area of interest.
///
/// Laid out for SIMD rather than BLAS: the im2col matrix is stored transposed (one row per patch element,
/// positions contiguous), so the neurons × positions product is an outer-product kernel over 4 neurons × 8
/// positions, and the normalisation runs over 8 neighbouring positions at once. Each position's sums keep
/// OpenFace's element order, so the normalised patch is bit-identical; the dot products sum their terms in
/// order (OpenBLAS's blocking differs by a few ulp either way).
struct CCNFResponseWorkspace {
    /// Transposed im2col: row k (0 = bias, 1 + y·w + x = patch element) holds every position's value.
    private var columns: [Float] = []
    private var means: [Float] = []
    private var inverseNorms: [Float] = []
    private var raw: [Float] = []
    /// Each neuron's z for every position (neurons × stride), filled by the wide kernel.
    private var neuronSums: [Float] = []

    /// Whether the AVX kernels run (`CVisageKernels`: bit-identical to the portable loops, about 8 floats
    /// per instruction instead of 4). `VISAGE_NO_AVX=1` forces the portable loops.
    static let wideKernels = visage_kernels_have_avx() != 0 && ProcessInfo.processInfo.environment["VISAGE_NO_AVX"] == nil
    /// The logistics in the AVX2 kernel too (its 2^k needs 64-bit integer lanes); else in Swift's SIMD.
    static let wideLogistics = wideKernels && visage_kernels_have_avx2() != 0

    /// Columns per im2col row: positions rounded up to 8 plus 8, because the normaliser stores 8 positions at
    /// a time and the last store of a row may run up to 7 positions past the window.
    static func paddedPositions(window: Int) -> Int { (window * window + 7) / 8 * 8 + 8 }

    /// Floats the area of interest buffer needs beyond `side²`: the normaliser reads 8 lanes past a row.
    static let areaOfInterestPadding = 16

    /// `aoi` must hold `side² + areaOfInterestPadding` floats with finite padding (side = window + width − 1).
    /// `wide` picks the AVX kernels (tests compare both paths).
    mutating func response(expert: CCNFPatchExpert, sigma: CCNFSigma, window: Int,
                           areaOfInterest aoi: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                           wide: Bool = CCNFResponseWorkspace.wideKernels) {
        let positions = window * window
        guard !expert.isEmpty else {
            out.initialize(repeating: 0, count: positions)
            return
        }
        let length = expert.rowLength
        let stride = Self.paddedPositions(window: window)
        if columns.count < stride * length { columns = [Float](repeating: 0, count: stride * length) }
        if means.count < stride {
            means = [Float](repeating: 0, count: stride)
            inverseNorms = means
            raw = means
        }
        columns.withUnsafeMutableBufferPointer { colBuffer in
            means.withUnsafeMutableBufferPointer { meanBuffer in
                inverseNorms.withUnsafeMutableBufferPointer { inverseBuffer in
                    raw.withUnsafeMutableBufferPointer { rawBuffer in
                        let cols = colBuffer.baseAddress!, r = rawBuffer.baseAddress!
                        if wide {
                            visage_ccnf_normalised_columns_avx(aoi, window, expert.width, expert.height, stride,
                                                               meanBuffer.baseAddress!, inverseBuffer.baseAddress!, cols)
                        } else {
                            Self.normalisedColumns(aoi: aoi, window: window, width: expert.width, height: expert.height,
                                                   stride: stride, means: meanBuffer.baseAddress!,
                                                   inverseNorms: inverseBuffer.baseAddress!, into: cols)
                        }
                        r.update(repeating: 0, count: stride)
                        let neurons = expert.twoAlphas.count
                        if wide && neuronSums.count < neurons * stride {
                            neuronSums = [Float](repeating: 0, count: neurons * stride)
                        }
                        expert.weightRows.withUnsafeBufferPointer { weights in
                            expert.twoAlphas.withUnsafeBufferPointer { twoAlphas in
                                if wide {
                                    neuronSums.withUnsafeMutableBufferPointer { z in
                                        visage_ccnf_neuron_sums_avx(weights.baseAddress!, neurons, length, cols, stride, positions,
                                                                    z.baseAddress!)
                                        if Self.wideLogistics {
                                            visage_ccnf_accumulate_logistics_avx2(z.baseAddress!, twoAlphas.baseAddress!, neurons,
                                                                                  stride, positions, r)
                                        } else {
                                            Self.accumulateLogistics(neuronSums: z.baseAddress!, twoAlphas: twoAlphas.baseAddress!,
                                                                     neurons: neurons, stride: stride, positions: positions, into: r)
                                        }
                                    }
                                } else {
                                    Self.neuronResponses(weights: weights.baseAddress!, twoAlphas: twoAlphas.baseAddress!,
                                                         neurons: neurons, length: length, columns: cols,
                                                         stride: stride, positions: positions, into: r)
                                }
                            }
                        }
                        sigma.withUnsafeBufferPointer { s in
                            if wide {
                                visage_ccnf_sigma_product_avx(s.baseAddress!, sigma.stride, positions, r, out)
                            } else {
                                Self.multiply(sigmaTransposed: s.baseAddress!, stride: sigma.stride, positions: positions,
                                              vector: r, into: out)
                            }
                        }
                    }
                }
            }
        }
        var minimum = Float.infinity
        for p in 0..<positions { minimum = min(minimum, out[p]) }
        if minimum < 0 {
            for p in 0..<positions { out[p] -= minimum }
        }
    }

    @inline(__always)
    private static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    private static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// `im2colContrastNormBias`, transposed: 8 horizontally neighbouring positions per step. Lanes past the
    /// window's row compute garbage (finite: they read the padded area of interest) that later rows overwrite
    /// or that lies in the padding.
    private static func normalisedColumns(aoi: UnsafePointer<Float>, window: Int, width w: Int, height h: Int,
                                          stride: Int, means: UnsafeMutablePointer<Float>,
                                          inverseNorms: UnsafeMutablePointer<Float>, into cols: UnsafeMutablePointer<Float>) {
        let side = window + w - 1
        let patchSize = SIMD8<Float>(repeating: Float(w * h))
        for i in 0..<window {
            var jb = 0
            while jb < window {
                let base = aoi + i * side + jb
                var sum = SIMD8<Float>()
                for yy in 0..<h {
                    let row = base + yy * side
                    for xx in 0..<w { sum += load8(row + xx) }
                }
                let mean = sum / patchSize
                var sumSquares = SIMD8<Float>()
                for yy in 0..<h {
                    let row = base + yy * side
                    for xx in 0..<w {
                        let v = load8(row + xx) - mean
                        sumSquares += v * v
                    }
                }
                var inverse = SIMD8<Float>()
                for lane in 0..<8 {
                    var norm = sumSquares[lane].squareRoot()
                    if norm == 0 { norm = 1 }
                    inverse[lane] = Float(1.0 / Double(norm))
                }
                store8(mean, means + i * window + jb)
                store8(inverse, inverseNorms + i * window + jb)
                jb += 8
            }
        }
        // Bias row, then one row per patch element (y-major as the weights are stored).
        cols.update(repeating: 1, count: stride)
        for yy in 0..<h {
            for xx in 0..<w {
                let dst = cols + (1 + yy * w + xx) * stride
                for i in 0..<window {
                    let src = aoi + (i + yy) * side + xx
                    var jb = 0
                    while jb < window {
                        let p = i * window + jb
                        let v = load8(src + jb) - load8(means + p)
                        store8(v * load8(inverseNorms + p), dst + p)
                        jb += 8
                    }
                }
            }
        }
    }

    /// Weights (neurons × length, row-major) times the transposed im2col, 4 neurons × 8 positions per tile, each
    /// neuron's logistic (`CCNFLogistic`) added to `r` in neuron order as OpenFace does. The last tile repeats the last neuron
    /// to fill its rows and discards them.
    private static func neuronResponses(weights: UnsafePointer<Float>, twoAlphas: UnsafePointer<Double>, neurons: Int,
                                        length: Int, columns: UnsafePointer<Float>, stride: Int, positions: Int,
                                        into r: UnsafeMutablePointer<Float>) {
        var n0 = 0
        while n0 < neurons {
            let active = min(4, neurons - n0)
            let w0 = weights + n0 * length
            let w1 = weights + min(n0 + 1, neurons - 1) * length
            let w2 = weights + min(n0 + 2, neurons - 1) * length
            let w3 = weights + min(n0 + 3, neurons - 1) * length
            var p = 0
            while p < positions {
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                var c = columns + p
                for k in 0..<length {
                    let v = load8(c)
                    a0 += v * w0[k]
                    a1 += v * w1[k]
                    a2 += v * w2[k]
                    a3 += v * w3[k]
                    c += stride
                }
                // Lanes past the last position land in r's padding.
                var sums = load8(r + p)
                CCNFLogistic.accumulate(z: a0, twoAlpha: twoAlphas[n0], into: &sums)
                if active > 1 { CCNFLogistic.accumulate(z: a1, twoAlpha: twoAlphas[n0 + 1], into: &sums) }
                if active > 2 { CCNFLogistic.accumulate(z: a2, twoAlpha: twoAlphas[n0 + 2], into: &sums) }
                if active > 3 { CCNFLogistic.accumulate(z: a3, twoAlpha: twoAlphas[n0 + 3], into: &sums) }
                store8(sums, r + p)
                p += 8
            }
            n0 += 4
        }
    }

    /// r += each neuron's logistic of its z (from the wide kernel), in neuron order as `neuronResponses` adds them.
    private static func accumulateLogistics(neuronSums z: UnsafePointer<Float>, twoAlphas: UnsafePointer<Double>, neurons: Int,
                                            stride: Int, positions: Int, into r: UnsafeMutablePointer<Float>) {
        var p = 0
        while p < positions {
            // Lanes past the last position land in r's padding.
            var sums = load8(r + p)
            for n in 0..<neurons { CCNFLogistic.accumulate(z: load8(z + n * stride + p), twoAlpha: twoAlphas[n], into: &sums) }
            store8(sums, r + p)
            p += 8
        }
    }

    /// out = Σ · r with Σ stored transposed (column q of Σ contiguous, `stride` floats), 32 outputs per pass.
    private static func multiply(sigmaTransposed s: UnsafePointer<Float>, stride: Int, positions: Int,
                                 vector r: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        var p = 0
        while p + 32 <= positions {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var column = s + p
            for q in 0..<positions {
                let v = r[q]
                a0 += load8(column) * v
                a1 += load8(column + 8) * v
                a2 += load8(column + 16) * v
                a3 += load8(column + 24) * v
                column += stride
            }
            store8(a0, out + p); store8(a1, out + p + 8); store8(a2, out + p + 16); store8(a3, out + p + 24)
            p += 32
        }
        while p < positions {
            var a0 = SIMD8<Float>()
            var column = s + p
            for q in 0..<positions {
                a0 += load8(column) * r[q]
                column += stride
            }
            let lanes = min(8, positions - p)
            for lane in 0..<lanes { out[p + lane] = a0[lane] }
            p += 8
        }
    }

    /// Float dot product, eight lanes at a time (BLAS-like blocked summation).
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i + 16 <= count {
            acc0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            acc1 += ra.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self)
            i += 16
        }
        while i + 8 <= count {
            acc0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        var sum = (acc0 + acc1).sum()
        while i < count {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }
}
