import Foundation
import VisageCore

/// The per-expert response covariances Σ of `CCNF_patch_expert::ComputeSigmas`, computed the first time a
/// (scale, view, window size) is used and kept for the model's lifetime, as OpenFace caches them inside
/// each expert. Σ = (2 · (Σα · I + Σ_b β_b · S_b))⁻¹ with the S_b the file's sigma components for that window.
/// With a `CCNFSigmaCache` they also persist across processes: read back when a verified file exists,
/// computed and written otherwise (the values are the same bits either way).
///
/// Shared by every fitter of one model; a lock guards the cache (taken once per scale and frame).
/// Each Σ is kept transposed and padded (`CCNFSigma`) in the layout the response product reads.
final class CCNFSigmas: @unchecked Sendable {
    private struct Key: Hashable { var scale: Int, view: Int, window: Int }
    private let experts: CCNFPatchExperts
    /// The model's name, which names its cache files.
    private let modelName: String
    private let diskCache: CCNFSigmaCache?
    private let lock = NSLock()
    private var cache: [Key: [CCNFSigma]] = [:]
    /// Keys read from the disk cache and keys computed, for tests and logs.
    private(set) var loadedFromDisk = 0
    private(set) var computed = 0

    init(experts: CCNFPatchExperts, modelName: String = "", diskCache: CCNFSigmaCache? = nil) {
        self.experts = experts
        self.modelName = modelName
        self.diskCache = diskCache
    }

    /// Σ for every landmark of the view (empty for landmarks that are not visible there). The first call for
    /// a key reads them from the disk cache or computes them, on up to `threads` threads (one Cholesky
    /// inverse per landmark, up to 121×121).
    func sigmas(scale: Int, view: Int, window: Int, threads: Int = 1) -> [CCNFSigma] {
        let key = Key(scale: scale, view: view, window: window)
        lock.lock()
        defer { lock.unlock() }
        if let cached = cache[key] { return cached }
        let level = experts.scales[scale]
        // `Response` picks the components whose size matches the window; none → Σ from the alphas alone.
        let components = experts.sigmaComponents[window] ?? []
        let viewExperts = level.experts[view], visible = level.visibilities[view]
        let neededFlags = viewExperts.indices.map { visible[$0] && !viewExperts[$0].isEmpty }
        let positions = window * window
        var file: (url: URL, digest: [UInt8])?
        var missReason = ""
        if let diskCache {
            let url = diskCache.url(model: modelName, scale: scale, view: view, window: window)
            let digest = CCNFSigmaCache.inputsDigest(experts: viewExperts, needed: neededFlags, components: components, window: window)
            switch diskCache.load(from: url, digest: digest, needed: neededFlags, positions: positions) {
            case .success(let loaded):
                Self.log.debug("response covariances \(modelName) scale \(scale) view \(view) window \(window): read from \(url.path)")
                loadedFromDisk += 1
                cache[key] = loaded
                return loaded
            case .failure(let miss):
                missReason = miss.description
                file = (url, digest)
            }
        }
        let started = Date()
        var result = [CCNFSigma](repeating: .empty, count: viewExperts.count)
        let needed = viewExperts.indices.filter { neededFlags[$0] }
        result.withUnsafeMutableBufferPointer { out in
            let job = CCNFSigmaJob(experts: viewExperts, components: components, window: window, landmarks: needed, out: out)
            let workers = min(max(threads, 1), needed.count)
            if workers > 1 {
                DispatchQueue.concurrentPerform(iterations: workers) { job.run(worker: $0, of: workers) }
            } else {
                job.run(worker: 0, of: 1)
            }
        }
        computed += 1
        cache[key] = result
        if let diskCache, let file {
            let seconds = String(format: "%.2f", Date().timeIntervalSince(started))
            do {
                try diskCache.store(result, digest: file.digest, needed: neededFlags, positions: positions, to: file.url)
                Self.log.info("response covariances \(modelName) scale \(scale) view \(view) window \(window): computed in \(seconds) s (\(missReason)) and cached in \(file.url.path)")
            } catch {
                Self.log.warning("response covariances \(modelName) scale \(scale) view \(view) window \(window): computed in \(seconds) s (\(missReason)); not cached: \(error)")
            }
        }
        return result
    }

