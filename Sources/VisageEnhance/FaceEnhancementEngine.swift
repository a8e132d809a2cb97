import Foundation
import VisageCore
import VisageMedia

/// One face to enhance. Coordinates are frame pixels.
public struct EnhanceFace: Sendable, Codable, Equatable {
    /// The 5 detector keypoints (eye, eye, nose, mouth corner, mouth corner).
    public var keypoints: [Point]
    /// The detector's box, when known: a face whose box is smaller than `EnhanceOptions.minimumFaceSize`
    /// is skipped.
    public var box: Box?
    /// Dense landmarks (e.g. PFLD's 68), when known: the temporal cache measures expression change on them.
    public var landmarks: [Point]?
    /// The tracker's id in videos: the temporal cache keeps one cached face per id.
    public var trackID: Int?

    public init(keypoints: [Point], box: Box? = nil, landmarks: [Point]? = nil, trackID: Int? = nil) {
        self.keypoints = keypoints
        self.box = box
        self.landmarks = landmarks
        self.trackID = trackID
    }
}

/// How faces are enhanced and mixed back.
public struct EnhanceOptions: Sendable, Codable, Equatable {
    /// How much of the enhanced face the output keeps, 0…1. The output is
    /// `addWeighted(original, 1 − blend, pasted, blend)` where `pasted` is the frame after facexlib's
    /// soft-mask paste of every enhanced face: FaceFusion's `--face-enhancer-blend` divided by 100
    /// (its default 80 → 0.8). 1 gives facexlib's (GFPGAN's) paste exactly.
    public var blend: Double
    /// CodeFormer's fidelity w, 0…1 (0: strongest restoration, 1: closest to the input); FaceFusion's default 0.5.
    public var fidelity: Double
    /// Faces whose eyes are closer than this (frame pixels) are skipped: the template would magnify
    /// them more than 8× (a 512 template has ~126 px between the eyes).
    public var minimumEyeDistance: Float
    /// Faces whose box (when given) is narrower or shorter than this are skipped.
    public var minimumFaceSize: Float

    public init(blend: Double = 0.8, fidelity: Double = 0.5, minimumEyeDistance: Float = 16, minimumFaceSize: Float = 16) {
        self.blend = blend
        self.fidelity = fidelity
        self.minimumEyeDistance = minimumEyeDistance
        self.minimumFaceSize = minimumFaceSize
    }

    func validate() throws {
        guard (0...1).contains(blend) else { throw VisageError.invalidArgument("enhancer blend must be in 0...1, got \(blend)") }
        guard (0...1).contains(fidelity) else { throw VisageError.invalidArgument("enhancer fidelity must be in 0...1, got \(fidelity)") }
    }
}

/// What one `enhance` call did.
public struct EnhanceReport: Sendable, Codable, Equatable {
    public struct Skipped: Sendable, Codable, Equatable {
        public var index: Int
        public var reason: String
    }
    /// Indices (into the `faces` argument) of the faces that were enhanced.
    public var enhanced: [Int] = []
    public var skipped: [Skipped] = []
    /// Network runs made (the temporal cache makes fewer than `enhanced.count`).
    public var modelRuns = 0
    public init() {}
}

/// Enhances faces of still images and frames: align to the model's template, restore, paste back with
/// facexlib's soft mask, blend with the original (see `EnhanceOptions.blend`). Stage times go to
/// `StageTimes` as "align", "model", "paste_back" and "blend". Not thread-safe (one per thread of work;
/// the enhancer inside may be shared).
public final class FaceEnhancementEngine: @unchecked Sendable {
    public let enhancer: FaceEnhancer
    public var options: EnhanceOptions
    public var profile: EnhancerProfile { enhancer.profile }
    let paster = SoftMaskPaste()
    private static let logger = VisageLog.logger("enhance")

    public init(enhancer: FaceEnhancer, options: EnhanceOptions = EnhanceOptions()) throws {
        try options.validate()
        self.enhancer = enhancer
        self.options = options
    }

    /// Enhances the faces given by their 5 keypoints, in place.
    @discardableResult
    public func enhance(_ image: Image, faces: [[Point]], times: StageTimes? = nil,
                        shouldStop: () -> Bool = { false }) throws -> EnhanceReport {
        try enhance(image, faces: faces.map { EnhanceFace(keypoints: $0) }, times: times, shouldStop: shouldStop)
    }

    /// Enhances `faces` of `image` in place. Nothing is written until every face is restored: when
    /// `shouldStop` returns true (checked before each network run) the call throws `.interrupted` and the
    /// image is unchanged.
    @discardableResult
    public func enhance(_ image: Image, faces: [EnhanceFace], times: StageTimes? = nil,
                        shouldStop: () -> Bool = { false }) throws -> EnhanceReport {
        try options.validate()
        try Self.checkImage(image)
        var report = EnhanceReport()
        var restored: [RestoredFace] = []
        for (index, face) in faces.enumerated() {
            if let reason = tooSmall(face) {
                Self.logger.info("face \(index) skipped: \(reason)")
                report.skipped.append(.init(index: index, reason: reason))
                continue
            }
            if shouldStop() { throw VisageError.interrupted }
            let transform = try times.measure("align") { try EnhancerAlignment.transform(keypoints: face.keypoints, profile: profile) }
            restored.append(RestoredFace(crop: try restore(image, transform: transform, times: times), transform: transform))
            report.enhanced.append(index)
            report.modelRuns += 1
        }
        try composite(restored, into: image, times: times)
        return report
    }

