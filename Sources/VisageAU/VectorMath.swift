// The one place where VisageAU chooses how to do dense double-precision linear algebra.
//
// The AU stage spends its arithmetic in dot products of length 4702 (the HOG + geometry
// feature vector against 35 linear SVR/SVM weight vectors). On Apple platforms Accelerate
// does that best; elsewhere our own SIMD loops do. Callers see only these two functions, so
// swapping the back end never touches the model code.
#if canImport(Accelerate)
import Accelerate
#endif

enum VectorMath {
    /// `Σ a[i]·b[i]` over `count` elements, in double precision.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, count: Int) -> Double {
        #if canImport(Accelerate)
        var result = 0.0
        vDSP_dotprD(a, 1, b, 1, &result, vDSP_Length(count))
        return result
        #else
        return portableDot(a, b, count: count)
        #endif
    }

    /// `output[r] = Σ_c matrix[r·columns + c]·vector[c]` for a row-major `rows × columns` matrix.
    static func multiply(
        matrix: UnsafePointer<Double>, rows: Int, columns: Int,
        vector: UnsafePointer<Double>, into output: UnsafeMutablePointer<Double>
    ) {
        guard rows > 0 else { return }
        #if canImport(Accelerate)
        // (rows × columns) · (columns × 1); vDSP avoids the deprecated CBLAS interface.
        vDSP_mmulD(matrix, 1, vector, 1, output, 1, vDSP_Length(rows), 1, vDSP_Length(columns))
        #else
        portableMultiply(matrix: matrix, rows: rows, columns: columns, vector: vector, into: output)
        #endif
    }

    // MARK: - Portable SIMD back end (Linux, and a reference everywhere)

    /// Four independent 4-lane accumulators hide the add latency; the tail is summed in order.
    static func portableDot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, count: Int) -> Double {
        var acc0 = SIMD4<Double>(), acc1 = SIMD4<Double>(), acc2 = SIMD4<Double>(), acc3 = SIMD4<Double>()
        var i = 0
        let rawA = UnsafeRawPointer(a), rawB = UnsafeRawPointer(b)
        let stride = MemoryLayout<Double>.stride
        while i + 16 <= count {
            acc0 += load4(rawA, i, stride) * load4(rawB, i, stride)
            acc1 += load4(rawA, i + 4, stride) * load4(rawB, i + 4, stride)
            acc2 += load4(rawA, i + 8, stride) * load4(rawB, i + 8, stride)
            acc3 += load4(rawA, i + 12, stride) * load4(rawB, i + 12, stride)
            i += 16
        }
        while i + 4 <= count {
            acc0 += load4(rawA, i, stride) * load4(rawB, i, stride)
            i += 4
        }
        var sum = ((acc0 + acc1) + (acc2 + acc3)).sum()
        while i < count {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    /// Rows are taken four at a time so that every load of `vector` feeds four products.
    static func portableMultiply(
        matrix: UnsafePointer<Double>, rows: Int, columns: Int,
        vector: UnsafePointer<Double>, into output: UnsafeMutablePointer<Double>
    ) {
        let stride = MemoryLayout<Double>.stride
        let rawVector = UnsafeRawPointer(vector)
        var row = 0
        while row + 4 <= rows {
            let r0 = UnsafeRawPointer(matrix + row * columns)
            let r1 = UnsafeRawPointer(matrix + (row + 1) * columns)
            let r2 = UnsafeRawPointer(matrix + (row + 2) * columns)
            let r3 = UnsafeRawPointer(matrix + (row + 3) * columns)
            var a0 = SIMD4<Double>(), a1 = SIMD4<Double>(), a2 = SIMD4<Double>(), a3 = SIMD4<Double>()
            var c = 0
            while c + 4 <= columns {
                let v = load4(rawVector, c, stride)
                a0 += load4(r0, c, stride) * v
                a1 += load4(r1, c, stride) * v
                a2 += load4(r2, c, stride) * v
                a3 += load4(r3, c, stride) * v
                c += 4
            }
            var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
            while c < columns {
                let v = vector[c]
                s0 += matrix[row * columns + c] * v
                s1 += matrix[(row + 1) * columns + c] * v
                s2 += matrix[(row + 2) * columns + c] * v
                s3 += matrix[(row + 3) * columns + c] * v
                c += 1
            }
            output[row] = s0; output[row + 1] = s1; output[row + 2] = s2; output[row + 3] = s3
            row += 4
        }
        while row < rows {
            output[row] = portableDot(matrix + row * columns, vector, count: columns)
            row += 1
        }
    }

    @inline(__always)
    private static func load4(_ base: UnsafeRawPointer, _ index: Int, _ stride: Int) -> SIMD4<Double> {
        base.loadUnaligned(fromByteOffset: index * stride, as: SIMD4<Double>.self)
    }
}
