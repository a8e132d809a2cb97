import Testing
import VisageCore
@testable import VisageSwap

@Suite struct TriangulationTests {
    @Test func squareWithCentreGivesFourTriangles() {
        let points = [Point(0, 0), Point(10, 0), Point(10, 10), Point(0, 10), Point(5, 5)]
        let triangles = Triangulation.delaunay(points)
        #expect(triangles.count == 4)
        #expect(triangles.allSatisfy { [$0.0, $0.1, $0.2].contains(4) })
    }

    @Test func delaunayCoversTheHullArea() {
        // A jittered grid: total triangle area equals the convex hull's area.
        var points: [Point] = []
        for y in 0..<6 { for x in 0..<6 { points.append(Point(Float(x * 10) + Float((x * 7 + y * 3) % 3), Float(y * 10) + Float((x + y * 5) % 3))) } }
        func area(_ a: Point, _ b: Point, _ c: Point) -> Float { abs((b.x - a.x) * (c.y - a.y) - (c.x - a.x) * (b.y - a.y)) / 2 }
        let total = Triangulation.delaunay(points).reduce(Float(0)) { $0 + area(points[$1.0], points[$1.1], points[$1.2]) }
        let hull = Triangulation.convexHull(points)
        var hullArea: Float = 0
        for i in 1..<(hull.count - 1) { hullArea += area(hull[0], hull[i], hull[i + 1]) }
        #expect(abs(total - hullArea) < 1e-2 * hullArea)
    }

    @Test func fillConvexFillsTheInsideOnly() {
        let mask = Image(width: 20, height: 20, channels: 1)
        Triangulation.fillConvex([Point(5, 5), Point(15, 5), Point(15, 15), Point(5, 15)], into: mask)
        #expect(mask.byte(x: 10, y: 10) == 255)
        #expect(mask.byte(x: 2, y: 2) == 0 && mask.byte(x: 17, y: 10) == 0)
    }
}
