import Foundation
import VisageAU
import VisageCore

/// OpenFace's `CLNF` landmark detector for one face: the main model's fit, the hierarchical part models
/// (inner face, both 28-point eyes) and the optional validation (`CLNF::DetectLandmarks`), plus
/// detection from a face box with OpenFace's rotation hypotheses (`DetectLandmarksInImage`).
///
/// Holds fitting buffers, so one detector serves one face on one thread at a time.
public final class CLNFLandmarkDetector: @unchecked Sendable {
    public let model: CLNFMainModel
    public let validator: OpenFaceLandmarkValidator?
    public var parameters: CLNFParameters
    /// Threads one detection may use: above 1 the main model's patch responses are split over landmarks (on at
    /// most as many threads as cores), the part models (inner face, both eyes) are fitted concurrently, a
    /// multi-view detection fits its rotation hypotheses two at a time, and the one-off response covariances of
    /// the first detection are split over landmarks. Results do not depend on it. Default 1, for pipelines that
    /// already keep every core busy.
    public var threads: Int = 1 {
        didSet {
            mainFitter.setupThreads = threads
            mainFitter.responseThreads = min(threads, ProcessInfo.processInfo.activeProcessorCount)
            for k in partFitters.indices { partFitters[k].setupThreads = threads }
        }
    }

    private var mainFitter: CLNFFitter
    private var partFitters: [CLNFFitter]
    private var mainCalcParams: PDMFitter
    private var partCalcParams: [PDMFitter]

    /// `validator` nil behaves as OpenFace with `validate_detections` off: a fit succeeds unless the face is
    /// too small, and its certainty is 1 (0 on failure).
    public init(model: CLNFMainModel, validator: OpenFaceLandmarkValidator? = nil,
                parameters: CLNFParameters = .openFaceVideo) {
        self.model = model
        self.validator = validator
        self.parameters = parameters
        mainFitter = CLNFFitter(model: model.main)
        partFitters = model.parts.map { CLNFFitter(model: $0.model) }
        mainCalcParams = PDMFitter(pdm: model.main.shape.pdm)
        partCalcParams = model.parts.map { PDMFitter(pdm: $0.model.shape.pdm) }
    }

    /// Accumulated fitting time of the main model and of the part models.
    public var times: (main: CLNFFitTimes, parts: CLNFFitTimes) {
        var main = mainFitter.times, parts = CLNFFitTimes()
        for f in partFitters { parts.responses += f.times.responses; parts.optimisation += f.times.optimisation }
        if let helper {
            let more = helper.times
            main.responses += more.main.responses; main.optimisation += more.main.optimisation
            parts.responses += more.parts.responses; parts.optimisation += more.parts.optimisation
        }
        return (main, parts)
    }

    /// `DetectLandmarksInImage` with a face box (OpenFace's corrected detector box, x/y/width/height):
    /// with `multiView` the eleven rotation hypotheses OpenFace tries when (re)initialising in video, else
    /// only the frontal one; the hypothesis with the highest model likelihood wins.
    public func detect(gray: Image, initialBox box: Box, multiView: Bool = true) throws -> CLNFResult {
        try checkGray(gray)
        let hypotheses: [(Float, Float, Float)] = multiView ? Self.rotationHypotheses : [(0, 0, 0)]
        let zeros = [Float](repeating: 0, count: model.main.shape.modeCount)
        let starts = hypotheses.map { rotation in
            model.main.shape.calcParams(boxX: box.x1, boxY: box.y1, boxWidth: box.width, boxHeight: box.height,
                                        local: zeros, rotation: rotation)
        }
        var fits = [CLNFUnvalidatedFit?](repeating: nil, count: starts.count)
        if threads > 1 && starts.count > 1 {
            // Two hypotheses at a time, on this detector's fitters and on a helper's: each fit depends only on
            // its own start, so the winner and its landmarks are the ones a sequential run picks.
            let helper = hypothesisHelper()
            fits.withUnsafeMutableBufferPointer { out in
                let job = CLNFHypothesisJob(detectors: [self, helper], gray: gray, starts: starts, zeros: zeros,
                                            windows: parameters.windowSizesInit, out: out.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: 2) { job.run(worker: $0) }
            }
        } else {
            for (k, global) in starts.enumerated() {
                fits[k] = fitLandmarks(gray: gray, global: global, local: zeros, windowSizes: parameters.windowSizesInit)
            }
        }
        // The highest likelihood wins; ties keep the earlier hypothesis. Only the winner is validated.
        var best = fits[0]!
        for fit in fits.dropFirst() where best.likelihood < fit!.likelihood { best = fit! }
        return try validate(best, gray: gray)
    }

