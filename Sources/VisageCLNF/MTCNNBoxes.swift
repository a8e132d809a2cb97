import Foundation
import VisageCore

/// A box as OpenFace's MTCNN keeps it (`cv::Rect_<float>`: origin and size), and the candidate-list
/// operations of FaceDetectorMTCNN.cpp with their exact rounding. Several of those steps go through
/// `cv::Rect` (int) on the way, which rounds half to even; that is reproduced here because it moves
/// boxes by a pixel and decides NMS ties.
struct MTCNNRect: Equatable {
    var x: Float
    var y: Float
    var width: Float
    var height: Float

    /// `cv::Rect(rect_float)`: each field through `saturate_cast<int>` (round half to even).
    var integral: (x: Int, y: Int, width: Int, height: Int) {
        (Self.cvRound(x), Self.cvRound(y), Self.cvRound(width), Self.cvRound(height))
    }

    static func cvRound(_ v: Float) -> Int {
        guard v.isFinite else { return v.isNaN ? Int(Int32.min) : (v > 0 ? Int(Int32.max) : Int(Int32.min)) }
        return Int(max(Float(Int32.min), min(Float(Int32.max), v.rounded(.toNearestOrEven))))
    }
}

/// The candidate list that flows through the three MTCNN stages (boxes, scores and regression offsets
/// kept in step, as OpenFace's three parallel vectors).
struct MTCNNCandidates {
    var boxes: [MTCNNRect] = []
    var scores: [Float] = []
    /// Regression offsets (dx1, dy1, dx2, dy2) relative to the box size, stored like OpenFace in a rect.
    var corrections: [MTCNNRect] = []

    var count: Int { boxes.count }

    mutating func append(_ box: MTCNNRect, score: Float, correction: MTCNNRect) {
        boxes.append(box); scores.append(score); corrections.append(correction)
    }

    mutating func append(contentsOf other: MTCNNCandidates) {
        boxes += other.boxes; scores += other.scores; corrections += other.corrections
    }

    /// `select_subset`.
    mutating func keep(_ indices: [Int]) {
        boxes = indices.map { boxes[$0] }
        scores = indices.map { scores[$0] }
        corrections = indices.map { corrections[$0] }
    }

    /// `non_maximum_supression` followed by `select_subset`: survivors in OpenFace's order (best score
    /// first; among equal scores the later candidate first, as std::multimap hands them out).
    mutating func suppressNonMaxima(threshold: Float, overlapOfSmaller: Bool) {
        keep(MTCNNCandidates.nonMaximumSuppression(boxes, scores, threshold: threshold, overlapOfSmaller: overlapOfSmaller))
    }

    static func nonMaximumSuppression(_ boxes: [MTCNNRect], _ scores: [Float], threshold: Float, overlapOfSmaller: Bool) -> [Int] {
        let order = boxes.indices.sorted { a, b in scores[a] != scores[b] ? scores[a] > scores[b] : a > b }
        // OpenFace compares the boxes as int rects (the const cv::Rect& binds to a converted temporary).
        let rects = boxes.map(\.integral)
        return GreedySuppression.keep(order: order) { i, j in
            let a = rects[i], b = rects[j]
            let ix1 = max(a.x, b.x), iy1 = max(a.y, b.y)
            let ix2 = min(a.x + a.width, b.x + b.width), iy2 = min(a.y + a.height, b.y + b.height)
            let intersection = (ix2 - ix1 > 0 && iy2 - iy1 > 0) ? Float((ix2 - ix1) * (iy2 - iy1)) : 0
            let areaA = a.width * a.height, areaB = b.width * b.height
            let denominator = overlapOfSmaller ? Float(min(areaA, areaB)) : Float(areaA + areaB) - intersection
            return intersection / denominator > threshold
        }
    }

    /// `apply_correction`: moves each box's corners by its offsets times its (int-rounded) size;
    /// `addOne` widens the int box by one pixel first (O-Net stage).
    mutating func applyCorrections(addOne: Bool) {
        for i in boxes.indices {
            var r = boxes[i].integral
            if addOne { r.width += 1; r.height += 1 }
            let c = corrections[i]
            let w = Float(r.width), h = Float(r.height)
            let minX = Float(r.x) + c.x * w
            let minY = Float(r.y) + c.y * h
            let maxX = Float(r.x) + w + w * c.width
            let maxY = Float(r.y) + h + h * c.height
            boxes[i] = MTCNNRect(x: minX, y: minY, width: maxX - minX, height: maxY - minY)
        }
    }

    /// `rectify`: squares each box around its centre, truncating position and side to integers.
    mutating func squareUp() {
        for i in boxes.indices {
            let b = boxes[i]
            let side = max(b.width, b.height)
            let minX = Float(Double(b.x) + 0.5 * Double(b.width - side))
            let minY = Float(Double(b.y) + 0.5 * Double(b.height - side))
            boxes[i] = MTCNNRect(x: Float(Int(minX)), y: Float(Int(minY)), width: Float(Int(side)), height: Float(Int(side)))
        }
    }
}

extension MTCNNRect {
    /// The final adjustment in `FaceDetectorMTCNN::DetectFaces` that makes MTCNN's box "tight around the
    /// facial landmarks" the way CLNF's initialisation (PDM::CalcParams from a box) expects.
    var correctedForLandmarks: MTCNNRect {
        let x = Float(Double(width) * -0.0075 + Double(self.x))
        let y = Float(Double(height) * 0.2459 + Double(self.y))
        return MTCNNRect(x: x, y: y, width: Float(1.0323 * Double(width)), height: Float(0.7751 * Double(height)))
    }
}
