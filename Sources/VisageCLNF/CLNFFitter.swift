import Foundation
import VisageAU
import VisageCore

/// What `CLNF::Fit` reports besides the parameters it updates.
public struct CLNFFitOutcome: Sendable {
    /// False only when the face became too small to fit (scale < 0.25), as in OpenFace.
    public var success: Bool
    /// Mean log-likelihood of the final non-rigid pass (`model_likelihood`); used to rank hypotheses.
    public var likelihood: Float
}

/// Time spent in the two halves of fitting, accumulated across calls (for benchmarks).
public struct CLNFFitTimes: Sendable {
    public var responses: Double = 0
    public var optimisation: Double = 0
}

/// `CLNF::Fit` and `CLNF::NU_RLMS` for one `CLNFModel`, with every buffer preallocated: after the first call at
/// a window size, fitting allocates nothing. Not for concurrent use; keep one per thread.
public struct CLNFFitter {
    public let model: CLNFModel
    public var times = CLNFFitTimes()
    /// Threads for the one-off response covariances of a (scale, view, window) met for the first time
    /// (`CCNFSigmas`); fitting itself stays on the calling thread.
    public var setupThreads = 1
    /// Threads the patch responses of one fit are split over (by landmark; each landmark's response is computed
    /// exactly as on one thread, so results do not depend on it). The responses are the largest part of a fit:
    /// the main model's 68 landmarks at up to 11×11 positions.
    public var responseThreads = 1

    private let n: Int
    private let m: Int
    private let parameterCount: Int
    private var responses: [Float]
    private var responseStride: Int
    /// One area-of-interest buffer per response thread, `areaOfInterestStride` floats each.
    private var areaOfInterest: [Float]
    private var areaOfInterestStride = 0
    /// One workspace per response thread.
    private var responseWorkspaces = [CCNFResponseWorkspace()]
    private var shape3D: [Float]
    private var landmarks: [Float]
    private var referenceShape: [Float]
    private var currentShape: [Float]
    private var previousShape: [Float]
    private var jacobian: [Float]
    private var weightedJacobian: [Float]
    private var meanShifts: [Float]
    private var meanShiftKernels: [CLNFMeanShiftKernel] = []
    private var likelihoodColumns = [Double](repeating: 0, count: 64)
    private var dxs: [Float]
    private var dys: [Float]
    private var hessian: [Double]
    private var gradient: [Double]
    private var delta: [Float]
    private var currentLocal: [Float]
    /// The reference shape as `AlignShapesWithScale` needs it (centred), refilled in place each time, and the
    /// indices of every point (CLNF aligns on all of them).
    private var referenceDestination = SimilarityAlignment.Destination()
    private let allPoints: [Int]
    /// Similarity image → reference frame of the current scale, and back (`sim_img_to_ref`, `sim_ref_to_img`).
    private var imageToReference = SIMD4<Float>(1, 0, 0, 1)
    private var referenceToImage = SIMD4<Float>(1, 0, 0, 1)

    public init(model: CLNFModel) {
        self.model = model
        n = model.shape.pointCount
        m = model.shape.modeCount
        parameterCount = 6 + m
        allPoints = Array(0..<n)
        responseStride = 0
        responses = []
        areaOfInterest = []
        shape3D = [Float](repeating: 0, count: 3 * n)
        landmarks = [Float](repeating: 0, count: 2 * n)
        referenceShape = landmarks
        currentShape = landmarks
        previousShape = landmarks
        jacobian = [Float](repeating: 0, count: (6 + m) * 2 * n)
        weightedJacobian = jacobian
        meanShifts = landmarks
        dxs = [Float](repeating: 0, count: n)
        dys = dxs
        hessian = [Double](repeating: 0, count: (6 + m) * (6 + m))
        gradient = [Double](repeating: 0, count: 6 + m)
        delta = [Float](repeating: 0, count: 6 + m)
        currentLocal = [Float](repeating: 0, count: m)
    }