    /// A second detector on the same model (its own fitting buffers, no validator), for the rotation
    /// hypotheses of `detect`; made on the first multi-view detection with more than one thread.
    private var helper: CLNFLandmarkDetector?
    private func hypothesisHelper() -> CLNFLandmarkDetector {
        if let helper {
            helper.parameters = parameters   // they may have changed since (a public property)
            return helper
        }
        let made = CLNFLandmarkDetector(model: model, validator: nil, parameters: parameters)
        helper = made
        return made
    }

    /// One tracking step (`CLNF::DetectLandmarks`) from the previous frame's parameters, with the small
    /// windows after a successful frame and the initial ones after a failed one.
    public func track(gray: Image, previous: CLNFResult) throws -> CLNFResult {
        try checkGray(gray)
        let windows = previous.success ? parameters.windowSizesSmall : parameters.windowSizesInit
        return try detectLandmarks(gray: gray, global: previous.global, local: previous.local, windowSizes: windows)
    }

    /// `CLNF::DetectLandmarks` from explicit parameters.
    public func detectLandmarks(gray: Image, global: PDMGlobalParameters, local: [Float], windowSizes: [Int]) throws -> CLNFResult {
        try checkGray(gray)
        guard local.count == model.main.shape.modeCount else {
            throw VisageError.invalidArgument("CLNF needs \(model.main.shape.modeCount) local parameters, got \(local.count)")
        }
        return try validate(fitLandmarks(gray: gray, global: global, local: local, windowSizes: windowSizes), gray: gray)
    }

    /// The main fit and the part models' refinement, before validation.
    fileprivate func fitLandmarks(gray: Image, global: PDMGlobalParameters, local: [Float], windowSizes: [Int]) -> CLNFUnvalidatedFit {
        var global = global, local = local
        let outcome = mainFitter.fit(gray: gray, global: &global, local: &local, windowSizes: windowSizes, parameters: parameters)
        var landmarks = model.main.shape.shape2D(global: global, local: local)
        var partLandmarks: [String: [Float]] = [:]
        var partFits: [String: PDMFit] = [:]

        if parameters.refineHierarchical && !model.parts.isEmpty {
            let n = model.main.pointCount
            // Only refine where the part's finest-needed patches do not have to be upsampled too much.
            let refined = model.parts.map { global.scale > 0.9 * Float($0.model.patchExperts.patchScaling[0]) }
            let partsUsed = refined.contains(true)
            let fitted = fitParts(gray: gray, mainLandmarks: landmarks, refined: refined)
            for (k, part) in model.parts.enumerated() {
                partLandmarks[part.name] = fitted[k].landmarks
                partFits[part.name] = fitted[k].fit
            }
            if partsUsed {
                for part in model.parts {
                    guard let values = partLandmarks[part.name] else { continue }
                    let np = part.model.pointCount
                    for pair in part.mapping {
                        landmarks[pair.main] = values[pair.part]
                        landmarks[pair.main + n] = values[pair.part + np]
                    }
                }
                let points = (0..<n).map { Point(landmarks[$0], landmarks[$0 + n]) }
                let fit = mainCalcParams.fit(landmarks: points)
                global = fit.global
                local = fit.local
                landmarks = model.main.shape.shape2D(global: global, local: local)
            }
        }

        return CLNFUnvalidatedFit(landmarks: landmarks, global: global, local: local, outcome: outcome,
                                  parts: partLandmarks, partFits: partFits)
    }

    /// The validator's verdict on a fit (`validate_detections`), and the result FeatureExtraction records.
    private func validate(_ fit: CLNFUnvalidatedFit, gray: Image) throws -> CLNFResult {
        let global = fit.global
        let validated: Double? = parameters.validateDetections && fit.outcome.success
            ? try validator.map { try $0.check(gray: gray, landmarks: fit.landmarks, rotation: (global.rx, global.ry, global.rz)) }
            : nil
        let (certainty, success) = OpenFaceDetectionCertainty.outcome(fitConverged: fit.outcome.success, validatorCertainty: validated,
                                                                      boundary: parameters.validationBoundary)
        return CLNFResult(landmarks: fit.landmarks, global: global, local: fit.local, success: success, confidence: certainty,
                          likelihood: fit.outcome.likelihood, parts: fit.parts, partFits: fit.partFits)
    }

