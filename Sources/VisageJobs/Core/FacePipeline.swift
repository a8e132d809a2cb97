import Foundation
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

/// The one place that assembles the face pipeline — detector, PFLD landmarks, identity model, and the
/// analyzer that tracks faces between detections — for every job. Models come from the context's registry
/// (loaded once per process); the analyzer is new for each stream because it holds tracking state.
public struct FacePipeline {
    public let context: JobContext

    public init(context: JobContext) { self.context = context }

    /// Videos: the detector sees at most 640 px (faces in video are large enough; detection stays cheap).
    public static let videoDetectorSide = 640

    public func detector(_ model: String, options: DetectionOptions = DetectionOptions()) throws -> FaceDetector {
        try context.models.shared("detector/\(model)/\(Self.key(options))/\(ModelRegistry.sessionKey(context.session))") {
            FaceDetectorBox(try DetectorFactory.make(model: model, store: context.store, options: options, config: context.session))
        }.detector
    }

    public func landmarker() throws -> PFLDLandmarker {
        try context.models.shared("pfld-68/\(ModelRegistry.sessionKey(context.session))") {
            try PFLDLandmarker.make(store: context.store, config: context.session)
        }
    }

    public func embedder(_ model: String = FaceEmbedder.Profile.sface.modelID) throws -> FaceEmbedder {
        try context.models.shared("embedder/\(model)/\(ModelRegistry.sessionKey(context.session))") {
            try FaceEmbedder.make(model: model, store: context.store, config: context.session)
        }
    }

    /// A new analyzer (its own tracking state) over shared models.
    /// - Parameters:
    ///   - identity: an embedding model for `options.embeddings` or for re-identifying tracks; nil: none.
    public func analyzer(detector model: String, detection: DetectionOptions = DetectionOptions(), options: AnalysisOptions,
                         identity: String? = nil) throws -> FaceAnalyzer {
        let landmarks = options.landmarks || options.pose ? try landmarker() : nil
        return try FaceAnalyzer(detector: try detector(model, options: detection), landmarker: landmarks,
                                embedder: try identity.map { try embedder($0) }, options: options)
    }

    /// insightface's 106-point model, when the user installed it (non-commercial weights); nil otherwise.
    public func landmarker106IfInstalled() throws -> Insightface106Landmarker? {
        guard let entry = try? ModelCatalog.entry("insightface-2d106det"), context.store.isInstalled(entry) else { return nil }
        return try context.models.shared("2d106det/\(ModelRegistry.sessionKey(context.session))") {
            try Insightface106Landmarker(modelPath: try context.store.path(for: entry.id), config: context.session)
        }
    }

    /// The models a pipeline needs for `detector` with landmarks (and an identity model).
    public static func requiredModels(detector: String, landmarks: Bool = true, identity: String? = nil) -> [String] {
        var ids: [String] = []
        if !detector.hasSuffix(".onnx") { ids.append(detector) }
        if landmarks { ids.append("pfld-68") }
        if let identity { ids.append(identity) }
        return ids
    }

    private static func key(_ o: DetectionOptions) -> String {
        "\(o.inputWidth)x\(o.inputHeight)/\(o.maxInputSide)/\(o.scoreThreshold.map { String($0) } ?? "-")/\(o.nmsThreshold.map { String($0) } ?? "-")/\(o.maxFaces)/\(o.multiScale)"
    }
}

/// `FaceDetector` is a protocol: the registry stores objects.
private final class FaceDetectorBox {
    let detector: FaceDetector
    init(_ detector: FaceDetector) { self.detector = detector }
}
