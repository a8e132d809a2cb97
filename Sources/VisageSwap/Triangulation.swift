import VisageCore

/// Planar geometry for the landmark swapper.
enum Triangulation {
    /// Delaunay triangles (index triples) of `points`, by Bowyer–Watson. Fine for tens of points.
    static func delaunay(_ points: [Point]) -> [(Int, Int, Int)] {
        let n = points.count
        guard n >= 3 else { return [] }
        let xs = points.map { Double($0.x) }, ys = points.map { Double($0.y) }
        let minX = xs.min()!, maxX = xs.max()!, minY = ys.min()!, maxY = ys.max()!
        let span = max(maxX - minX, maxY - minY, 1) * 20
        let cx = (minX + maxX) / 2, cy = (minY + maxY) / 2
        var px = xs + [cx - span, cx, cx + span], py = ys + [cy - span, cy + span, cy - span]
        var triangles: [(Int, Int, Int)] = [(n, n + 1, n + 2)]

        func circumcircleContains(_ t: (Int, Int, Int), _ x: Double, _ y: Double) -> Bool {
            let ax = px[t.0] - x, ay = py[t.0] - y, bx = px[t.1] - x, by = py[t.1] - y, qx = px[t.2] - x, qy = py[t.2] - y
            let det = (ax * ax + ay * ay) * (bx * qy - qx * by) - (bx * bx + by * by) * (ax * qy - qx * ay) + (qx * qx + qy * qy) * (ax * by - bx * ay)
            let orientation = (px[t.1] - px[t.0]) * (py[t.2] - py[t.0]) - (py[t.1] - py[t.0]) * (px[t.2] - px[t.0])
            return orientation > 0 ? det > 0 : det < 0
        }

        for i in 0..<n {
            let x = px[i], y = py[i]
            var bad: [(Int, Int, Int)] = [], keep: [(Int, Int, Int)] = []
            for t in triangles { if circumcircleContains(t, x, y) { bad.append(t) } else { keep.append(t) } }
            // The boundary of the hole: edges of bad triangles not shared by two of them.
            var edges: [(Int, Int)] = []
            for t in bad { edges += [(t.0, t.1), (t.1, t.2), (t.2, t.0)] }
            let boundary = edges.filter { e in edges.filter { ($0.0 == e.0 && $0.1 == e.1) || ($0.0 == e.1 && $0.1 == e.0) }.count == 1 }
            triangles = keep + boundary.map { ($0.0, $0.1, i) }
        }
        px.removeLast(3); py.removeLast(3)
        return triangles.filter { $0.0 < n && $0.1 < n && $0.2 < n }
    }

    /// Convex hull (counter-clockwise in image coordinates), Andrew's monotone chain.
    static func convexHull(_ points: [Point]) -> [Point] {
        let sorted = points.sorted { $0.x < $1.x || ($0.x == $1.x && $0.y < $1.y) }
        guard sorted.count >= 3 else { return sorted }
        func cross(_ o: Point, _ a: Point, _ b: Point) -> Float { (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x) }
        var lower: [Point] = [], upper: [Point] = []
        for p in sorted {
            while lower.count >= 2 && cross(lower[lower.count - 2], lower[lower.count - 1], p) <= 0 { lower.removeLast() }
            lower.append(p)
        }
        for p in sorted.reversed() {
            while upper.count >= 2 && cross(upper[upper.count - 2], upper[upper.count - 1], p) <= 0 { upper.removeLast() }
            upper.append(p)
        }
        return Array(lower.dropLast() + upper.dropLast())
    }

    /// Fills a convex polygon into a one-channel mask (value 255), in the mask's pixel coordinates.
    static func fillConvex(_ polygon: [Point], into mask: Image) {
        guard polygon.count >= 3 else { return }
        let minY = max(0, Int(polygon.map(\.y).min()!.rounded(.down))), maxY = min(mask.height - 1, Int(polygon.map(\.y).max()!.rounded(.up)))
        guard minY <= maxY else { return }
        for y in minY...maxY {
            let fy = Float(y) + 0.5
            var lo = Float.infinity, hi = -Float.infinity
            for i in polygon.indices {
                let a = polygon[i], b = polygon[(i + 1) % polygon.count]
                if (a.y <= fy && b.y > fy) || (b.y <= fy && a.y > fy) {
                    let x = a.x + (fy - a.y) / (b.y - a.y) * (b.x - a.x)
                    lo = min(lo, x); hi = max(hi, x)
                }
            }
            guard lo <= hi else { continue }
            let x0 = max(0, Int((lo - 0.5).rounded(.up))), x1 = min(mask.width - 1, Int((hi - 0.5).rounded(.down)))
            guard x0 <= x1 else { continue }
            mask.baseAddress.advanced(by: y * mask.stride + x0).initializeMemory(as: UInt8.self, repeating: 255, count: x1 - x0 + 1)
        }
    }
}
