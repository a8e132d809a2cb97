import Foundation

/// The CCNF neuron's logistic, 8 positions at a time: `(2α) / (1 + exp(−z))` with z and exp in float and the
/// division in double, as `CCNF_patch_expert::ResponseOpenBlas` evaluates it element by element.
///
/// The float exp is computed in double and rounded once, which gives the correctly rounded e^x; glibc's
/// `expf` is within 0.502 ulp of it, so the two differ by one float ulp in rare near-halfway cases only.
enum CCNFLogistic {
    private static let log2e = 1.4426950408889634
    /// ln 2 split so that k · ln2High is exact for |k| < 2^20.
    private static let ln2High = 0.6931471803691238
    private static let ln2Low = 1.9082149292705877e-10
    /// 1.5 · 2^52: adding it rounds to an integer and leaves that integer in the low mantissa bits.
    private static let shifter = 6755399441055744.0
    /// Outside this range float exp is 0 or +∞ (and 2α / (1 + e) is 2α or 0) whatever the exact value.
    private static let lowest = -110.0, highest = 100.0

    /// e^x for double x that are float values, accurate to a few 1e-15 relative (Taylor to degree 11 on
    /// |r| ≤ ln2 / 2 after x = k ln2 + r).
    @inline(__always)
    static func exp(_ x: SIMD4<Double>) -> SIMD4<Double> {
        let x = x.clamped(lowerBound: SIMD4(repeating: lowest), upperBound: SIMD4(repeating: highest))
        let t = x * log2e + shifter
        let k = t - shifter
        let r = (x - k * ln2High) - k * ln2Low
        var p = SIMD4<Double>(repeating: 1.0 / 39916800)
        p = p * r + 1.0 / 3628800
        p = p * r + 1.0 / 362880
        p = p * r + 1.0 / 40320
        p = p * r + 1.0 / 5040
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        // 2^k: the low mantissa bits of t hold k; move k + 1023 into the exponent field.
        let bits = (unsafeBitCast(t, to: SIMD4<UInt64>.self) &+ 1023) &<< 52
        return p * unsafeBitCast(bits, to: SIMD4<Double>.self)
    }

    /// `Float(exp(x))` for float x, 4 lanes.
    @inline(__always)
    static func expf(_ x: SIMD4<Float>) -> SIMD4<Float> {
        SIMD4<Float>(exp(SIMD4<Double>(x)))
    }

    /// r += Float(twoAlpha / (1 + Double(expf(−z)))) for 8 lanes.
    @inline(__always)
    static func accumulate(z: SIMD8<Float>, twoAlpha: Double, into r: inout SIMD8<Float>) {
        let lowE = expf(-z.lowHalf), highE = expf(-z.highHalf)
        let lowS = twoAlpha / (1 + SIMD4<Double>(lowE))
        let highS = twoAlpha / (1 + SIMD4<Double>(highE))
        r += SIMD8(lowHalf: SIMD4<Float>(lowS), highHalf: SIMD4<Float>(highS))
    }
}
