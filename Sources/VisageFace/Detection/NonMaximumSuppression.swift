import VisageCore

/// Greedy non-maximum suppression variants, each matching a reference implementation exactly.
enum NonMaximumSuppression {
    /// insightface's py_cpu_nms: candidates sorted by descending score (stable), areas with the
    /// +1-pixel convention, a box is dropped when IoU > threshold. Returns kept indices in order.
    static func insightface(boxes: [Box], scores: [Float], threshold: Float) -> [Int] {
        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        let areas = boxes.map { ($0.x2 - $0.x1 + 1) * ($0.y2 - $0.y1 + 1) }
        return GreedySuppression.keep(order: order) { i, j in
            let a = boxes[i], b = boxes[j]
            let w = max(0, min(a.x2, b.x2) - max(a.x1, b.x1) + 1)
            let h = max(0, min(a.y2, b.y2) - max(a.y1, b.y1) + 1)
            let inter = w * h
            return inter / (areas[i] + areas[j] - inter) > threshold
        }
    }

    /// cv::dnn::NMSBoxes on integer rectangles (x, y, w, h truncated toward zero), no +1,
    /// candidates need score > scoreThreshold, kept when IoU <= threshold against all kept boxes.
    static func openCV(boxes: [Box], scores: [Float], scoreThreshold: Float, threshold: Float, topK: Int = 5000) -> [Int] {
        let rects = boxes.map { b -> (Int, Int, Int, Int) in (Int(b.x1), Int(b.y1), Int(b.width), Int(b.height)) }
        var order = scores.indices.filter { scores[$0] > scoreThreshold }
        order.sort { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        if order.count > topK { order = Array(order.prefix(topK)) }
        return GreedySuppression.keep(order: order) { k, i in
            let a = rects[i], b = rects[k]
            let w = max(0, min(a.0 + a.2, b.0 + b.2) - max(a.0, b.0))
            let h = max(0, min(a.1 + a.3, b.1 + b.3) - max(a.1, b.1))
            let inter = Float(w * h)
            let union = Float(a.2 * a.3 + b.2 * b.3) - inter
            let iou: Float = union > 0 ? inter / union : 0
            return iou > threshold
        }
    }
}
