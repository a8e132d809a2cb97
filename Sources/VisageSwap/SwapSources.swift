import Foundation
import VisageCore
import VisageFace
import VisageMedia

/// One person whose face is put onto targets: their photo, the face chosen in it, the engine that swaps
/// it (landmarks, and for inswapper the latent, computed once per run), and for `--map-faces` the
/// reference embedding of the target person who gets it.
public struct SwapSource: Sendable {
    public let path: String
    public let face: AnalyzedFace
    public let choice: FaceChoice.Made
    public let engine: FaceSwapEngine
    public var reference: [Float]?

    /// Finds the face in `photo` (`choice`: numbered, or the largest) and prepares its engine.
    public init(path: String, photo: Image, analyzer: FaceAnalyzer, choice: FaceChoice, options: FaceSwapEngine.Options,
                inswapper: INSwapper?, embedder: FaceEmbedder?) throws {
        var timings = AnalysisTimings()
        let faces = try analyzer.analyze(photo, timings: &timings).filter { $0.landmarks != nil }
        let picked: (face: AnalyzedFace, made: FaceChoice.Made)
        do { picked = try choice.pick(faces, box: \.box, in: path) } catch VisageError.invalidImage(let p, _) {
            throw VisageError.invalidImage(path: p, reason: "no face found in the source image")
        }
        self.path = path
        face = picked.face
        self.choice = picked.made
        engine = try FaceSwapEngine(source: photo, sourceFace: picked.face, options: options, inswapper: inswapper, embedder: embedder)
    }
}

/// Decides which target faces get which source: the largest face, every face, or (`--map-faces`) each
/// face whose identity matches a source's reference photo (decided once per track, by SFace similarity).
public final class SwapAssignment {
    public enum Rule: Sendable { case largestFace, everyFace, byReference(FaceEmbedder) }
    public let sources: [SwapSource]
    public let rule: Rule
    /// Track id → source index (nil: that person is left alone).
    private var decided: [Int: Int?] = [:]
    /// Faces compared with the references and matched to none of them.
    public private(set) var unmatchedFaces = 0

    public init(sources: [SwapSource], rule: Rule) {
        self.sources = sources
        self.rule = rule
    }

    /// The faces of one frame to swap, each with the index of its source.
    public func assign(_ faces: [AnalyzedFace], in frame: Image) throws -> [(face: AnalyzedFace, source: Int)] {
        switch rule {
        case .largestFace:
            return faces.max { $0.box.area < $1.box.area }.map { [($0, 0)] } ?? []
        case .everyFace:
            return faces.map { ($0, 0) }
        case .byReference(let recognizer):
            return try faces.compactMap { face in try match(face, in: frame, recognizer: recognizer).map { (face, $0) } }
        }
    }

    private func match(_ face: AnalyzedFace, in frame: Image, recognizer: FaceEmbedder) throws -> Int? {
        if let id = face.id, let known = decided[id] { return known }
        let embedding = try recognizer.embed(frame, keypoints: face.keypoints)
        let scored = sources.indices.compactMap { i in sources[i].reference.map { (i, FaceEmbedder.similarity(embedding, $0)) } }
        let best = scored.max { $0.1 < $1.1 }
        let choice = best.flatMap { $0.1 >= recognizer.profile.threshold ? $0.0 : nil }
        if choice == nil { unmatchedFaces += 1 }
        if let id = face.id { decided[id] = choice }
        return choice
    }

    /// Swaps the assigned faces of `frame` in place; returns how many were swapped.
    @discardableResult
    public func swap(_ faces: [AnalyzedFace], in frame: Image, times: StageTimes? = nil) throws -> Int {
        try swapFaces(faces, in: frame, times: times).count
    }

    /// Swaps the assigned faces of `frame` in place; returns the faces swapped (what a face enhancer that
    /// runs after the swap works on: the swapped faces only).
    @discardableResult
    public func swapFaces(_ faces: [AnalyzedFace], in frame: Image, times: StageTimes? = nil) throws -> [AnalyzedFace] {
        let chosen = try assign(faces, in: frame)
        // The frame's faces together: inswapper runs the ones that do not overlap as one batch.
        try FaceSwapEngine.swap(chosen.map { ($0.face, sources[$0.source].engine) }, in: frame, times: times)
        return chosen.map(\.face)
    }
}

/// The optional visible mark of altered media (every output also carries the machine-readable label).
public enum SyntheticMediaMark {
    public static func draw(on frame: Image) {
        Drawing.text(frame, "AI-altered", at: Point(Float(frame.width) * 0.02, Float(frame.height) * 0.97),
                     scale: Double(frame.height) / 900, color: .white, thickness: max(1, frame.height / 500))
    }
}