    /// `CLNF::Fit`: for each scale with a non-zero window, patch responses around the current shape, then a
    /// rigid and a non-rigid NU-RLMS pass. Updates `global` and `local` in place.
    public mutating func fit(gray: Image, global: inout PDMGlobalParameters, local: inout [Float],
                             windowSizes: [Int], parameters: CLNFParameters) -> CLNFFitOutcome {
        precondition(local.count == m, "CLNF fit needs \(m) local parameters")
        let scales = model.patchExperts.scales.count
        var likelihood: Float = -10
        for scale in 0..<scales {
            let window = scale < windowSizes.count ? windowSizes[scale] : 0
            guard window > 0 else { continue }
            let view = model.patchExperts.viewIndex(rx: global.rx, ry: global.ry, rz: global.rz, scale: scale)
            let start = DispatchTime.now().uptimeNanoseconds
            computeResponses(gray: gray, global: global, local: local, window: window, scale: scale, view: view)
            let middle = DispatchTime.now().uptimeNanoseconds
            var p = parameters
            if parameters.refineParameters {
                p = parameters.adapted(toPatchScaling: model.patchExperts.patchScaling[min(scale, 2)])
            }
            // `landmarks` (the shape responses are centred on) is the base shape of both passes.
            _ = rlms(global: &global, local: &local, window: window, scale: scale, view: view, rigid: true,
                     parameters: p, computeLikelihood: false)
            let next = scale + 1 < windowSizes.count ? windowSizes[scale + 1] : 0
            let last = scale == scales - 1 || next == 0 || global.scale < 0.30
            let l = rlms(global: &global, local: &local, window: window, scale: scale, view: view, rigid: false,
                         parameters: p, computeLikelihood: last)
            if last { likelihood = l }
            let end = DispatchTime.now().uptimeNanoseconds
            times.responses += Double(middle - start) / 1e9
            times.optimisation += Double(end - middle) / 1e9
            // OpenFace cannot track faces under ~30 px across.
            if global.scale < 0.25 { return CLNFFitOutcome(success: false, likelihood: likelihood) }
            // Not in OpenFace (its validator rejects such fits): parameters that broke down numerically fail.
            guard global.scale.isFinite, global.tx.isFinite, global.ty.isFinite else {
                return CLNFFitOutcome(success: false, likelihood: likelihood)
            }
        }
        return CLNFFitOutcome(success: true, likelihood: likelihood)
    }

    // MARK: - Patch responses (Patch_experts::Response)

