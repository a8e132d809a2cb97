import Foundation

/// The per-expert response covariances Σ of `CCNF_patch_expert::ComputeSigmas`, computed the first time a
/// (scale, view, window size) is used and kept for the model's lifetime, as OpenFace caches them inside
/// each expert. Σ = (2 · (Σα · I + Σ_b β_b · S_b))⁻¹ with the S_b the file's sigma components for that window.
///
/// Shared by every fitter of one model; a lock guards the cache (taken once per scale and frame).
/// Each Σ is kept transposed and padded (`CCNFSigma`) in the layout the response product reads.
final class CCNFSigmas: @unchecked Sendable {
    private struct Key: Hashable { var scale: Int, view: Int, window: Int }
    private let experts: CCNFPatchExperts
    private let lock = NSLock()
    private var cache: [Key: [CCNFSigma]] = [:]

    init(experts: CCNFPatchExperts) { self.experts = experts }

    /// Σ for every landmark of the view (empty for landmarks that are not visible there).
    func sigmas(scale: Int, view: Int, window: Int) -> [CCNFSigma] {
        let key = Key(scale: scale, view: view, window: window)
        lock.lock()
        defer { lock.unlock() }
        if let cached = cache[key] { return cached }
        let level = experts.scales[scale]
        // `Response` picks the components whose size matches the window; none → Σ from the alphas alone.
        let components = experts.sigmaComponents[window] ?? []
        var result: [CCNFSigma] = []
        for (landmark, expert) in level.experts[view].enumerated() {
            guard level.visibilities[view][landmark], !expert.isEmpty else { result.append(.empty); continue }
            result.append(CCNFSigma(rowMajor: Self.sigma(expert: expert, components: components, window: window),
                                    positions: window * window))
        }
        cache[key] = result
        return result
    }

    static func sigma(expert: CCNFPatchExpert, components: [[Float]], window: Int) -> [Float] {
        let size = window * window
        // SigmaInv = 2 (q1 + q2) in float, as OpenFace forms it.
        var inverse = [Float](repeating: 0, count: size * size)
        for (b, component) in components.enumerated() where b < expert.betas.count {
            let beta = Float(expert.betas[b])
            for k in 0..<(size * size) { inverse[k] += beta * component[k] }
        }
        for i in 0..<size { inverse[i * size + i] += expert.alphaSum }
        var a = inverse.map { Double(2 * $0) }
        // Cholesky A = L Lᵀ (lower triangle in place), then A⁻¹ column by column.
        for j in 0..<size {
            var d = a[j * size + j]
            for k in 0..<j { d -= a[j * size + k] * a[j * size + k] }
            guard d > 0 else { return identityScaled(size, 1 / max(Double(2 * expert.alphaSum), 1e-12)) }
            let pivot = d.squareRoot()
            a[j * size + j] = pivot
            for i in (j + 1)..<size {
                var v = a[i * size + j]
                for k in 0..<j { v -= a[i * size + k] * a[j * size + k] }
                a[i * size + j] = v / pivot
            }
        }
        var out = [Float](repeating: 0, count: size * size)
        var column = [Double](repeating: 0, count: size)
        for c in 0..<size {
            for i in 0..<size {
                var v = i == c ? 1.0 : 0.0
                for k in 0..<i { v -= a[i * size + k] * column[k] }
                column[i] = v / a[i * size + i]
            }
            for i in stride(from: size - 1, through: 0, by: -1) {
                var v = column[i]
                for k in (i + 1)..<size { v -= a[k * size + i] * column[k] }
                column[i] = v / a[i * size + i]
            }
            for i in 0..<size { out[i * size + c] = Float(column[i]) }
        }
        return out
    }

    private static func identityScaled(_ size: Int, _ value: Double) -> [Float] {
        var out = [Float](repeating: 0, count: size * size)
        for i in 0..<size { out[i * size + i] = Float(value) }
        return out
    }
}

/// One Σ (positions × positions) stored transposed: column q of Σ at `values[q * stride ..< q * stride + positions]`,
/// `stride` = positions rounded up to 8 with zero padding, so the product reads 8 outputs per load.
struct CCNFSigma: Sendable {
    let values: [Float]
    let stride: Int

    static let empty = CCNFSigma(values: [], stride: 0)

    private init(values: [Float], stride: Int) {
        self.values = values
        self.stride = stride
    }

    init(rowMajor sigma: [Float], positions: Int) {
        let stride = (positions + 7) / 8 * 8
        var values = [Float](repeating: 0, count: positions * stride)
        for p in 0..<positions {
            for q in 0..<positions { values[q * stride + p] = sigma[p * positions + q] }
        }
        self.init(values: values, stride: stride)
    }
}
