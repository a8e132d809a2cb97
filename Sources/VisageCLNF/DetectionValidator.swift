import Foundation
import VisageCore
import VisageRuntime

/// OpenFace 2.2's CNN landmark validator (`DetectionValidator`, the module `main_clnf_general.txt` names as
/// `detection_validation/validator_cnn.txt`): decides whether fitted landmarks really outline a face.
///
/// Per call (`DetectionValidator::Check`): pick the view whose orientation is closest to the PDM rotation,
/// crop the grey frame around the landmarks (3 px margin), piecewise-affine warp the face onto the view's
/// 60×60 reference shape, normalise the face pixels (per-image mean/std, then the view's per-pixel mean/std),
/// run the view's CNN (conv 9×9, ReLU, pool, conv 7×7, ReLU, pool, FC, ReLU, FC → 30 bins) and turn the
/// winning bin back into a value in [-1, 1], returned as `0.5 * (1 - value)`: about 0.98 for a clear face,
/// near 0 for none. The networks run as ONNX graphs built from the file (see `OpenFaceCNNGraph`).
/// Not thread-safe (per-view buffers are reused): one validator per thread.
public final class CNNDetectionValidator: OpenFaceLandmarkValidator {
    struct View {
        /// (rx, ry, rz) in radians.
        var orientation: (Double, Double, Double)
        var meanImage: [Float]
        var standardDeviations: [Float]
        var warp: PiecewiseAffineWarp
        var network: OpenFaceCNNNetwork
        /// Row-major indices of the face pixels in OpenFace's order (the mask scanned column by column).
        var facePixels: [Int]
        var input: Tensor
        var warped: Image
    }

    let views: [View]
    public let path: String
    public var landmarkCount: Int { views[0].warp.landmarkCount }
    private let roiScratch = FloatImageScratch()
    private var features: [Float] = []

    public convenience init(contentsOf url: URL) throws {
        try self.init(contentsOf: url, config: SessionConfig(intraOpThreads: 1))
    }

    /// `config`: ONNX Runtime settings for the per-view networks (one thread by default: the networks are
    /// small, and the validator runs once per face per frame next to other work).
    public init(contentsOf url: URL, config: SessionConfig) throws {
        var reader = try OpenFaceBinaryReader(contentsOf: url)
        path = url.path
        let type = try reader.int32("validator type")
        guard type == 3 else {
            throw reader.corrupt("validator type \(type); only the CNN validator (type 3, validator_cnn.txt) is supported")
        }
        let count = try reader.int32("view count")
        guard (1...64).contains(count) else { throw reader.corrupt("claims \(count) views") }
        var orientations: [(Double, Double, Double)] = []
        for v in 0..<count {
            let m = try reader.matrix("view \(v) orientation")
            guard m.values.count == 3 else { throw reader.corrupt("view \(v) orientation has \(m.values.count) values") }
            orientations.append((m.values[0] * Double.pi / 180, m.values[1] * Double.pi / 180, m.values[2] * Double.pi / 180))
        }
        var views: [View] = []
        for v in 0..<count {
            let context = "view \(v)"
            let mean = try reader.matrix("\(context) mean image")
            let deviation = try reader.matrix("\(context) standard deviations")
            let layers = try reader.cnnLayers(.validator, context: "\(context) CNN")
            let warp = try PiecewiseAffineWarp(reading: &reader, context: "\(context) warp")
            guard mean.values.count == warp.numberOfPixels, deviation.values.count == warp.numberOfPixels else {
                throw reader.corrupt("\(context) normalisation has \(mean.values.count)/\(deviation.values.count) values for \(warp.numberOfPixels) face pixels")
            }
            let network = try OpenFaceCNNNetwork(layers: layers, channels: 1, height: .fixed(warp.height), width: .fixed(warp.width),
                                                 sourcePath: path, name: "validator-view\(v)", config: config)
            guard let output = network.session.outputs.first, output.shape.count == 2, output.shape[1] >= 1 else {
                throw reader.corrupt("\(context) CNN does not end in a vector of bins")
            }
            var facePixels: [Int] = []
            for x in 0..<warp.width { for y in 0..<warp.height where warp.mask[y * warp.width + x] != 0 { facePixels.append(y * warp.width + x) } }
            views.append(View(orientation: orientations[v], meanImage: mean.values.map { Float($0) },
                              standardDeviations: deviation.values.map { Float($0) }, warp: warp, network: network,
                              facePixels: facePixels, input: Tensor(.float32, shape: [1, 1, warp.height, warp.width]),
                              warped: Image(width: warp.width, height: warp.height, channels: 1, depth: .float32)))
        }
        guard reader.isAtEnd else { throw reader.corrupt("\(reader.byteCount - reader.offset) bytes follow the last view") }
        guard views.allSatisfy({ $0.warp.landmarkCount == views[0].warp.landmarkCount }) else {
            throw reader.corrupt("views disagree on the landmark count")
        }
        self.views = views
    }

    /// `DetectionValidator::GetViewId`: the view nearest (Euclidean, radians) to the rotation; ties keep the first.
    func viewIndex(rotation: (Float, Float, Float)) -> Int {
        var best = 0, bestDistance = -1.0
        for (i, view) in views.enumerated() {
            let dx = Double(rotation.0) - view.orientation.0, dy = Double(rotation.1) - view.orientation.1, dz = Double(rotation.2) - view.orientation.2
            let d = (dx * dx + dy * dy + dz * dz).squareRoot()
            if i == 0 || d < bestDistance { best = i; bestDistance = d }
        }
        return best
    }

