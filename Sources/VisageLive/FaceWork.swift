import Foundation
import VisageAU
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime
import VisageSwap

/// Detection every k frames with landmark tracking in between (VisageFace's FaceAnalyzer),
/// following the controller's interval and detector size.
public final class FaceTrackingStage: @unchecked Sendable {
    public let analyzer: FaceAnalyzer
    public let detector: SwitchableDetector
    private var frameSize: (Int, Int)?

    public init(detector: SwitchableDetector, landmarker: PFLDLandmarker, detectEvery: Int) throws {
        self.detector = detector
        analyzer = try FaceAnalyzer(detector: detector, landmarker: landmarker, embedder: nil,
                                    options: AnalysisOptions(landmarks: true, pose: false, embeddings: false, detectEvery: detectEvery))
    }

    public func analyze(_ frame: Image, settings: QualitySettings) throws -> [AnalyzedFace] {
        if analyzer.options.detectEvery != settings.detectEvery { analyzer.setDetectEvery(settings.detectEvery) }
        try detector.use(side: settings.detectorSide)
        var timings = AnalysisTimings()
        return try analyzer.analyzeNext(frame, timings: &timings).faces.filter { $0.landmarks != nil }
    }
}

/// The live pipeline's real work: detect/track faces; then OpenFace AUs (online rules, CSV)
/// and/or a face swap; or, with neither, boxes drawn on the faces.
public final class FaceWork: LiveWork, @unchecked Sendable {
    public let tracking: FaceTrackingStage
    public let swapper: FaceSwapEngine?
    public let au: AURecorder?
    public let manyFaces: Bool
    /// Draw the visible "AI-altered" mark on swapped frames.
    public let watermark: Bool
    /// The source's width: AU coordinates are written in the source's pixels, whatever size frames are processed at.
    public let sourceWidth: Int?
    public let name: String

    public init(tracking: FaceTrackingStage, swapper: FaceSwapEngine?, au: AURecorder?, manyFaces: Bool, watermark: Bool = false,
                sourceWidth: Int? = nil) {
        self.sourceWidth = sourceWidth
        self.tracking = tracking
        self.swapper = swapper
        self.au = au
        self.manyFaces = manyFaces
        self.watermark = watermark
        var parts: [String] = []
        if au != nil { parts.append("AUs") }
        if let swapper { parts.append(swapper.isNeural ? "inswapper swap" : "landmark swap") }
        name = parts.isEmpty ? "detect only" : parts.joined(separator: " + ")
    }

    public func analyze(_ frame: inout LiveFrame) throws {
        frame.faces = try tracking.analyze(frame.image, settings: frame.settings)
    }

    public func process(_ frame: inout LiveFrame) throws {
        if let au {
            // AUs read the real face, so they come before the swap changes it.
            let faces = frame.faces.map { AUFaceObservation(faceID: $0.id ?? 0, points: $0.landmarks!, confidence: Double($0.score)) }
            let scale = sourceWidth.map { Double($0) / Double(frame.image.width) } ?? 1
            try au.add(frame: frame.image, index: frame.number, timestamp: frame.timestamp, faces: faces, sourceScale: scale)
        }
        guard let swapper else {
            if au == nil { for face in frame.faces { Drawing.rectangle(frame.image, face.box) } }
            return
        }
        let chosen = manyFaces ? frame.faces : (frame.faces.max { $0.box.area < $1.box.area }.map { [$0] } ?? [])
        if chosen.count > 1 && Self.apart(chosen.map(\.box)) && swapper.options.mouthMask == 0 {
            // Faces far enough apart touch disjoint pixels: swap them at the same time.
            let image = frame.image
            let errors = Locked<Error?>(nil)
            DispatchQueue.concurrentPerform(iterations: chosen.count) { k in
                do { try swapper.swap(chosen[k], in: image) } catch { errors.keepFirst(error) }
            }
            if let error = errors.value { throw error }
        } else {
            for face in chosen { try swapper.swap(face, in: frame.image) }
        }
        if watermark { SyntheticMediaMark.draw(on: frame.image) }
    }

    /// Boxes grown by half their size do not overlap (the swappers' blend regions stay inside).
    static func apart(_ boxes: [Box]) -> Bool {
        let grown = boxes.map { b in
            Box(x1: b.x1 - b.width / 2, y1: b.y1 - b.height / 2, x2: b.x2 + b.width / 2, y2: b.y2 + b.height / 2)
        }
        for i in grown.indices { for j in grown.indices where j > i && grown[i].iou(grown[j]) > 0 { return false } }
        return true
    }

    public func finish() throws { _ = try au?.finish() }
    public func abandon() { au?.abandon() }
}
