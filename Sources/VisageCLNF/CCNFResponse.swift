import Foundation

/// `CCNF_patch_expert::ResponseOpenBlas` for one landmark, into caller-owned buffers.
///
/// 1. im2col with contrast normalisation (`im2colContrastNormBias`): every `width × height` patch of the
///    area of interest, mean-subtracted and scaled to unit norm (norm 0 → 1), with a leading 1 for the bias.
/// 2. Each contributing neuron: z = [bias, w·norm] · column, response += 2α / (1 + e^(−z)).
/// 3. response ← Σ · response (the CCNF's edge covariance), then shifted so its minimum is 0 if negative.
/// The result is row-major `window × window`, row = y offset in the area of interest.
struct CCNFResponseWorkspace {
    private var columns: [Float] = []
    private var raw: [Float] = []

    mutating func response(expert: CCNFPatchExpert, sigma: [Float], window: Int,
                           areaOfInterest aoi: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let positions = window * window
        guard !expert.isEmpty else {
            out.initialize(repeating: 0, count: positions)
            return
        }
        let w = expert.width, h = expert.height, side = window + w - 1
        let length = expert.rowLength
        if columns.count < positions * length { columns = [Float](repeating: 0, count: positions * length) }
        if raw.count < positions { raw = [Float](repeating: 0, count: positions) }
        let patchSize = Float(w * h)
        columns.withUnsafeMutableBufferPointer { colBuffer in
            let cols = colBuffer.baseAddress!
            for i in 0..<window {
                for j in 0..<window {
                    let row = cols + (i * window + j) * length
                    row[0] = 1
                    var sum: Float = 0
                    for yy in 0..<h {
                        let src = aoi + (i + yy) * side + j
                        let dst = row + 1 + yy * w
                        for xx in 0..<w {
                            let v = src[xx]
                            sum += v
                            dst[xx] = v
                        }
                    }
                    let mean = sum / patchSize
                    var sumSquares: Float = 0
                    for k in 1..<length {
                        let v = row[k] - mean
                        row[k] = v
                        sumSquares += v * v
                    }
                    var norm = sumSquares.squareRoot()
                    if norm == 0 { norm = 1 }
                    let inverse = Float(1.0 / Double(norm))
                    for k in 1..<length { row[k] *= inverse }
                }
            }
            raw.withUnsafeMutableBufferPointer { rawBuffer in
                let r = rawBuffer.baseAddress!
                r.initialize(repeating: 0, count: positions)
                expert.weightRows.withUnsafeBufferPointer { weights in
                    for k in 0..<expert.activeNeuronCount {
                        let wRow = weights.baseAddress! + k * length
                        let twoAlpha = expert.twoAlphas[k]
                        for p in 0..<positions {
                            let z = Self.dot(wRow, cols + p * length, length)
                            r[p] += Float(twoAlpha / (1.0 + Double(exp(-z))))
                        }
                    }
                }
                sigma.withUnsafeBufferPointer { s in
                    var minimum = Float.infinity
                    for p in 0..<positions {
                        let v = Self.dot(s.baseAddress! + p * positions, r, positions)
                        out[p] = v
                        minimum = min(minimum, v)
                    }
                    if minimum < 0 {
                        for p in 0..<positions { out[p] -= minimum }
                    }
                }
            }
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
