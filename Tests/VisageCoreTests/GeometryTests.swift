import Testing
import VisageCore

@Suite struct GeometryTests {
    @Test func iouOfIdenticalDisjointAndHalfOverlappingBoxes() {
        let a = Box(x: 0, y: 0, width: 10, height: 10)
        #expect(a.iou(a) == 1)
        #expect(a.iou(Box(x: 20, y: 20, width: 5, height: 5)) == 0)
        #expect(abs(a.iou(Box(x: 5, y: 0, width: 10, height: 10)) - 50 / 150) < 1e-6)
    }

    @Test func affineInverseUndoesTheTransform() throws {
        let m = Affine2D([1.2, 0.4, -7, -0.4, 1.2, 3])
        let inv = try #require(m.inverted)
        let p = Point(31, -4)
        let q = inv.apply(m.apply(p))
        #expect(abs(q.x - p.x) < 1e-4 && abs(q.y - p.y) < 1e-4)
        #expect(Affine2D([1, 2, 0, 2, 4, 0]).inverted == nil)
    }

    @Test func clippingAndScaling() {
        let b = Box(x1: -5, y1: 10, x2: 120, y2: 50).clipped(width: 100, height: 40)
        #expect(b == Box(x1: 0, y1: 10, x2: 100, y2: 40))
        #expect(Box(x1: 1, y1: 2, x2: 3, y2: 4).scaled(by: 2) == Box(x1: 2, y1: 4, x2: 6, y2: 8))
    }
}
