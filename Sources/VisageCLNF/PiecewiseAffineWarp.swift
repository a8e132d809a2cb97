import Foundation
import VisageCore
import VisageMedia

/// OpenFace's piecewise affine warp (`LandmarkDetector::PAW`, after Matthews & Baker's AAM warp): maps a
/// face given by its landmarks onto a fixed reference shape, triangle by triangle. The reference side
/// (triangulation, which destination pixel lies in which triangle, the per-triangle barycentric terms
/// alpha/beta) is precomputed in the model file and read as is (`PAW::Read`); per call only the six affine
/// coefficients of each triangle (`CalcCoeff`), the source coordinates of every destination pixel
/// (`WarpRegion`) and the bilinear remap (`cv::remap`, through OpenCV for its exact 1/32-pixel weights) run.
/// Not thread-safe: it owns its per-call buffers.
final class PiecewiseAffineWarp {
    let numberOfPixels: Int
    let minX: Float
    let minY: Float
    let landmarkCount: Int
    /// Reference (destination) shape: x_0…x_{n-1}, y_0…y_{n-1}.
    let destinationLandmarks: [Float]
    /// Triangles as landmark index triples.
    let triangles: [Int]
    /// Destination raster, row-major.
    let width: Int
    let height: Int
    let triangleID: [Int32]
    let mask: [UInt8]
    let alpha: [Float]
    let beta: [Float]

    private var coefficients: [Float]
    let mapX: Image
    let mapY: Image

    var triangleCount: Int { triangles.count / 3 }

    /// Reads the block `PAW::Read` reads (inside the validator file).
    init(reading reader: inout OpenFaceBinaryReader, context: String) throws {
        numberOfPixels = try reader.int32("\(context) pixel count")
        minX = Float(try reader.float64("\(context) min x"))
        minY = Float(try reader.float64("\(context) min y"))
        let destination = try reader.matrix("\(context) reference shape")
        let triangulation = try reader.matrix("\(context) triangulation")
        let ids = try reader.matrix("\(context) triangle map")
        let maskMatrix = try reader.matrix("\(context) pixel mask")
        let alphaMatrix = try reader.matrix("\(context) alpha")
        let betaMatrix = try reader.matrix("\(context) beta")

        guard destination.cols == 1, destination.rows >= 6, destination.rows % 2 == 0 else {
            throw reader.corrupt("\(context) reference shape is \(destination.rows)x\(destination.cols), expected 2n x 1")
        }
        let landmarkCount = destination.rows / 2
        self.landmarkCount = landmarkCount
        destinationLandmarks = destination.values.map { Float($0) }
        let triangleCount = triangulation.rows
        guard triangulation.cols == 3, triangleCount > 0,
              triangulation.values.allSatisfy({ $0 >= 0 && $0 < Double(landmarkCount) && $0 == $0.rounded() }) else {
            throw reader.corrupt("\(context) triangulation (\(triangulation.rows)x\(triangulation.cols)) is not triangles over \(landmarkCount) points")
        }
        triangles = triangulation.values.map { Int($0) }
        guard ids.rows > 0, ids.cols > 0, ids.rows <= 4096, ids.cols <= 4096, maskMatrix.rows == ids.rows, maskMatrix.cols == ids.cols else {
            throw reader.corrupt("\(context) triangle map \(ids.rows)x\(ids.cols) and mask \(maskMatrix.rows)x\(maskMatrix.cols) disagree")
        }
        height = ids.rows
        width = ids.cols
        // `convertTo(CV_8U)` saturates.
        mask = maskMatrix.values.map { UInt8(max(0, min(255, $0.rounded()))) }
        triangleID = ids.values.map { Int32(clamping: Int(max(-1, min(Double(Int32.max), $0)))) }
        for i in mask.indices where mask[i] != 0 {
            guard triangleID[i] >= 0, Int(triangleID[i]) < triangleCount else {
                throw reader.corrupt("\(context) mask pixel \(i) lies in no valid triangle (\(triangleID[i]))")
            }
        }
        let inside = mask.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
        guard inside == numberOfPixels, inside > 0 else {
            throw reader.corrupt("\(context) says \(numberOfPixels) face pixels but its mask has \(inside)")
        }
        guard alphaMatrix.rows == triangleCount, alphaMatrix.cols == 3, betaMatrix.rows == triangleCount, betaMatrix.cols == 3 else {
            throw reader.corrupt("\(context) alpha/beta are not \(triangleCount)x3")
        }
        alpha = alphaMatrix.values.map { Float($0) }
        beta = betaMatrix.values.map { Float($0) }
        coefficients = [Float](repeating: 0, count: triangleCount * 6)
        mapX = Image(width: width, height: height, channels: 1, depth: .float32)
        mapY = Image(width: width, height: height, channels: 1, depth: .float32)
    }

    /// `PAW::Warp`: `source` is a one-channel float image, `landmarks` the face in its coordinates
    /// (x_0…x_{n-1}, y_0…y_{n-1}); `destination` is width × height float.
    func warp(_ source: Image, landmarks: UnsafeBufferPointer<Float>, into destination: Image) throws {
        computeCoefficients(landmarks)
        computeMaps()
        try ImageOps.remap(source, mapX: mapX, mapY: mapY, into: destination, interpolation: .linear, border: .constant)
    }

    /// `PAW::CalcCoeff`: each triangle's affine map from reference to source coordinates.
    private func computeCoefficients(_ s: UnsafeBufferPointer<Float>) {
        let n = landmarkCount
        for t in 0..<triangleCount {
            let i = triangles[3 * t], j = triangles[3 * t + 1], k = triangles[3 * t + 2]
            let c1 = s[i], c2 = s[j] - c1, c3 = s[k] - c1
            let c4 = s[i + n], c5 = s[j + n] - c4, c6 = s[k + n] - c4
            let a = 3 * t
            coefficients[6 * t] = c1 + c2 * alpha[a] + c3 * beta[a]
            coefficients[6 * t + 1] = c2 * alpha[a + 1] + c3 * beta[a + 1]
            coefficients[6 * t + 2] = c2 * alpha[a + 2] + c3 * beta[a + 2]
            coefficients[6 * t + 3] = c4 + c5 * alpha[a] + c6 * beta[a]
            coefficients[6 * t + 4] = c5 * alpha[a + 1] + c6 * beta[a + 1]
            coefficients[6 * t + 5] = c5 * alpha[a + 2] + c6 * beta[a + 2]
        }
    }

    /// `PAW::WarpRegion`: source coordinates of every reference pixel; -1 outside the face.
    private func computeMaps() {
        coefficients.withUnsafeBufferPointer { c in
            for y in 0..<height {
                let yi = Float(y) + minY
                let mx = mapX.baseAddress.advanced(by: y * mapX.stride).assumingMemoryBound(to: Float.self)
                let my = mapY.baseAddress.advanced(by: y * mapY.stride).assumingMemoryBound(to: Float.self)
                for x in 0..<width {
                    let p = y * width + x
                    guard mask[p] != 0 else { mx[x] = -1; my[x] = -1; continue }
                    let xi = Float(x) + minX
                    let a = 6 * Int(triangleID[p])
                    mx[x] = (c[a] + c[a + 1] * xi) + c[a + 2] * yi
                    my[x] = (c[a + 3] + c[a + 4] * xi) + c[a + 5] * yi
                }
            }
        }
    }
}