    /// Each part's landmarks after `CalcParams` on the main fit's points and, where `refined`, its own CLNF
    /// fit. With `threads` > 1 the parts (independent fitters and buffers) run concurrently.
    private func fitParts(gray: Image, mainLandmarks landmarks: [Float], refined: [Bool]) -> [CLNFPartFit] {
        var results = [CLNFPartFit](repeating: CLNFPartFit(landmarks: [], fit: PDMFit(global: PDMGlobalParameters(scale: 0, rx: 0, ry: 0, rz: 0, tx: 0, ty: 0), local: [])),
                                    count: model.parts.count)
        partFitters.withUnsafeMutableBufferPointer { fitters in
            partCalcParams.withUnsafeMutableBufferPointer { calcParams in
                results.withUnsafeMutableBufferPointer { out in
                    let jobs = CLNFPartJobs(parts: model.parts, mainPointCount: model.main.pointCount, gray: gray,
                                            landmarks: landmarks, refined: refined, fitters: fitters,
                                            calcParams: calcParams, results: out)
                    if threads > 1 && jobs.parts.count > 1 {
                        DispatchQueue.concurrentPerform(iterations: jobs.parts.count) { jobs.run($0) }
                    } else {
                        for k in 0..<jobs.parts.count { jobs.run(k) }
                    }
                }
            }
        }
        return results
    }

    /// The rotations (rx, ry, rz) `DetectLandmarksInImage` tries with `multi_view`.
    static let rotationHypotheses: [(Float, Float, Float)] = [
        (0, 0, 0), (0, -0.5236, 0), (0, 0.5236, 0), (0, -0.96, 0), (0, 0.96, 0), (0, 0, 0.5236), (0, 0, -0.5236),
        (0, -1.57, 0), (0, 1.57, 0), (0, -1.22, 0.698), (0, 1.22, -0.698),
    ]

    private func checkGray(_ gray: Image) throws {
        guard gray.channels == 1, gray.depth == .uint8 else {
            throw VisageError.invalidArgument("CLNF needs a 1-channel uint8 grey image, got \(gray.channels) channel(s) of \(gray.depth)")
        }
    }
}

/// The part fits of one detection. Job k touches only element k of each buffer, so the jobs may run on
/// different threads; the buffers outlive them (`fitParts` waits for all).
private struct CLNFPartJobs: @unchecked Sendable {
    let parts: [CLNFPartModel]
    let mainPointCount: Int
    let gray: Image
    let landmarks: [Float]
    let refined: [Bool]
    let fitters: UnsafeMutableBufferPointer<CLNFFitter>
    let calcParams: UnsafeMutableBufferPointer<PDMFitter>
    let results: UnsafeMutableBufferPointer<CLNFPartFit>

    func run(_ k: Int) {
        let part = parts[k], n = mainPointCount
        let np = part.model.pointCount
        // Unmapped part landmarks stay at 0, which CalcParams treats as not visible.
        var points = [Point](repeating: Point(0, 0), count: np)
        for pair in part.mapping { points[pair.part] = Point(landmarks[pair.main], landmarks[pair.main + n]) }
        let fit = calcParams[k].fit(landmarks: points)
        var partGlobal = fit.global, partLocal = fit.local
        if refined[k] {
            _ = fitters[k].fit(gray: gray, global: &partGlobal, local: &partLocal,
                               windowSizes: part.parameters.windowSizesInit, parameters: part.parameters)
        }
        results[k] = CLNFPartFit(landmarks: part.model.shape.shape2D(global: partGlobal, local: partLocal),
                                 fit: PDMFit(global: partGlobal, local: partLocal))
    }
}

/// One part model's result: its landmarks and the part PDM's own parameters (GetShape needs them).
struct CLNFPartFit {
    var landmarks: [Float]
    var fit: PDMFit
}

/// A fit before validation: what `detect` ranks its hypotheses by.
struct CLNFUnvalidatedFit {
    var landmarks: [Float]
    var global: PDMGlobalParameters
    var local: [Float]
    var outcome: CLNFFitOutcome
    var parts: [String: [Float]]
    var partFits: [String: PDMFit]
    var likelihood: Float { outcome.likelihood }
}

/// The rotation hypotheses of one detection split over two detectors (own fitters each): worker w fits
/// hypotheses w, w + 2, … and writes only those slots of the output, which outlives both workers.
private struct CLNFHypothesisJob: @unchecked Sendable {
    let detectors: [CLNFLandmarkDetector]
    let gray: Image
    let starts: [PDMGlobalParameters]
    let zeros: [Float]
    let windows: [Int]
    let out: UnsafeMutablePointer<CLNFUnvalidatedFit?>

    func run(worker w: Int) {
        for k in stride(from: w, to: starts.count, by: 2) {
            out[k] = detectors[w].fitLandmarks(gray: gray, global: starts[k], local: zeros, windowSizes: windows)
        }
    }
}
