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
    private let neural: (model: INSwapper, latent: [Float])?

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
        // Keep what the mouth mask needs before the face changes.
        let before = options.mouthMask > 0 ? frame.copy() : nil
        if let (model, latent) = neural {
            let swapped = try model.swapCrop(frame, targetKeypoints: face.keypoints, latent: latent, times: times)
            if options.colorCorrection { try times.measure("colour") { try FaceRetouch.matchColour(of: swapped.crop, to: swapped.aligned) } }
            if options.sharpen > 0 { try times.measure("sharpen") { try FaceRetouch.sharpen(swapped.crop, amount: options.sharpen) } }
            try INSwapperPasteBack.paste(swapped.crop, into: frame, transform: swapped.transform, opacity: options.opacity, times: times)
            if let before, let l = face.landmarks {
                try times.measure("mouth") { try FaceRetouch.restoreMouth(from: before, into: frame, landmarks: l, scale: options.mouthMask) }
            }
        } else if let l = face.landmarks {
            try landmarkSwapper.swap(source: source, sourceLandmarks: sourceLandmarks, into: frame, targetLandmarks: l, times: times)
        }
    }
}