    private mutating func computeResponses(gray: Image, global: PDMGlobalParameters, local: [Float], window: Int,
                                           scale: Int, view: Int) {
        let n = self.n
        let level = model.patchExperts.scales[scale]
        let reference = PDMGlobalParameters(scale: Float(level.patchScaling), rx: 0, ry: 0, rz: 0, tx: 0, ty: 0)
        local.withUnsafeBufferPointer { l in
            shape3D.withUnsafeMutableBufferPointer { s in
                let pdm = model.shape.pdm
                pdm.writeShape3D(local: l, into: s)
                landmarks.withUnsafeMutableBufferPointer { pdm.writeShape2D(shape3D: UnsafeBufferPointer(s), global: global, into: $0) }
                referenceShape.withUnsafeMutableBufferPointer { pdm.writeShape2D(shape3D: UnsafeBufferPointer(s), global: reference, into: $0) }
            }
        }
        let points = allPoints
        imageToReference = landmarks.withUnsafeBufferPointer { image in
            referenceShape.withUnsafeBufferPointer { reference in
                referenceDestination.set(xs: UnsafeBufferPointer(rebasing: reference[0..<n]), ys: UnsafeBufferPointer(rebasing: reference[n..<(2 * n)]),
                                         indices: points)
                let (a, b, c, d) = SimilarityAlignment.scaleRotation(sourceXs: UnsafeBufferPointer(rebasing: image[0..<n]),
                                                                     sourceYs: UnsafeBufferPointer(rebasing: image[n..<(2 * n)]),
                                                                     indices: points, destination: referenceDestination)
                return SIMD4(a, b, c, d)
            }
        }
        referenceToImage = CLNFSimilarity.inverse(imageToReference)
        let a1 = referenceToImage[0], b1 = -referenceToImage[1]

        let positions = window * window
        if responseStride < positions || responses.count < n * positions {
            responseStride = positions
            responses = [Float](repeating: 0, count: n * positions)
        }
        responseStride = positions
        let sigmas = model.sigmas.sigmas(scale: scale, view: view, window: window, threads: setupThreads)
        let experts = level.experts[view]
        let work = (0..<n).filter { level.visibilities[view][$0] && !experts[$0].isEmpty }
        guard !work.isEmpty else { return }
        // Enough landmarks per thread to pay for waking it (a part model's eyes have few, small windows).
        let threads = max(1, min(responseThreads, work.count / 16))
        // Several chunks per thread: when the other cores are busy (the AU stage, the decoder), the calling
        // thread takes the chunks a helper has not started yet instead of waiting for it to be scheduled.
        let chunks = threads > 1 ? min(work.count / 8, 4 * threads) : 1
        let widest = work.map { experts[$0].width }.max()!
        let stride = max(areaOfInterestStride, (window + widest - 1) * (window + widest - 1) + CCNFResponseWorkspace.areaOfInterestPadding)
        // Zero padding past side² for the response's 8-wide reads (later fills only ever write pixel values).
        if areaOfInterest.count < chunks * stride { areaOfInterest = [Float](repeating: 0, count: chunks * stride) }
        areaOfInterestStride = stride
        while responseWorkspaces.count < chunks { responseWorkspaces.append(CCNFResponseWorkspace()) }
        let job = CLNFResponseJob(gray: gray, experts: experts, sigmas: sigmas, window: window, landmarks: landmarks, n: n,
                                  a1: a1, b1: b1, work: work, chunks: chunks)
        areaOfInterest.withUnsafeMutableBufferPointer { aoi in
            responses.withUnsafeMutableBufferPointer { r in
                responseWorkspaces.withUnsafeMutableBufferPointer { ws in
                    let buffers = CLNFResponseBuffers(areasOfInterest: aoi.baseAddress!, areaOfInterestStride: stride,
                                                      responses: r.baseAddress!, positions: positions, workspaces: ws.baseAddress!)
                    if chunks > 1 {
                        DispatchQueue.concurrentPerform(iterations: chunks) { job.run(chunk: $0, buffers) }
                    } else {
                        job.run(chunk: 0, buffers)
                    }
                }
            }
        }
    }

    // MARK: - NU-RLMS

