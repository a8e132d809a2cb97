import Foundation
import VisageAU
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

/// OpenFace's own pipeline (`--landmarks clnf`): MTCNN + CLNF + the CNN validator, one face like
/// FeatureExtraction, or several (`--multi-face`) with people re-identified by SFace.
public final class CLNFPersonSource: AULandmarkSource {
    public let name = "clnf"
    private let source: AULandmarkSource
    private let registry: PersonRegistry?
    /// Time inside the face detector (MTCNN) and the validator, for `bench au`.
    public let times = StageTimes()
    /// Photos (image input): FaceLandmarkImg's per-image fitting of every face.
    public let photos: CLNFPhotoFitter

    /// - Parameters:
    ///   - openFaceRoot: the installed OpenFace 2.2 files.
    ///   - model: may be shared by several sources (read-only apart from its locked covariance cache);
    ///     `nil` loads one for this source.
    ///   - reidentify: with `multiFace`, the SFace embedder that tells people apart across tracks.
    public init(openFaceRoot: URL, config: SessionConfig, multiFace: Bool, model shared: CLNFMainModel? = nil,
                reidentify embedder: FaceEmbedder? = nil) throws {
        let folder = Self.modelFolder(openFaceRoot)
        let log = VisageLog.logger("au")
        let model = try shared ?? CLNFMainModel(openFaceModelFolder: folder)
        let times = self.times
        let detector = TimedFaceDetector(try MTCNNFaceDetector(modelDirectory: folder.appendingPathComponent("mtcnn_detector"), config: config),
                                         times: times)
        // One validator (one ONNX session) for every fit of this source: they all run on its one thread.
        let validator = TimedValidator(try CNNDetectionValidator.openFace(folder: folder), times: times)
        photos = CLNFPhotoFitter(detector: CLNFLandmarkDetector(model: model, validator: validator), faceDetector: detector)
        log.info("landmarks: OpenFace CLNF (\(model.parts.map(\.name).joined(separator: ", ")) part models; \(CLNFKernels.summary)), MTCNN face detector")
        if multiFace {
            guard let embedder else { throw VisageError.invalidArgument("several faces need an identity model to tell people apart") }
            let tracker = CLNFMultiFaceTracker(model: model, faceDetector: detector, validator: validator)
            source = CLNFMultiFaceSource(tracker: tracker, model: model)
            registry = PersonRegistry(embedder: embedder)
        } else {
            let landmarks = CLNFLandmarkDetector(model: model, validator: validator)
            // The landmark stage is the pipeline's slowest: with cores to spare, fit the part models (inner
            // face, eyes) concurrently. Results do not depend on it.
            landmarks.threads = config.intraOpThreads == 1 ? 1 : min(3, ProcessInfo.processInfo.activeProcessorCount)
            source = CLNFLandmarkSource(tracker: CLNFVideoTracker(detector: landmarks, faceDetector: detector))
            registry = nil
        }
    }

    public static func modelFolder(_ openFaceRoot: URL) -> URL { openFaceRoot.appendingPathComponent("lib/local/LandmarkDetector/model") }

    /// Patch responses and RLMS of the main and part models so far (single-face mode).
    public var fitTimes: (main: CLNFFitTimes, parts: CLNFFitTimes)? {
        (source as? CLNFLandmarkSource)?.tracker.detector.times
    }

    public func observe(_ frame: Image, index: Int) throws -> [AUFaceObservation] {
        var faces = try source.observe(frame, index: index)
        guard let registry else { return faces }
        let located = faces.indices.filter { faces[$0].success }
        let persons = try registry.persons(located.map { k in
            let l = faces[k].landmarks, n = l.count / 2
            let points = (0..<n).map { Point(l[$0], l[n + $0]) }
            return PersonRegistry.Sighting(track: faces[k].faceID, box: Landmarks68.bounds(points), keypoints: Landmarks68.fivePoints(points))
        }, in: frame, index: index)
        for (k, person) in zip(located, persons) { faces[k].faceID = person }
        return located.map { faces[$0] }
    }
}

/// Times the face detector into a stage ("mtcnn").
final class TimedFaceDetector: OpenFaceFaceDetector {
    let inner: OpenFaceFaceDetector
    let times: StageTimes
    init(_ inner: OpenFaceFaceDetector, times: StageTimes) { self.inner = inner; self.times = times }
    func detect(_ frame: Image) throws -> [OpenFaceDetection] { try times.measure("mtcnn") { try inner.detect(frame) } }
}

/// Times the landmark validator into a stage ("validator").
final class TimedValidator: OpenFaceLandmarkValidator {
    let inner: OpenFaceLandmarkValidator
    let times: StageTimes
    init(_ inner: OpenFaceLandmarkValidator, times: StageTimes) { self.inner = inner; self.times = times }
    func check(gray: Image, landmarks: [Float], rotation: (Float, Float, Float)) throws -> Double {
        try times.measure("validator") { try inner.check(gray: gray, landmarks: landmarks, rotation: rotation) }
    }
}

/// The CLNF model loaded on first use and then shared by every source of one command: a folder of videos
/// parses the patch experts once and computes each response covariance once, not once per video.
/// With `sigmaCache` the response covariances also persist across processes (`CCNFSigmaCache`).
public final class SharedCLNFModel: @unchecked Sendable {
    private let folder: URL
    private let sigmaCache: CCNFSigmaCache?
    private let model = Locked<CLNFMainModel?>(nil)

    public init(openFaceRoot: URL, sigmaCache: CCNFSigmaCache? = nil) {
        folder = CLNFPersonSource.modelFolder(openFaceRoot)
        self.sigmaCache = sigmaCache
    }

    public func get() throws -> CLNFMainModel {
        try model.withLock { model in
            if let model { return model }
            let loaded = try CLNFMainModel(openFaceModelFolder: folder, sigmaCache: sigmaCache)
            model = loaded
            return loaded
        }
    }
}

extension CNNDetectionValidator {
    /// OpenFace's CNN landmark validator (`validator_cnn.txt`, the one main_clnf_general.txt names), which
    /// decides the CSV's `success` and `confidence`. A missing or unreadable file is an error: without it
    /// every frame would count as a success.
    public static func openFace(folder: URL) throws -> CNNDetectionValidator {
        try CNNDetectionValidator(contentsOf: folder.appendingPathComponent("detection_validation/validator_cnn.txt"))
    }
}
