import Foundation
import VisageCore

/// OpenFace's face triangulation (`tris_68_full.txt`: 111 triangles over the 68 landmarks) and the pixel mask
/// it defines, as FaceAnalyser uses it to blank everything but the face in the aligned crop.
public struct FaceTriangulation: Sendable, Equatable {
    /// Landmark indices of each triangle, in file order (the order matters for OpenFace's search, see
    /// `writeMask`).
    public let triangles: [SIMD3<Int32>]

    /// Largest landmark index used plus one.
    public var requiredPointCount: Int { Int(triangles.lazy.map { $0.max() }.max() ?? -1) + 1 }

    public init(triangles: [SIMD3<Int32>]) throws {
        guard !triangles.isEmpty, triangles.allSatisfy({ $0.min() >= 0 }) else {
            throw VisageError.invalidArgument("a triangulation needs at least one triangle and non-negative landmark indices")
        }
        self.triangles = triangles
    }

    /// Reads OpenFace's text matrix format (`rows 3 4`, then the indices), as `FaceAnalyser::Read` does with
    /// `ReadMat`. Throws `VisageError` naming the file when it is missing, truncated or not integer indices.
    public init(contentsOf url: URL) throws {
        var reader = try OpenFaceTextMatrixReader(contentsOf: url, kind: "OpenFace triangulation")
        let matrix = try reader.next("triangles", expectedTypes: [4], maxElements: 3_000_000)
        guard matrix.cols == 3 else { throw reader.failure("expected 3 landmark indices per triangle, found \(matrix.cols)") }
        var triangles: [SIMD3<Int32>] = []
        triangles.reserveCapacity(matrix.rows)
        for t in 0..<matrix.rows {
            let v = matrix.values[(3 * t)..<(3 * t + 3)]
            guard v.allSatisfy({ $0 >= 0 && $0 < 100_000 && $0 == $0.rounded() }) else {
                throw reader.failure("triangle \(t + 1) has indices \(Array(v)), expected non-negative integers")
            }
            triangles.append(SIMD3(Int32(v[v.startIndex]), Int32(v[v.startIndex + 1]), Int32(v[v.startIndex + 2])))
        }
        try self.init(triangles: triangles)
    }

    /// Writes the triangulation's pixel mask (1 inside the face, 0 outside) for landmarks already in the
    /// image's pixel coordinates, into `mask` (width × height, row-major). Allocation-free apart from two
    /// small scratch buffers on the stack.
    ///
    /// This is the membership rule of OpenFace's `PAW` built with a fixed 0…width-1 × 0…height-1 box: pixel
    /// (x, y) is tested at integer coordinates, in row-major order, against the triangle found for the
    /// previous pixel first (without its bounding-box check), then against every triangle in file order
    /// whose bounding box holds the pixel; a triangle holds a point when, for each edge, the point and the
    /// opposite vertex are on the same side (float cross products whose product is ≥ 0, so edges count as
    /// inside). Only candidate triangles of the row are visited, which changes the cost, not the result.
    public func writeMask(xs: UnsafeBufferPointer<Float>, ys: UnsafeBufferPointer<Float>,
                          width: Int, height: Int, into mask: UnsafeMutableBufferPointer<UInt8>) {
        precondition(mask.count >= width * height && xs.count >= requiredPointCount && ys.count >= requiredPointCount,
                     "mask or landmark buffers too small for the triangulation")
        let count = triangles.count
        withUnsafeTemporaryAllocation(of: MaskTriangle.self, capacity: count) { prepared in
            for (t, tri) in triangles.enumerated() {
                prepared[t] = MaskTriangle(x1: xs[Int(tri.x)], y1: ys[Int(tri.x)], x2: xs[Int(tri.y)], y2: ys[Int(tri.y)],
                                           x3: xs[Int(tri.z)], y3: ys[Int(tri.z)])
            }
            withUnsafeTemporaryAllocation(of: Int.self, capacity: count) { candidates in
                var guess = -1
                for y in 0..<height {
                    let py = Float(y)
                    var candidateCount = 0
                    var rowMinX = Float.infinity, rowMaxX = -Float.infinity
                    for t in 0..<count where !(prepared[t].maxY < py || prepared[t].minY > py) {
                        candidates[candidateCount] = t
                        candidateCount += 1
                        rowMinX = min(rowMinX, prepared[t].minX)
                        rowMaxX = max(rowMaxX, prepared[t].maxX)
                    }
                    for x in 0..<width {
                        let px = Float(x)
                        var found = -1
                        if guess != -1, prepared[guess].contains(px, py) {
                            found = guess
                        } else if px >= rowMinX, px <= rowMaxX {
                            for c in 0..<candidateCount {
                                let t = candidates[c]
                                if prepared[t].maxX < px || prepared[t].minX > px { continue }
                                if prepared[t].contains(px, py) { found = t; break }
                            }
                        }
                        guess = found
                        mask[y * width + x] = found == -1 ? 0 : 1
                    }
                }
            }
        }
    }
}

/// One triangle's bounding box and, per edge, the terms of PAW's same-side test that do not depend on the
/// pixel (computed with the same float operations, so the test's values are unchanged).
private struct MaskTriangle {
    let minX, maxX, minY, maxY: Float
    private let edges: (Edge, Edge, Edge)

    /// Edge from (x2, y2) with direction (ex, ey) = (x3 − x2, y3 − y2), and `opposite`: the cross product
    /// for the vertex not on the edge.
    private struct Edge {
        let x2, y2, ex, ey, opposite: Float

        init(_ x1: Float, _ y1: Float, _ x2: Float, _ y2: Float, _ x3: Float, _ y3: Float) {
            self.x2 = x2; self.y2 = y2
            ex = x3 - x2; ey = y3 - y2
            opposite = ex * (y1 - y2) - (x1 - x2) * ey
        }

        /// PAW's `sameSide`: the point and the opposite vertex on the same side (a zero product counts).
        @inline(__always)
        func sameSide(_ x0: Float, _ y0: Float) -> Bool {
            (ex * (y0 - y2) - (x0 - x2) * ey) * opposite >= 0
        }
    }

    init(x1: Float, y1: Float, x2: Float, y2: Float, x3: Float, y3: Float) {
        minX = min(x1, x2, x3); maxX = max(x1, x2, x3)
        minY = min(y1, y2, y3); maxY = max(y1, y2, y3)
        edges = (Edge(x1, y1, x2, y2, x3, y3), Edge(x2, y2, x1, y1, x3, y3), Edge(x3, y3, x1, y1, x2, y2))
    }

    /// PAW's `pointInTriangle`: on the same side as the opposite vertex for all three edges.
    @inline(__always)
    func contains(_ x0: Float, _ y0: Float) -> Bool {
        edges.0.sameSide(x0, y0) && edges.1.sameSide(x0, y0) && edges.2.sameSide(x0, y0)
    }
}