    /// One `NU_RLMS` pass from (`global`, `local`) with responses centred on `landmarks`; returns the mean
    /// log-likelihood when asked (else 0).
    private mutating func rlms(global: inout PDMGlobalParameters, local: inout [Float], window: Int, scale: Int,
                               view: Int, rigid: Bool, parameters: CLNFParameters, computeLikelihood: Bool) -> Float {
        let n = self.n, rows = 2 * n
        let count = rigid ? 6 : parameterCount
        let level = model.patchExperts.scales[scale]
        let visible = level.visibilities[view]
        let eigen = model.shape.pdm.eigenValues

        // GetWeightMatrix: weight_factor · patch confidence per landmark, or identity.
        var weighted = parameters.weightFactor > 0
        if weighted && !rigid {
            // ComputeJacobian skips the weighting when trace(W) equals its size.
            var trace: Float = 0
            for i in 0..<n { let w = Float(level.experts[view][i].confidence) * parameters.weightFactor; trace += 2 * w }
            if trace == Float(rows) { weighted = false }
        }
        let a = Float(-0.5 / Double(parameters.sigma * parameters.sigma))
        let centre = Float((window - 1) / 2)
        let step: Float = 0.1
        var currentGlobal = global
        for j in 0..<m { currentLocal[j] = local[j] }
        let s2i = imageToReference, r2i = referenceToImage

        for iteration in 0..<parameters.iterations {
            currentLocal.withUnsafeBufferPointer { l in
                shape3D.withUnsafeMutableBufferPointer { s in
                    model.shape.pdm.writeShape3D(local: l, into: s)
                    currentShape.withUnsafeMutableBufferPointer { model.shape.pdm.writeShape2D(shape3D: UnsafeBufferPointer(s), global: currentGlobal, into: $0) }
                }
            }
            if iteration > 0 {
                var sum = 0.0
                for k in 0..<rows { let d = Double(currentShape[k] - previousShape[k]); sum += d * d }
                if sum.squareRoot() < 0.01 { break }
            }
            for k in 0..<rows { previousShape[k] = currentShape[k] }

            shape3D.withUnsafeBufferPointer { s in
                jacobian.withUnsafeMutableBufferPointer { j in
                    let rotation = PDMRotation.matrix(rx: currentGlobal.rx, ry: currentGlobal.ry, rz: currentGlobal.rz)
                    model.shape.pdm.writeJacobian(shape3D: s, scale: currentGlobal.scale, rotation: rotation, rigid: rigid,
                                                  rowStride: 2 * n, into: j.baseAddress!)
                }
            }
            for p in 0..<count {
                for i in 0..<n {
                    let wx: Float = weighted ? Float(level.experts[view][i].confidence) * parameters.weightFactor : 1
                    weightedJacobian[p * rows + i] = jacobian[p * rows + i] * wx
                    weightedJacobian[p * rows + i + n] = jacobian[p * rows + i + n] * wx
                }
            }

            // Offsets of the current shape from the base shape, in the reference frame, as response indices.
            for i in 0..<n {
                let dx = currentShape[i] - landmarks[i], dy = currentShape[i + n] - landmarks[i + n]
                dxs[i] = (dx * s2i[0] + dy * s2i[1]) + centre
                dys[i] = (dx * s2i[2] + dy * s2i[3]) + centre
            }
            meanShift(window: window, a: a, step: step, visible: visible)
            for i in 0..<n {
                let mx = meanShifts[i], my = meanShifts[i + n]
                meanShifts[i] = mx * r2i[0] + my * r2i[1]
                meanShifts[i + n] = mx * r2i[2] + my * r2i[3]
            }
            for i in 0..<n where !visible[i] {
                for p in 0..<count {
                    jacobian[p * rows + i] = 0; jacobian[p * rows + i + n] = 0
                    weightedJacobian[p * rows + i] = 0; weightedJacobian[p * rows + i + n] = 0
                }
                meanShifts[i] = 0; meanShifts[i + n] = 0
            }
            solveStep(count: count, rows: rows, rigid: rigid, regFactor: parameters.regFactor, eigen: eigen)
            delta.withUnsafeBufferPointer { d in
                currentLocal.withUnsafeMutableBufferPointer { l in
                    model.shape.update(delta: d.baseAddress!, rigid: rigid, global: &currentGlobal, local: l.baseAddress!)
                }
            }
        }

        var loglikelihood: Float = 0
        if computeLikelihood {
            let sigma2 = Double(parameters.sigma * parameters.sigma)
            var visibleCount = 0.0
            if likelihoodColumns.count < window { likelihoodColumns = [Double](repeating: 0, count: window) }
            responses.withUnsafeBufferPointer { resp in
                for i in 0..<n where visible[i] {
                    visibleCount += 1
                    let r = resp.baseAddress! + i * responseStride
                    let dx = dxs[i], dy = dys[i]
                    // e^(−(vx + vy)/2σ²) as the product of its row and column factors (separable).
                    for jj in 0..<window {
                        let vy = (dx - Float(jj)) * (dx - Float(jj))
                        likelihoodColumns[jj] = exp(-0.5 * Double(vy) / sigma2)
                    }
                    var sum: Float = 0
                    var k = 0
                    for ii in 0..<window {
                        let vx = (dy - Float(ii)) * (dy - Float(ii))
                        let rowFactor = exp(-0.5 * Double(vx) / sigma2)
                        for jj in 0..<window {
                            sum += Float(Double(r[k]) * (rowFactor * likelihoodColumns[jj]))
                            k += 1
                        }
                    }
                    loglikelihood = Float(Double(loglikelihood) + log(Double(sum) + 1e-8))
                }
            }
            loglikelihood = Float(Double(loglikelihood) / visibleCount)
        }
        global = currentGlobal
        for j in 0..<m { local[j] = currentLocal[j] }
        return loglikelihood
    }

