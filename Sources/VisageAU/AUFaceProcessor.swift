import Foundation
import VisageCore

/// The per-face part of OpenFace's FaceAnalyser that does not depend on the person's history:
/// CalcParams on the 68 landmarks → masked 112×112 similarity-aligned crop → FHOG → PDM
/// geometry. One processor per worker thread; its buffers are reused frame after frame.
public final class AUFaceProcessor {
    public let models: AUModels
    private var fitter: PDMFitter
    private let aligner: AUFaceAligner
    private let extractor: FHOGExtractor
    private let workspace: FHOGWorkspace
    /// The masked aligned face of the last `process` call (112×112 BGR).
    public let alignedFace: Image
    public private(set) var hog: [Float]
    public private(set) var geometry: [Double]
    public private(set) var fit: PDMFit?
    private var points: [Point]

    public init(models: AUModels) throws {
        self.models = models
        fitter = PDMFitter(pdm: models.pdm)
        aligner = try AUFaceAligner(pdm: models.pdm, triangulation: models.triangulation)
        extractor = FHOGExtractor()
        workspace = extractor.makeWorkspace()
        alignedFace = Image(width: AUFaceAligner.defaultSize, height: AUFaceAligner.defaultSize, channels: 3)
        hog = [Float](repeating: 0, count: extractor.descriptorLength)
        geometry = [Double](repeating: 0, count: models.pdm.geometryFeatureCount)
        points = [Point](repeating: Point(0, 0), count: models.pdm.pointCount)
    }

    /// Features of one face. `landmarks`: x_0…x_{n-1}, y_0…y_{n-1} in frame pixels.
    /// - Parameter times: optional per-stage milliseconds (calc_params, align, fhog, geometry).
    @discardableResult
    public func process(frame: Image, landmarks: [Float], times: StageTimes? = nil) throws -> PDMFit {
        let n = models.pdm.pointCount
        guard landmarks.count == 2 * n else {
            throw VisageError.invalidArgument("the AU stage needs \(n) landmarks (\(2 * n) values), got \(landmarks.count)")
        }
        for i in 0..<n { points[i] = Point(landmarks[i], landmarks[n + i]) }
        let fit = times.measure("calc_params") { fitter.fit(landmarks: points) }
        try times.measure("align") { try aligner.align(frame: frame, landmarks: points, global: fit.global, into: alignedFace) }
        try times.measure("fhog") {
            try hog.withUnsafeMutableBufferPointer { try extractor.extract(alignedFace, workspace: workspace, into: $0) }
        }
        times.measure("geometry") {
            geometry.withUnsafeMutableBufferPointer { models.pdm.geometryFeatures(local: fit.local, into: $0) }
        }
        self.fit = fit
        return fit
    }
}