    private static let log = VisageLog.logger("clnf")

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
        // Cholesky A = L Lᵀ (lower triangle in place), then A⁻¹ column by column. This runs once per
        // (scale, view, window) for every landmark — about 0.3 s of one core on the first detection — so the inner
        // products use four lanes and the forward solve skips the leading zeros of the unit right-hand side.
        for j in 0..<size {
            let d = a[j * size + j] - Self.dot(a, j * size, a, j * size, j)
            guard d > 0 else { return identityScaled(size, 1 / max(Double(2 * expert.alphaSum), 1e-12)) }
            let pivot = d.squareRoot()
            a[j * size + j] = pivot
            for i in (j + 1)..<size {
                a[i * size + j] = (a[i * size + j] - Self.dot(a, i * size, a, j * size, j)) / pivot
            }
        }
        // Lᵀ row-major, so the backward solve also reads contiguous memory.
        var lt = [Double](repeating: 0, count: size * size)
        for i in 0..<size { for k in 0...i { lt[k * size + i] = a[i * size + k] } }
        var out = [Float](repeating: 0, count: size * size)
        var column = [Double](repeating: 0, count: size)
        for c in 0..<size {
            for i in 0..<c { column[i] = 0 }
            for i in c..<size {
                let v = (i == c ? 1.0 : 0.0) - Self.dot(a, i * size + c, column, c, i - c)
                column[i] = v / a[i * size + i]
            }
            // Σ is symmetric: rows below c of this column are the columns already done, so the backward
            // solve stops at row c (it only reads rows after the one it solves).
            for i in stride(from: size - 1, through: c, by: -1) {
                let v = column[i] - Self.dot(lt, i * size + i + 1, column, i + 1, size - i - 1)
                column[i] = v / a[i * size + i]
            }
            for i in c..<size {
                out[i * size + c] = Float(column[i])
                out[c * size + i] = Float(column[i])
            }
        }
        return out
    }

    /// Σ x[xOffset + k] · y[yOffset + k] for k < count, four lanes at a time.
    @inline(__always)
    private static func dot(_ x: [Double], _ xOffset: Int, _ y: [Double], _ yOffset: Int, _ count: Int) -> Double {
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeBufferPointer { yb in
                let xp = xb.baseAddress! + xOffset, yp = yb.baseAddress! + yOffset
                var acc = SIMD4<Double>()
                var k = 0
                while k + 4 <= count {
                    acc += SIMD4(xp[k], xp[k + 1], xp[k + 2], xp[k + 3]) * SIMD4(yp[k], yp[k + 1], yp[k + 2], yp[k + 3])
                    k += 4
                }
                var sum = acc.sum()
                while k < count { sum += xp[k] * yp[k]; k += 1 }
                return sum
            }
        }
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
    /// Where the floats live: an array (computed Σ), or a read-only mapping of a cache file, read in place.
    private enum Storage: Sendable {
        case array([Float])
        case mapped(MappedFile, offset: Int)
    }

    private let storage: Storage
    /// Floats held: positions × stride.
    let count: Int
    let stride: Int

    static let empty = CCNFSigma(values: [], stride: 0)

    /// Floats per stored column: positions rounded up to 8.
    static func stride(positions: Int) -> Int { (positions + 7) / 8 * 8 }

    init(values: [Float], stride: Int) {
        storage = .array(values)
        count = values.count
        self.stride = stride
    }

    /// `count` floats at byte `offset` of a mapped file (4-byte aligned); the mapping lives as long as any Σ in it.
    init(mapped file: MappedFile, offset: Int, count: Int, stride: Int) {
        precondition(offset % MemoryLayout<Float>.alignment == 0 && offset + 4 * count <= file.byteCount, "Σ outside its file")
        storage = .mapped(file, offset: offset)
        self.count = count
        self.stride = stride
    }

    init(rowMajor sigma: [Float], positions: Int) {
        let stride = Self.stride(positions: positions)
        var values = [Float](repeating: 0, count: positions * stride)
        for p in 0..<positions {
            for q in 0..<positions { values[q * stride + p] = sigma[p * positions + q] }
        }
        self.init(values: values, stride: stride)
    }

    /// A copy of the floats (tests compare them; the response reads them in place).
    var values: [Float] { withUnsafeBufferPointer { Array($0) } }

    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        switch storage {
        case .array(let values):
            return try values.withUnsafeBufferPointer(body)
        case .mapped(let file, let offset):
            let floats = (file.base + offset).assumingMemoryBound(to: Float.self)
            return try body(UnsafeBufferPointer(start: floats, count: count))
        }
    }
}

/// One key's Σ computations, split over workers by landmark. Each worker writes only its own landmarks'
/// slots of `out`, which outlives the workers (`sigmas` waits for all).
private struct CCNFSigmaJob: @unchecked Sendable {
    let experts: [CCNFPatchExpert]
    let components: [[Float]]
    let window: Int
    let landmarks: [Int]
    let out: UnsafeMutableBufferPointer<CCNFSigma>

    func run(worker: Int, of workers: Int) {
        for k in stride(from: worker, to: landmarks.count, by: workers) {
            let landmark = landmarks[k]
            out[landmark] = CCNFSigma(rowMajor: CCNFSigmas.sigma(expert: experts[landmark], components: components, window: window),
                                      positions: window * window)
        }
    }
}
