import VisageAU
import VisageCore
import VisageMedia

/// Several faces tracked at once, each by its own FeatureExtraction-style `CLNFVideoTracker`, the way
/// OpenFace's FaceLandmarkVidMulti does it: a fixed number of model slots; every `detectEvery` frames, while a
/// slot is free, the face detector runs and each detection that does not overlap a tracked face starts a free
/// slot; a slot that keeps failing is freed again. FeatureExtraction itself tracks one face only.
///
/// Each slot's tracker asks its face detector only when it wants one (its first frame, or re-detection while
/// failing); the slot's detector answers with the box it was started on, or with this frame's detection
/// closest to where the slot's face was, so a briefly lost face is picked up again by the same slot.
public final class CLNFMultiFaceTracker: @unchecked Sendable {
    public struct Track: Sendable {
        /// Unique per slot activation: a new face (or a face found again after its slot was freed) gets a new one.
        public var trackID: Int
        public var result: CLNFResult
    }

    public let faceDetector: OpenFaceFaceDetector
    public let detectEvery: Int
    /// Failed frames in a row after which a slot is freed.
    public let maximumFailures: Int
    private var slots: [Slot]
    private var frameIndex = 0
    private var nextTrackID = 0
    private var frameDetections: [OpenFaceDetection]?
    private var currentFrame: Image?

    /// The slots run one after another, so they share `validator`.
    public init(model: CLNFMainModel, faceDetector: OpenFaceFaceDetector, validator: OpenFaceLandmarkValidator?,
                parameters: CLNFParameters = .openFaceVideo, maximumFaces: Int = 4, detectEvery: Int = 8,
                maximumFailures: Int = 10) {
        self.faceDetector = faceDetector
        self.detectEvery = max(1, detectEvery)
        self.maximumFailures = maximumFailures
        slots = []
        for _ in 0..<max(1, maximumFaces) {
            let slotDetector = SlotDetector()
            let landmarks = CLNFLandmarkDetector(model: model, validator: validator, parameters: parameters)
            slots.append(Slot(tracker: CLNFVideoTracker(detector: landmarks, faceDetector: slotDetector), detector: slotDetector))
        }
        for slot in slots { slot.detector.owner = self }
    }

    /// Tracks every face in the next frame (`frame` BGR uint8, `gray` its grey conversion). Returns the active
    /// slots' results in slot order, successful or not.
    public func process(frame: Image, gray: Image) throws -> [Track] {
        defer { frameIndex += 1; frameDetections = nil; currentFrame = nil }
        currentFrame = frame
        if frameIndex % detectEvery == 0, slots.contains(where: { !$0.active }) {
            for detection in try detections() where !overlapsTrackedFace(detection.box) {
                guard let free = slots.firstIndex(where: { !$0.active }) else { break }
                slots[free].tracker.reset()
                slots[free].detector.assigned = detection.box
                slots[free].active = true
                slots[free].trackID = nextTrackID
                slots[free].lastBox = detection.box
                nextTrackID += 1
            }
        }
        var tracks: [Track] = []
        for k in slots.indices where slots[k].active {
            slots[k].detector.lastBox = slots[k].lastBox
            let result = try slots[k].tracker.process(frame: frame, gray: gray)
            slots[k].detector.assigned = nil
            let failed = !slots[k].tracker.trackingInitialised || slots[k].tracker.failuresInARow >= maximumFailures
            if failed {
                slots[k].active = false
                continue
            }
            if result.success { slots[k].lastBox = Self.bounds(result.landmarks) }
            tracks.append(Track(trackID: slots[k].trackID, result: result))
        }
        return dropDuplicates(tracks)
    }

    /// Two slots that converged on one face: the older track stays.
    private func dropDuplicates(_ tracks: [Track]) -> [Track] {
        var kept: [Track] = []
        for track in tracks.sorted(by: { $0.trackID < $1.trackID }) {
            let box = Self.bounds(track.result.landmarks)
            if kept.contains(where: { $0.result.success && track.result.success && Self.overlap(Self.bounds($0.result.landmarks), box) > 0.5 }) {
                if let k = slots.firstIndex(where: { $0.active && $0.trackID == track.trackID }) { slots[k].active = false }
                continue
            }
            kept.append(track)
        }
        return kept
    }

    fileprivate func detections() throws -> [OpenFaceDetection] {
        if let frameDetections { return frameDetections }
        guard let currentFrame else { return [] }
        let found = try faceDetector.detect(currentFrame)
        frameDetections = found
        return found
    }

    /// A detection for a slot that lost its face: this frame's detection closest to where the face was,
    /// within one face size, that no other slot is tracking.
    fileprivate func redetection(near box: Box?) throws -> Box? {
        guard let box else { return nil }
        let size = max(box.width, box.height)
        return try detections()
            .filter { !overlapsTrackedFace($0.box, excluding: box) }
            .map { ($0.box, Self.distance($0.box.center, box.center)) }
            .filter { $0.1 <= size }
            .min { $0.1 < $1.1 }?.0
    }

    private func overlapsTrackedFace(_ box: Box, excluding own: Box? = nil) -> Bool {
        slots.contains { slot in
            guard slot.active, let tracked = slot.lastBox, tracked != own else { return false }
            return Self.overlap(tracked, box) > 0.5
        }
    }

    /// Intersection over the smaller box's area.
    static func overlap(_ a: Box, _ b: Box) -> Float {
        let w = min(a.x2, b.x2) - max(a.x1, b.x1), h = min(a.y2, b.y2) - max(a.y1, b.y1)
        guard w > 0, h > 0 else { return 0 }
        return w * h / max(1e-6, min(a.area, b.area))
    }

    /// The landmarks' bounding box (x…, y… layout).
    static func bounds(_ landmarks: [Float]) -> Box {
        let n = landmarks.count / 2
        let xs = landmarks[0..<n], ys = landmarks[n...]
        return Box(x1: xs.min() ?? 0, y1: ys.min() ?? 0, x2: xs.max() ?? 0, y2: ys.max() ?? 0)
    }

    static func distance(_ a: Point, _ b: Point) -> Float {
        ((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot()
    }

    private struct Slot {
        let tracker: CLNFVideoTracker
        let detector: SlotDetector
        var active = false
        var trackID = -1
        var lastBox: Box?
    }
}

/// The face detector one slot's tracker sees.
private final class SlotDetector: OpenFaceFaceDetector {
    weak var owner: CLNFMultiFaceTracker?
    var assigned: Box?
    var lastBox: Box?

    func detect(_ frame: Image) throws -> [OpenFaceDetection] {
        if let assigned { return [OpenFaceDetection(box: assigned, confidence: 1)] }
        guard let box = try owner?.redetection(near: lastBox) else { return [] }
        return [OpenFaceDetection(box: box, confidence: 1)]
    }
}

/// CLNF for `--multi-face`: one observation per tracked face, keyed by track (the caller maps tracks to people).
public final class CLNFMultiFaceSource: AULandmarkSource {
    public let name = "clnf-multi"
    public let tracker: CLNFMultiFaceTracker
    private let builder: CLNFObservationBuilder

    public init(tracker: CLNFMultiFaceTracker, model: CLNFMainModel) {
        self.tracker = tracker
        builder = CLNFObservationBuilder(model: model)
    }

    /// Observations carry the track id as `faceID`.
    public func observe(_ frame: Image, index: Int) throws -> [AUFaceObservation] {
        let tracks = try tracker.process(frame: frame, gray: try CLNFObservationBuilder.gray(frame))
        return tracks.map { builder.observation($0.result, faceID: $0.trackID) }
    }
}