    /// `NonVectorisedMeanShift_precalc_kde`: the KDE-weighted mean of each response map around (dx, dy),
    /// with (dx, dy) snapped to OpenFace's 0.1-pixel grid. OpenFace tabulates the 2D Gaussian
    /// e^(a·((gx − jj)² + (gy − ii)²)) for every grid point; it is separable, so this keeps the 1D factors
    /// e^(a·(g·0.1 − ii)²) per grid index (`CLNFMeanShiftKernel`) and sums row by row (a few ulp apart).
    private mutating func meanShift(window: Int, a: Float, step: Float, visible: [Bool]) {
        let n = self.n
        let limit = Float(window) - step
        let kernel = meanShiftKernel(window: window, a: a, step: step)
        responses.withUnsafeBufferPointer { resp in
            kernel.values.withUnsafeBufferPointer { table in
                for i in 0..<n {
                    guard visible[i] else { meanShifts[i] = 0; meanShifts[i + n] = 0; continue }
                    var dx = dxs[i], dy = dys[i]
                    // A degenerate fit (NaN offsets) would make OpenFace index garbage; here it just stops moving.
                    guard dx.isFinite, dy.isFinite else { meanShifts[i] = 0; meanShifts[i + n] = 0; continue }
                    if dx < 0 { dx = 0 }
                    if dy < 0 { dy = 0 }
                    if dx > limit { dx = limit }
                    if dy > limit { dy = limit }
                    let closestCol = min(Int(Double(dy / step) + 0.5), kernel.gridCount - 1)
                    let closestRow = min(Int(Double(dx / step) + 0.5), kernel.gridCount - 1)
                    let ex = table.baseAddress! + closestRow * window, ey = table.baseAddress! + closestCol * window
                    let r = resp.baseAddress! + i * responseStride
                    var mx: Float = 0, my: Float = 0, sum: Float = 0
                    for ii in 0..<window {
                        let row = r + ii * window
                        var rowSum: Float = 0, rowMoment: Float = 0
                        for jj in 0..<window {
                            let v = row[jj] * ex[jj]
                            rowSum += v
                            rowMoment += v * Float(jj)
                        }
                        let weight = ey[ii]
                        sum += weight * rowSum
                        mx += weight * rowMoment
                        my += weight * rowSum * Float(ii)
                    }
                    meanShifts[i] = mx / sum - dx
                    meanShifts[i + n] = my / sum - dy
                }
            }
        }
    }

    /// The 1D mean-shift kernel for (window, a), built on first use and kept (a handful per fitter).
    private mutating func meanShiftKernel(window: Int, a: Float, step: Float) -> CLNFMeanShiftKernel {
        if let k = meanShiftKernels.first(where: { $0.window == window && $0.a == a }) { return k }
        let k = CLNFMeanShiftKernel(window: window, a: a, step: step)
        meanShiftKernels.append(k)
        return k
    }