    /// `DetectionValidator::Check`. Landmarks that are not finite, or whose box has no area inside the frame,
    /// give 0 (OpenFace's own answer for the latter).
    public func check(gray: Image, landmarks: [Float], rotation: (Float, Float, Float)) throws -> Double {
        guard gray.depth == .uint8, gray.channels == 1 else {
            throw VisageError.invalidArgument("the validator needs a grey 8-bit frame, got \(gray.channels) channel(s) of \(gray.depth)")
        }
        let n = landmarkCount
        guard landmarks.count == 2 * n else {
            throw VisageError.invalidArgument("the validator needs \(2 * n) landmark values (x_0…x_\(n - 1), y_0…y_\(n - 1)), got \(landmarks.count)")
        }
        guard landmarks.allSatisfy({ $0.isFinite && abs($0) < 1e7 }) else { return 0 }
        let id = viewIndex(rotation: rotation)

        // ExtractBoundingBox, then the ROI with 3 px for bilinear interpolation (the last row/column of the
        // frame is never included: OpenFace clamps the far edge to size - 1 and uses it as exclusive).
        var minXf = landmarks[0], maxXf = landmarks[0], minYf = landmarks[n], maxYf = landmarks[n]
        for i in 1..<n {
            minXf = min(minXf, landmarks[i]); maxXf = max(maxXf, landmarks[i])
            minYf = min(minYf, landmarks[n + i]); maxYf = max(maxYf, landmarks[n + i])
        }
        let minX = max(Int(minXf - 3), 0), minY = max(Int(minYf - 3), 0)
        let maxX = min(Int(maxXf + 3), gray.width - 1), maxY = min(Int(maxYf + 3), gray.height - 1)
        guard maxX - minX > 1, maxY - minY > 1 else { return 0 }

        let roi = roiScratch.image(width: maxX - minX, height: maxY - minY, channels: 1)
        for y in 0..<roi.height {
            let src = gray.baseAddress.advanced(by: (minY + y) * gray.stride + minX).assumingMemoryBound(to: UInt8.self)
            let dst = roi.baseAddress.advanced(by: y * roi.stride).assumingMemoryBound(to: Float.self)
            for x in 0..<roi.width { dst[x] = Float(src[x]) }
        }
        var local = landmarks
        for i in 0..<n { local[i] -= Float(minX); local[n + i] -= Float(minY) }

        let view = views[id]
        try local.withUnsafeBufferPointer { try view.warp.warp(roi, landmarks: $0, into: view.warped) }
        normalise(view)
        let output = try view.network.run(view.input)
        let bins = output.elementCount
        let scores = output.data.assumingMemoryBound(to: Float.self)
        var winner = 0
        for i in 1..<bins where scores[i] > scores[winner] { winner = i }
        // Bin centre in [-1, 1], then OpenFace's "0 low confidence, 1 high confidence" flip, stored as float.
        let step = 2.0 / Double(bins)
        let value = -1 + step / 2 + Double(winner) * step
        return Double(Float(0.5 * (1 - value)))
    }

    /// `NormaliseWarpedToVector` and the image rebuild at the start of `CheckCNN`: face pixels standardised
    /// by their own mean and (population) standard deviation, then by the view's per-pixel mean and deviation;
    /// everything outside the face is 0.
    private func normalise(_ view: View) {
        let count = view.facePixels.count
        if features.count != count { features = [Float](repeating: 0, count: count) }
        let warpedWidth = view.warped.width
        var sum = 0.0, squares = 0.0
        for (i, p) in view.facePixels.enumerated() {
            let v = view.warped.baseAddress.advanced(by: (p / warpedWidth) * view.warped.stride).assumingMemoryBound(to: Float.self)[p % warpedWidth]
            features[i] = v
            sum += Double(v); squares += Double(v) * Double(v)
        }
        let mean = sum / Double(count)
        var deviation = max(squares / Double(count) - mean * mean, 0).squareRoot()
        if deviation == 0 { deviation = 1 }
        let meanF = Float(mean), scale = Float(1 / deviation)
        let input = view.input.data.assumingMemoryBound(to: Float.self)
        input.initialize(repeating: 0, count: view.input.elementCount)
        for (i, p) in view.facePixels.enumerated() {
            let local = (features[i] - meanF) * scale
            input[p] = (local - view.meanImage[i]) / view.standardDeviations[i]
        }
    }
}

/// How OpenFace turns the validator's certainty into its outputs (`CLNF::DetectLandmarks` and RecorderCSV),
/// for the CLNF pipeline to use as is.
public enum OpenFaceDetectionCertainty {
    /// `FaceModelParameters::validation_boundary`: a fit counts as a detection when the certainty exceeds it.
    public static let validationBoundary: Float = 0.725

    /// `detection_certainty` and `detection_success` after a fit: with validation on (FeatureExtraction's
    /// default) a converged fit is judged by the validator (`certainty > 0.725`); a fit that did not converge
    /// gets certainty 0 and fails without being validated. With validation off a converged fit gets 1.
    /// (On the frame where tracking first starts, DetectLandmarksInVideo reports success regardless of this
    /// decision; that is the caller's rule, not this one's.)
    /// The comparison is C++'s double-against-float one: the float boundary is widened, not the certainty narrowed.
    public static func outcome(fitConverged: Bool, validatorCertainty: Double?,
                               boundary: Float = validationBoundary) -> (certainty: Double, success: Bool) {
        guard fitConverged else { return (0, false) }
        guard let validatorCertainty else { return (1, true) }
        return (validatorCertainty, validatorCertainty > Double(boundary))
    }

    /// The CSV's `confidence` column: the certainty (a float) printed with two decimals (`std::fixed`,
    /// `setprecision(2)`), e.g. 0.98333 → "0.98".
    public static func csvConfidence(_ certainty: Double) -> String {
        String(format: "%.2f", Double(Float(certainty)))
    }
}
