import VisageCore

/// Greedy non-maximum suppression variants, each matching a reference implementation exactly.
enum NonMaximumSuppression {
    /// insightface's py_cpu_nms: candidates sorted by descending score (stable), areas with the
    /// +1-pixel convention, a box is dropped when IoU > threshold. Returns kept indices in order.
    static func insightface(boxes: [Box], scores: [Float], threshold: Float) -> [Int] {
        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        var suppressed = [Bool](repeating: false, count: boxes.count)
        var keep: [Int] = []
        for (rank, i) in order.enumerated() where !suppressed[i] {
            keep.append(i)
            let a = boxes[i]
            let areaA = (a.x2 - a.x1 + 1) * (a.y2 - a.y1 + 1)
            for j in order[(rank + 1)...] where !suppressed[j] {
                let b = boxes[j]
                let w = max(0, min(a.x2, b.x2) - max(a.x1, b.x1) + 1)
                let h = max(0, min(a.y2, b.y2) - max(a.y1, b.y1) + 1)
                let inter = w * h
                let areaB = (b.x2 - b.x1 + 1) * (b.y2 - b.y1 + 1)
                if inter / (areaA + areaB - inter) > threshold { suppressed[j] = true }
            }
        }
        return keep
    }

    /// cv::dnn::NMSBoxes on integer rectangles (x, y, w, h truncated toward zero), no +1,
    /// candidates need score > scoreThreshold, kept when IoU <= threshold against all kept boxes.
    static func openCV(boxes: [Box], scores: [Float], scoreThreshold: Float, threshold: Float, topK: Int = 5000) -> [Int] {
        let rects = boxes.map { b -> (Int, Int, Int, Int) in (Int(b.x1), Int(b.y1), Int(b.width), Int(b.height)) }
        var order = scores.indices.filter { scores[$0] > scoreThreshold }
        order.sort { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        if order.count > topK { order = Array(order.prefix(topK)) }
        var keep: [Int] = []
        for i in order {
            let a = rects[i]
            let ok = keep.allSatisfy { k in
                let b = rects[k]
                let w = max(0, min(a.0 + a.2, b.0 + b.2) - max(a.0, b.0))
                let h = max(0, min(a.1 + a.3, b.1 + b.3) - max(a.1, b.1))
                let inter = Float(w * h)
                let union = Float(a.2 * a.3 + b.2 * b.3) - inter
                let iou: Float = union > 0 ? inter / union : 0
                return iou <= threshold
            }
            if ok { keep.append(i) }
        }
        return keep
    }
}