    /// Normal equations (J_wᵀ J + Λ) Δ = J_wᵀ v − Λ p and their Cholesky solve (`cv::solve` with
    /// DECOMP_CHOLESKY; a matrix that is not positive definite gives Δ = 0 as OpenCV returns).
    private mutating func solveStep(count: Int, rows: Int, rigid: Bool, regFactor: Float, eigen: [Float]) {
        jacobian.withUnsafeBufferPointer { jb in
            weightedJacobian.withUnsafeBufferPointer { wb in
                meanShifts.withUnsafeBufferPointer { msb in
                    let j0 = jb.baseAddress!, w0 = wb.baseAddress!, ms = msb.baseAddress!
                    for p in 0..<count {
                        var g = CCNFResponseWorkspace.dot(w0 + p * rows, ms, rows)
                        if !rigid && p >= 6 { g -= (regFactor / eigen[p - 6]) * currentLocal[p - 6] }
                        gradient[p] = Double(g)
                        // Only the lower triangle: the Cholesky solve reads nothing else.
                        for q in 0...p {
                            var h = CCNFResponseWorkspace.dot(w0 + p * rows, j0 + q * rows, rows)
                            if !rigid && p == q && p >= 6 { h += regFactor / eigen[p - 6] }
                            hessian[p * count + q] = Double(h)
                        }
                    }
                }
            }
        }
        let solved = hessian.withUnsafeMutableBufferPointer { h in
            gradient.withUnsafeMutableBufferPointer { g in
                PDMKernels.choleskySolve(h.baseAddress!, count: count, rhs: g.baseAddress!)
            }
        }
        for p in 0..<count { delta[p] = solved ? Float(gradient[p]) : 0 }
    }
}

/// One factor of OpenFace's mean-shift KDE table (`kde_resp_precalc`) for a window and a = −1/(2σ²):
/// `values[g · window + k]` = e^(a·(g·step − k)²) for every 0.1-pixel grid index g, in float as OpenFace.
struct CLNFMeanShiftKernel {
    let window: Int
    let a: Float
    let gridCount: Int
    let values: [Float]

    init(window: Int, a: Float, step: Float) {
        self.window = window
        self.a = a
        // Offsets are clamped to [0, window − step], so the snapped grid index stays below window / step + 1.
        gridCount = Int((Float(window) / step).rounded(.up)) + 1
        var values = [Float](repeating: 0, count: gridCount * window)
        for g in 0..<gridCount {
            let grid = Float(g) * step
            for k in 0..<window {
                let d = (grid - Float(k)) * (grid - Float(k))
                values[g * window + k] = exp(a * d)
            }
        }
        self.values = values
    }
}

/// Where the response jobs of one fit write: thread k uses area of interest k and workspace k, and landmark i's
/// response goes to `responses + i * positions`, so the threads never share a byte.
private struct CLNFResponseBuffers: @unchecked Sendable {
    let areasOfInterest: UnsafeMutablePointer<Float>
    let areaOfInterestStride: Int
    let responses: UnsafeMutablePointer<Float>
    let positions: Int
    let workspaces: UnsafeMutablePointer<CCNFResponseWorkspace>
}

/// The patch responses of one fit (`Patch_experts::Response`), cut into `chunks` contiguous runs of landmarks.
private struct CLNFResponseJob: @unchecked Sendable {
    let gray: Image
    let experts: [CCNFPatchExpert]
    let sigmas: [CCNFSigma]
    let window: Int
    let landmarks: [Float]
    let n: Int
    let a1: Float
    let b1: Float
    let work: [Int]
    let chunks: Int

    func run(chunk k: Int, _ buffers: CLNFResponseBuffers) {
        let aoi = buffers.areasOfInterest + k * buffers.areaOfInterestStride
        for w in (work.count * k / chunks)..<(work.count * (k + 1) / chunks) {
            let i = work[w]
            let expert = experts[i]
            let side = window + expert.width - 1
            let lx = landmarks[i], ly = landmarks[i + n]
            // The 2×3 float matrix OpenFace builds, passed to warpAffine (which converts it to double).
            let warp = (Double(a1), Double(-b1), Double(lx - a1 * (Float(side) - 1) / 2 + b1 * (Float(side) - 1) / 2),
                        Double(b1), Double(a1), Double(ly - a1 * (Float(side) - 1) / 2 - b1 * (Float(side) - 1) / 2))
            CLNFAreaOfInterest.extract(gray: gray, m: warp, side: side, into: aoi)
            buffers.workspaces[k].response(expert: expert, sigma: sigmas[i], window: window, areaOfInterest: UnsafePointer(aoi),
                                           into: buffers.responses + i * buffers.positions)
        }
    }
}
