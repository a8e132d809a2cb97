import Foundation
import VisageCore
import VisageMedia

/// FaceAnalyser's aligned face for AU prediction: OpenFace's `AlignFaceMask` with rigid alignment,
/// similarity scale 0.7 and a 112 × 112 output.
///
/// The frame is warped (bilinear, constant black border, as OpenFace's `cv::warpAffine` defaults) by the
/// similarity that maps the rigid landmarks onto the scaled PDM mean shape, with the translation chosen so
/// that the PDM's global translation (tx, ty) lands in the crop centre (width/2, height/2, integer halves).
/// Then every pixel outside the face triangulation is set to 0; the triangulation is drawn on the
/// landmarks moved by the same warp, with the eyebrows and the two outline points at the temples
/// (0, 16, 17–26) raised by 30 px at scale 0.7 so the forehead stays in the crop.
public struct AUFaceAligner: Sendable {
    public static let defaultSimilarityScale = 0.7
    public static let defaultSize = 112
    /// Landmarks lifted by `eyebrowLift` before masking.
    static let liftedLandmarks = [0, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26]

    public let similarityScale: Double
    public let width: Int
    public let height: Int
    public let triangulation: FaceTriangulation
    public let pointCount: Int
    private let destination: SimilarityAlignment.Destination
    private let rigidIndices: [Int]

    /// An aligner for `pdm` (FaceAnalyser's `In-the-wild_aligned_PDM_68.txt`) and the triangulation file
    /// (`tris_68_full.txt`).
    public init(pdm: PointDistributionModel, triangulation url: URL,
                similarityScale: Double = defaultSimilarityScale, size: Int = defaultSize) throws {
        let triangulation = try FaceTriangulation(contentsOf: url)
        guard triangulation.requiredPointCount <= pdm.pointCount else {
            throw VisageError.unreadable(path: url.path, reason: "the triangulation refers to landmark \(triangulation.requiredPointCount - 1) but the PDM has \(pdm.pointCount) points")
        }
        try self.init(pdm: pdm, triangulation: triangulation, similarityScale: similarityScale, size: size)
    }

    public init(pdm: PointDistributionModel, triangulation: FaceTriangulation,
                similarityScale: Double = defaultSimilarityScale, size: Int = defaultSize) throws {
        guard triangulation.requiredPointCount <= pdm.pointCount, size > 0, similarityScale > 0 else {
            throw VisageError.invalidArgument("AU aligner: triangulation needs \(triangulation.requiredPointCount) points, PDM has \(pdm.pointCount); size \(size) and scale \(similarityScale) must be positive")
        }
        self.similarityScale = similarityScale
        width = size
        height = size
        self.triangulation = triangulation
        pointCount = pdm.pointCount
        // OpenFace aligns on the rigid subset only when the shape has 68 points.
        rigidIndices = pdm.pointCount == 68 ? SimilarityAlignment.rigidIndices : Array(0..<pdm.pointCount)
        destination = SimilarityAlignment.destination(meanShape: pdm.meanShape, pointCount: pdm.pointCount,
                                                    scale: similarityScale, indices: rigidIndices)
    }

    /// The frame → crop warp for these landmarks (n points in frame pixels) and the PDM's global parameters
    /// from `calcParams` on the same landmarks (only tx and ty are used, as in OpenFace). The entries are
    /// float-rounded like OpenFace's `cv::Matx23f`.
    public func warpMatrix(landmarks: [Point], global: PDMGlobalParameters) -> Affine2D {
        let (a, b, c, d) = scaleRotation(landmarks)
        return Affine2D(translatedWarp(a, b, c, d, global).map(Double.init))
    }

    /// Aligns and masks the face into `output` (a `width` × `height` image with the frame's channel count,
    /// 8-bit). `frame` is BGR (or grey) 8-bit; pixels of the crop that fall outside the frame are 0.
    public func align(frame: Image, landmarks: [Point], global: PDMGlobalParameters, into output: Image) throws {
        guard frame.depth == .uint8, output.depth == .uint8, output.width == width, output.height == height,
              output.channels == frame.channels else {
            throw VisageError.invalidArgument("AU alignment needs an 8-bit \(width)x\(height) output with the frame's \(frame.channels) channels; got \(output.width)x\(output.height)x\(output.channels)")
        }
        guard landmarks.count == pointCount else {
            throw VisageError.invalidArgument("AU alignment needs \(pointCount) landmarks, got \(landmarks.count)")
        }
        let (a, b, c, d) = scaleRotation(landmarks)
        let warp = translatedWarp(a, b, c, d, global)
        try ImageOps.warpAffine(frame, Affine2D(warp.map(Double.init)), into: output, interpolation: .linear,
                                border: .constant, borderValue: [0, 0, 0, 0])
        applyMask(landmarks: landmarks, warp: warp, to: output)
    }

    private func scaleRotation(_ landmarks: [Point]) -> (Float, Float, Float, Float) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * pointCount) { buffer in
            for (i, p) in landmarks.enumerated() { buffer[i] = p.x; buffer[pointCount + i] = p.y }
            let xs = UnsafeBufferPointer(rebasing: buffer[0..<pointCount])
            let ys = UnsafeBufferPointer(rebasing: buffer[pointCount..<(2 * pointCount)])
            return SimilarityAlignment.scaleRotation(sourceXs: xs, sourceYs: ys, indices: rigidIndices, destination: destination)
        }
    }

    /// [a b tx'; c d ty'] with (tx', ty') = -(A · (tx, ty)) + (width/2, height/2), in float as OpenFace.
    private func translatedWarp(_ a: Float, _ b: Float, _ c: Float, _ d: Float, _ global: PDMGlobalParameters) -> [Float] {
        let tx = a * global.tx + b * global.ty
        let ty = c * global.tx + d * global.ty
        return [a, b, -tx + Float(width / 2), c, d, -ty + Float(height / 2)]
    }

    /// Moves the landmarks by the warp (products summed in double and rounded to float, like OpenCV's small
    /// float GEMM), lifts the eyebrows, and zeroes every crop pixel outside the triangulation.
    private func applyMask(landmarks: [Point], warp: [Float], to output: Image) {
        let n = pointCount
        let lift = (30.0 / 0.7) * similarityScale
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * n) { points in
            for (i, p) in landmarks.enumerated() {
                let x = Double(p.x), y = Double(p.y)
                points[i] = Float(x * Double(warp[0]) + y * Double(warp[1])) + warp[2]
                points[n + i] = Float(x * Double(warp[3]) + y * Double(warp[4])) + warp[5]
            }
            for i in Self.liftedLandmarks where i < n { points[n + i] = Float(Double(points[n + i]) - lift) }
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: width * height) { mask in
                triangulation.writeMask(xs: UnsafeBufferPointer(rebasing: points[0..<n]),
                                        ys: UnsafeBufferPointer(rebasing: points[n..<(2 * n)]),
                                        width: width, height: height, into: mask)
                let channels = output.channels
                for y in 0..<height {
                    let row = output.baseAddress.advanced(by: y * output.stride).assumingMemoryBound(to: UInt8.self)
                    for x in 0..<width where mask[y * width + x] == 0 {
                        for ch in 0..<channels { row[x * channels + ch] = 0 }
                    }
                }
            }
        }
    }
}
