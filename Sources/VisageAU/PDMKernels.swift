/// The dense linear algebra of `PDMFitter`: Gram matrix, dot products and a Cholesky solve, written so that
/// independent accumulators keep the CPU's pipelines busy (a single running sum is latency-bound and was
/// most of CalcParams' time).
public enum PDMKernels {
    /// Float dot product over `length` values (a multiple of 8), eight lanes at a time.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, length: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var k = 0
        while k + 16 <= length {
            acc0 += load8(a + k) * load8(b + k)
            acc1 += load8(a + k + 8) * load8(b + k + 8)
            k += 16
        }
        if k < length { acc0 += load8(a + k) * load8(b + k) }
        return (acc0 + acc1).sum()
    }

    /// Rows 0..<rows of the symmetric matrix G[a][b] = ⟨column a, column b⟩ of `count` float columns of
    /// `length` values (a multiple of 8) laid end to end, in float, written to both triangles of `out`
    /// (count × count, double). Four columns are dotted against one at a time so each load of column a
    /// feeds four sums.
    static func gram(columns: UnsafePointer<Float>, rows: Int, count: Int, length: Int, into out: UnsafeMutablePointer<Double>) {
        for a in 0..<rows {
            let ca = columns + a * length
            var b = a
            while b + 4 <= count {
                let c0 = columns + b * length, c1 = c0 + length, c2 = c1 + length, c3 = c2 + length
                var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
                var k = 0
                while k < length {
                    let va = load8(ca + k)
                    s0 += va * load8(c0 + k)
                    s1 += va * load8(c1 + k)
                    s2 += va * load8(c2 + k)
                    s3 += va * load8(c3 + k)
                    k += 8
                }
                store(Double(s0.sum()), out, a, b, count)
                store(Double(s1.sum()), out, a, b + 1, count)
                store(Double(s2.sum()), out, a, b + 2, count)
                store(Double(s3.sum()), out, a, b + 3, count)
                b += 4
            }
            while b < count {
                store(Double(dot(ca, columns + b * length, length: length)), out, a, b, count)
                b += 1
            }
        }
    }

    /// The mode × mode block s² Σ_cd P_cd · terms_cd with P = r0 r0ᵀ + r1 r1ᵀ (see
    /// `PointDistributionModel.modeGramTerms`), written at `out` with `rowStride` between rows.
    static func projectedModeGram(terms: UnsafePointer<Double>, modeCount m: Int, scale: Double,
                                  r0: SIMD3<Double>, r1: SIMD3<Double>,
                                  into out: UnsafeMutablePointer<Double>, rowStride: Int) {
        let s2 = scale * scale
        let p = r0 * r0 + r1 * r1  // P_xx, P_yy, P_zz
        let cross = SIMD3<Double>(r0.x * r0.y + r1.x * r1.y, r0.x * r0.z + r1.x * r1.z, r0.y * r0.z + r1.y * r1.z)
        let size = m * m
        for j in 0..<m {
            let row = out + j * rowStride
            for k in 0..<m {
                let e = j * m + k
                var sum = p.x * terms[e]
                sum += p.y * terms[size + e]
                sum += p.z * terms[2 * size + e]
                sum += cross.x * terms[3 * size + e]
                sum += cross.y * terms[4 * size + e]
                sum += cross.z * terms[5 * size + e]
                row[k] = s2 * sum
            }
        }
    }

    /// Solves A x = rhs for symmetric positive definite A (count × count, row-major, overwritten by its
    /// Cholesky factor) in double; x replaces `rhs`. Returns false if A is not positive definite. Shared by
    /// CalcParams and CLNF's NU-RLMS step.
    public static func choleskySolve(_ a: UnsafeMutablePointer<Double>, count: Int, rhs b: UnsafeMutablePointer<Double>) -> Bool {
        for j in 0..<count {
            let rowJ = a + j * count
            let diagonal = rowJ[j] - dot(rowJ, rowJ, length: j)
            guard diagonal > 0, diagonal.isFinite else { return false }
            let pivot = diagonal.squareRoot()
            rowJ[j] = pivot
            for i in (j + 1)..<count {
                let rowI = a + i * count
                rowI[j] = (rowI[j] - dot(rowI, rowJ, length: j)) / pivot
            }
        }
        for i in 0..<count {
            let rowI = a + i * count
            b[i] = (b[i] - dot(rowI, b, length: i)) / rowI[i]
        }
        for i in stride(from: count - 1, through: 0, by: -1) {
            var value = b[i]
            for k in (i + 1)..<count { value -= a[k * count + i] * b[k] }
            b[i] = value / a[i * count + i]
        }
        return true
    }

    /// The module's double dot product (VectorMath: Accelerate on Apple, our SIMD loop elsewhere).
    @inline(__always)
    private static func dot(_ a: UnsafeMutablePointer<Double>, _ b: UnsafeMutablePointer<Double>, length: Int) -> Double {
        VectorMath.dot(a, b, count: length)
    }

    @inline(__always)
    private static func store(_ value: Double, _ out: UnsafeMutablePointer<Double>, _ a: Int, _ b: Int, _ count: Int) {
        out[a * count + b] = value
        out[b * count + a] = value
    }

    @inline(__always)
    private static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self)
    }

    @inline(__always)
    static func store4(_ value: SIMD4<Float>, at p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: value, as: SIMD4<Float>.self)
    }
}
