/// The greedy loop every non-maximum suppression shares: walk the candidates best first and keep one unless
/// a candidate kept before it suppresses it. The variants (insightface's, OpenCV's, OpenFace's MTCNN) differ
/// only in the order and the overlap rule they pass in, which is where each must match its reference.
public enum GreedySuppression {
    /// Indices of `order` that survive, in order. `suppresses(kept, candidate)` says whether an already kept
    /// box removes a later candidate.
    @inlinable
    public static func keep(order: [Int], suppresses: (_ kept: Int, _ candidate: Int) -> Bool) -> [Int] {
        var kept: [Int] = []
        for candidate in order where !kept.contains(where: { suppresses($0, candidate) }) {
            kept.append(candidate)
        }
        return kept
    }
}