    /// An enhanced copy of `image` (the input is left as it is).
    public func enhanced(_ image: Image, faces: [EnhanceFace], times: StageTimes? = nil,
                         shouldStop: () -> Bool = { false }) throws -> (image: Image, report: EnhanceReport) {
        let copy = image.copy()
        let report = try enhance(copy, faces: faces, times: times, shouldStop: shouldStop)
        return (copy, report)
    }

    // MARK: - Steps (shared with the temporal cache)

    /// Why a face is skipped, or nil when it is large enough for the template.
    func tooSmall(_ face: EnhanceFace) -> String? {
        if face.keypoints.count == 5 {
            let dx = face.keypoints[1].x - face.keypoints[0].x, dy = face.keypoints[1].y - face.keypoints[0].y
            let eyes = (dx * dx + dy * dy).squareRoot()
            if eyes < options.minimumEyeDistance {
                return String(format: "eyes %.1f px apart, under %.0f px: too small for %@'s %d px template",
                              eyes, options.minimumEyeDistance, profile.modelID, profile.size)
            }
        }
        if let box = face.box, min(box.width, box.height) < options.minimumFaceSize {
            return String(format: "box %.0fx%.0f px, under %.0f px", box.width, box.height, options.minimumFaceSize)
        }
        return nil
    }

    /// Aligned crop → network → restored crop ("align" and "model" stages).
    func restore(_ image: Image, transform: Affine2D, times: StageTimes?) throws -> Image {
        let crop = try times.measure("align") { () throws -> Image in
            // One crop buffer for every face: the network reads it before the next face is aligned.
            if cropBuffer?.width != profile.size { cropBuffer = Image(width: profile.size, height: profile.size, channels: 3) }
            try EnhancerAlignment.crop(image, transform: transform, profile: profile, into: cropBuffer!)
            return cropBuffer!
        }
        return try times.measure("model") { try enhancer.restore(crop, fidelity: options.fidelity) }
    }
    private var cropBuffer: Image?

    /// Pastes restored faces and blends the result with the original ("paste_back" and "blend" stages).
    func composite(_ faces: [RestoredFace], into image: Image, times: StageTimes?) throws {
        guard !faces.isEmpty else { return }
        let blend = options.blend
        if blend == 1 {
            try paster.paste(faces, into: image, times: times)
            return
        }
        // The original pixels of every rectangle the paste may touch, for the blend.
        let rects = SoftMaskPaste.clusters(faces.map { SoftMaskPaste.region(of: $0, frameWidth: image.width, frameHeight: image.height) }).map(\.0)
        originalsUsed = 0
        let originals = rects.map { copyOriginal(image, $0) }
        try paster.paste(faces, into: image, times: times)
        try times.measure("blend") {
            for (rect, original) in zip(rects, originals) {
                guard let pasted = image.region(x: rect.x, y: rect.y, width: rect.width, height: rect.height) else { continue }
                // FaceFusion: factor = blend; addWeighted(original, 1 - factor, pasted, factor, 0).
                try ImageOps.addWeighted(original, alpha: 1 - blend, pasted, beta: blend, into: pasted)
            }
        }
    }

    /// A tightly packed copy of one rectangle, in a buffer reused from call to call (no zero-fill).
    private var originalsStorage: [ImageStorage] = []
    private var originalsUsed = 0
    private func copyOriginal(_ image: Image, _ rect: SoftMaskPaste.Rect) -> Image {
        let rowBytes = rect.width * 3, bytes = rowBytes * rect.height
        if originalsUsed >= originalsStorage.count || originalsStorage[originalsUsed].byteCount < bytes {
            let storage = ImageStorage(zeroedByteCount: bytes)
            if originalsUsed < originalsStorage.count { originalsStorage[originalsUsed] = storage } else { originalsStorage.append(storage) }
        }
        let copy = Image(width: rect.width, height: rect.height, channels: 3, depth: .uint8, stride: rowBytes, storage: originalsStorage[originalsUsed])
        originalsUsed += 1
        for y in 0..<rect.height {
            copy.baseAddress.advanced(by: y * rowBytes)
                .copyMemory(from: image.baseAddress.advanced(by: (rect.y + y) * image.stride + rect.x * 3), byteCount: rowBytes)
        }
        return copy
    }

    static func checkImage(_ image: Image) throws {
        guard image.channels == 3, image.depth == .uint8 else {
            throw VisageError.invalidArgument("face enhancement needs an 8-bit BGR image, got \(image.channels) channel(s) of \(image.depth)")
        }
    }
}
