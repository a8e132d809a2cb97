import Foundation
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

/// Puts one source face onto target faces: the landmark-warp swapper, or inswapper_128 with the
/// source's latent computed once (never per frame).
public final class FaceSwapEngine: @unchecked Sendable {
    public struct Options: Sendable {
        public var mouthMask: Float = 0
        public var opacity: Float = 1
        /// Landmark swapper: LAB colour transfer.
        public var colorTransfer = true
        /// inswapper: match the swapped crop's colours to the target.
        public var colorCorrection = false
        public var sharpen: Float = 0
        public init(mouthMask: Float = 0, opacity: Float = 1, colorTransfer: Bool = true, colorCorrection: Bool = false, sharpen: Float = 0) {
            self.mouthMask = mouthMask; self.opacity = opacity; self.colorTransfer = colorTransfer
            self.colorCorrection = colorCorrection; self.sharpen = sharpen
        }
    }

    public let source: Image
    public let sourceLandmarks: [Point]
    public let options: Options
    private let landmarkSwapper: LandmarkSwapper
    fileprivate let neural: (model: INSwapper, latent: [Float])?

    /// - Parameters:
    ///   - inswapper: with `embedder` (ArcFace), selects the neural swapper; the latent is computed here, once.
    public init(source: Image, sourceFace: AnalyzedFace, options: Options, inswapper: INSwapper? = nil, embedder: FaceEmbedder? = nil) throws {
        guard let landmarks = sourceFace.landmarks else { throw VisageError.invalidArgument("the source face has no landmarks") }
        self.source = source
        sourceLandmarks = landmarks
        self.options = options
        landmarkSwapper = LandmarkSwapper(mouthMask: options.mouthMask, colorTransfer: options.colorTransfer, opacity: options.opacity)
        if let inswapper, let embedder {
            neural = (inswapper, try inswapper.latent(for: try embedder.embed(source, keypoints: sourceFace.keypoints)))
        } else {
            neural = nil
        }
    }

    public var isNeural: Bool { neural != nil }

    /// Swaps `face` in `frame`, in place (only the face's neighbourhood is touched).
    public func swap(_ face: AnalyzedFace, in frame: Image, times: StageTimes? = nil) throws {
        try Self.swap([(face, self)], in: frame, times: times)
    }

    /// Swaps several faces of `frame` in place, in order, each with its own engine. Consecutive inswapper
    /// faces whose neighbourhoods (what the crop reads, what the paste and the mouth mask write) do not
    /// overlap share model runs: every crop of such a group is read before any paste, which is what one at
    /// a time would read too. Overlapping faces start a new group, so the result is that of one at a time
    /// (up to the model's batch-vs-single float rounding).
    public static func swap(_ jobs: [(face: AnalyzedFace, engine: FaceSwapEngine)], in frame: Image, times: StageTimes? = nil) throws {
        var group: [(face: AnalyzedFace, engine: FaceSwapEngine, area: Box)] = []
        func flush() throws {
            guard let model = group.first?.engine.neural?.model else { return }
            let swapped = try model.swapCrops(frame, targets: group.map(\.face.keypoints), latents: group.map { $0.engine.neural!.latent }, times: times)
            for (job, result) in zip(group, swapped) { try job.engine.finish(job.face, swapped: result, in: frame, times: times) }
            group.removeAll(keepingCapacity: true)
        }
        for (face, engine) in jobs {
            guard let neural = engine.neural else {
                try flush()
                if let l = face.landmarks {
                    try engine.landmarkSwapper.swap(source: engine.source, sourceLandmarks: engine.sourceLandmarks, into: frame, targetLandmarks: l, times: times)
                }
                continue
            }
            let area = try engine.footprint(of: face)
            let joins = group.first.map { $0.engine.neural!.model === neural.model } ?? true
                && group.count < neural.model.batches.maxBatch && !group.contains { $0.area.intersects(area) }
            if !joins { try flush() }
            group.append((face, engine, area))
        }
        try flush()
    }

    /// Colour, sharpening, paste-back and mouth for one swapped inswapper crop.
    private func finish(_ face: AnalyzedFace, swapped: (crop: Image, aligned: Image, transform: Affine2D), in frame: Image, times: StageTimes?) throws {
        // Keep what the mouth mask needs before the face changes.
        let before = options.mouthMask > 0 ? frame.copy() : nil
        if options.colorCorrection { try times.measure("colour") { try FaceRetouch.matchColour(of: swapped.crop, to: swapped.aligned) } }
        if options.sharpen > 0 { try times.measure("sharpen") { try FaceRetouch.sharpen(swapped.crop, amount: options.sharpen) } }
        try INSwapperPasteBack.paste(swapped.crop, into: frame, transform: swapped.transform, opacity: options.opacity, times: times)
        if let before, let l = face.landmarks {
            try times.measure("mouth") { try FaceRetouch.restoreMouth(from: before, into: frame, landmarks: l, scale: options.mouthMask) }
        }
    }

    /// The frame pixels an inswapper swap of `face` reads or writes: the aligned crop's square mapped back
    /// (crop and paste), and with a mouth mask the mouth's neighbourhood, with a few pixels of margin.
    private func footprint(of face: AnalyzedFace) throws -> Box {
        let template = INSwapper.template
        let m = try FaceAlignment.estimate(face.keypoints, to: template)
        guard let inverse = m.inverted else { throw VisageError.invalidArgument("degenerate keypoints: cannot align") }
        let s = Float(template.size)
        let corners = [Point(0, 0), Point(s, 0), Point(0, s), Point(s, s)].map(inverse.apply)
        var box = Box(x1: corners.map(\.x).min()!, y1: corners.map(\.y).min()!, x2: corners.map(\.x).max()!, y2: corners.map(\.y).max()!)
        if options.mouthMask > 0, let l = face.landmarks {
            let b = Landmarks68.bounds(l)
            let pad = max(b.width, b.height) * 0.5 + 4
            box = Box(x1: min(box.x1, b.x1 - pad), y1: min(box.y1, b.y1 - pad), x2: max(box.x2, b.x2 + pad), y2: max(box.y2, b.y2 + pad))
        }
        let margin: Float = 4
        return Box(x1: box.x1 - margin, y1: box.y1 - margin, x2: box.x2 + margin, y2: box.y2 + margin)
    }
}

private extension Box {
    /// True when the boxes share any area or touch.
    func intersects(_ other: Box) -> Bool {
        x1 <= other.x2 && other.x1 <= x2 && y1 <= other.y2 && other.y1 <= y2
    }
}
