import Foundation
import VisageAU
import VisageCLNF
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

/// Multi-face: people, not tracks, get face_ids. A track that starts is matched to someone no longer
/// visible, by identity (SFace) or, when motion blur spoils the embedding, by continuity (lost moments
/// ago, close by). Shared by the PFLD and CLNF landmark sources.
final class PersonRegistry {
    struct Sighting { var track: Int; var box: Box; var keypoints: [Point] }
    private let embedder: FaceEmbedder
    private var personOfTrack: [Int: Int] = [:]
    private struct Person { var id: Int; var embeddings: [[Float]]; var lastFrame: Int; var lastBox: Box }
    private var people: [Person] = []

    init(embedder: FaceEmbedder) { self.embedder = embedder }

    /// Lets a new track inherit an older track's person (two tracks that were one face).
    func merge(track: Int, into older: Int) {
        if let person = personOfTrack[older], personOfTrack[track] == nil { personOfTrack[track] = person }
    }

    /// The person of each sighting (same order). Sightings are processed oldest track first.
    func persons(_ sightings: [Sighting], in frame: Image, index: Int) throws -> [Int] {
        var present = Set(sightings.compactMap { personOfTrack[$0.track] })
        var result = [Int](repeating: 0, count: sightings.count)
        for k in sightings.indices.sorted(by: { sightings[$0].track < sightings[$1].track }) {
            let sighting = sightings[k]
            let person = try personOfTrack[sighting.track] ?? assign(sighting, in: frame, index: index, taken: present)
            personOfTrack[sighting.track] = person
            present.insert(person)
            if let p = people.firstIndex(where: { $0.id == person }) { people[p].lastFrame = index; people[p].lastBox = sighting.box }
            result[k] = person
        }
        return result
    }

    private func assign(_ sighting: Sighting, in frame: Image, index: Int, taken: Set<Int>) throws -> Int {
        let embedding = try embedder.embed(frame, keypoints: sighting.keypoints)
        let absent = people.indices.filter { !taken.contains(people[$0].id) }
        let byIdentity = absent.map { k in (k, people[k].embeddings.map { FaceEmbedder.similarity(embedding, $0) }.max() ?? -1) }
            .max { $0.1 < $1.1 }
        if let (k, similarity) = byIdentity, similarity >= embedder.profile.threshold {
            people[k].embeddings.append(embedding)
            return people[k].id
        }
        let size = max(sighting.box.width, sighting.box.height)
        let nearby = absent.filter { index - people[$0].lastFrame <= 30 }
            .map { k in (k, Self.distance(people[k].lastBox, sighting.box)) }
            .filter { $0.1 <= 2.5 * size }
            .min { $0.1 < $1.1 }
        if let (k, _) = nearby {
            people[k].embeddings.append(embedding)
            return people[k].id
        }
        let id = (people.map(\.id).max() ?? -1) + 1
        people.append(Person(id: id, embeddings: [embedding], lastFrame: index, lastBox: sighting.box))
        return id
    }

    private static func distance(_ a: Box, _ b: Box) -> Float {
        let dx = (a.x1 + a.x2 - b.x1 - b.x2) / 2, dy = (a.y1 + a.y2 - b.y1 - b.y2) / 2
        return (dx * dx + dy * dy).squareRoot()
    }
}

/// 68 landmarks from our detector + PFLD, with tracking between detections (`--landmarks pfld`).
final class PFLDLandmarkSource: AULandmarkSource {
    let name = "pfld"
    let analyzer: FaceAnalyzer
    var timings = AnalysisTimings()
    private let registry: PersonRegistry?

    init(store: ModelStore, config: SessionConfig, detector: String, detectEvery: Int, maxInputSide: Int,
         reidentify: Bool = false) throws {
        let faceDetector = try DetectorFactory.make(model: detector, store: store, options: DetectionOptions(maxInputSide: maxInputSide),
                                                    config: config)
        let landmarker = try PFLDLandmarker.make(store: store, config: config)
        analyzer = try FaceAnalyzer(detector: faceDetector, landmarker: landmarker, embedder: nil,
                                    options: AnalysisOptions(landmarks: true, pose: false, embeddings: false, detectEvery: detectEvery))
        registry = reidentify ? PersonRegistry(embedder: try FaceEmbedder.make(store: store, config: config)) : nil
    }

    func observe(_ frame: Image, index: Int) throws -> [AUFaceObservation] {
        var faces = try analyzer.analyzeNext(frame, timings: &timings).faces.filter { $0.landmarks != nil }
        guard let registry else {
            return faces.map { AUFaceObservation(faceID: $0.id ?? 0, points: $0.landmarks!, confidence: Double($0.score)) }
        }
        // Two tracks on one face (a drifting track and a fresh detection): keep the newer one,
        // under the older one's person.
        faces.sort { ($0.id ?? 0) > ($1.id ?? 0) }
        var kept: [AnalyzedFace] = []
        for face in faces {
            if let twin = kept.first(where: { $0.box.iou(face.box) > 0.3 }) {
                if let track = twin.id, let older = face.id { registry.merge(track: track, into: older) }
                continue
            }
            kept.append(face)
        }
        let persons = try registry.persons(kept.map { PersonRegistry.Sighting(track: $0.id ?? 0, box: $0.box, keypoints: $0.keypoints) },
                                           in: frame, index: index)
        return zip(kept, persons).map { face, person in
            AUFaceObservation(faceID: person, points: face.landmarks!, confidence: Double(face.score))
        }
    }
}

/// OpenFace's own pipeline (`--landmarks clnf`): MTCNN + CLNF + the CNN validator, one face like
/// FeatureExtraction, or several (`--multi-face`) with people re-identified by SFace.
final class CLNFPersonSource: AULandmarkSource {
    let name = "clnf"
    private let source: AULandmarkSource
    private let registry: PersonRegistry?
    /// Time inside the face detector (MTCNN) and the validator, for `bench au`.
    let times = StageTimes()
    /// Photos (image input): FaceLandmarkImg's per-image fitting of every face.
    let photos: CLNFPhotoFitter

    /// `model` may be shared by several sources (it is read-only apart from its locked covariance cache);
    /// `nil` loads one for this source.
    init(openFaceRoot: URL, store: ModelStore, config: SessionConfig, multiFace: Bool, model shared: CLNFMainModel? = nil) throws {
        let folder = Self.modelFolder(openFaceRoot)
        let log = VisageLog.logger("au")
        let model = try shared ?? CLNFMainModel(openFaceModelFolder: folder)
        let times = self.times
        let detector = TimedFaceDetector(try MTCNNFaceDetector(modelDirectory: folder.appendingPathComponent("mtcnn_detector"), config: config),
                                         times: times)
        // One validator (one ONNX session) for every fit of this source: they all run on its one thread.
        let validator = TimedValidator(try CLNFValidatorFactory.make(folder: folder), times: times)
        photos = CLNFPhotoFitter(detector: CLNFLandmarkDetector(model: model, validator: validator), faceDetector: detector)
        log.info("landmarks: OpenFace CLNF (\(model.parts.map(\.name).joined(separator: ", ")) part models; \(CLNFKernels.summary)), MTCNN face detector")
        if multiFace {
            let tracker = CLNFMultiFaceTracker(model: model, faceDetector: detector, validator: validator)
            source = CLNFMultiFaceSource(tracker: tracker, model: model)
            registry = PersonRegistry(embedder: try FaceEmbedder.make(store: store, config: config))
        } else {
            let landmarks = CLNFLandmarkDetector(model: model, validator: validator)
            // The landmark stage is the pipeline's slowest: with cores to spare, fit the part models (inner
            // face, eyes) concurrently. Results do not depend on it.
            landmarks.threads = config.intraOpThreads == 1 ? 1 : min(3, ProcessInfo.processInfo.activeProcessorCount)
            source = CLNFLandmarkSource(tracker: CLNFVideoTracker(detector: landmarks, faceDetector: detector))
            registry = nil
        }
    }

    static func modelFolder(_ openFaceRoot: URL) -> URL { openFaceRoot.appendingPathComponent("lib/local/LandmarkDetector/model") }

    /// Patch responses and RLMS of the main and part models so far (single-face mode).
    var fitTimes: (main: CLNFFitTimes, parts: CLNFFitTimes)? {
        (source as? CLNFLandmarkSource)?.tracker.detector.times
    }

    func observe(_ frame: Image, index: Int) throws -> [AUFaceObservation] {
        var faces = try source.observe(frame, index: index)
        guard let registry else { return faces }
        let located = faces.indices.filter { faces[$0].success }
        let persons = try registry.persons(located.map { k in
            let l = faces[k].landmarks, n = l.count / 2
            let points = (0..<n).map { Point(l[$0], l[n + $0]) }
            return PersonRegistry.Sighting(track: faces[k].faceID, box: Landmarks68.bounds(points), keypoints: Landmarks68.fivePoints(points))
        }, in: frame, index: index)
        for (k, person) in zip(located, persons) { faces[k].faceID = person }
        return located.map { faces[$0] }
    }
}

/// Times the face detector into a stage ("mtcnn").
final class TimedFaceDetector: OpenFaceFaceDetector {
    let inner: OpenFaceFaceDetector
    let times: StageTimes
    init(_ inner: OpenFaceFaceDetector, times: StageTimes) { self.inner = inner; self.times = times }
    func detect(_ frame: Image) throws -> [OpenFaceDetection] { try times.measure("mtcnn") { try inner.detect(frame) } }
}

/// Times the landmark validator into a stage ("validator").
final class TimedValidator: OpenFaceLandmarkValidator {
    let inner: OpenFaceLandmarkValidator
    let times: StageTimes
    init(_ inner: OpenFaceLandmarkValidator, times: StageTimes) { self.inner = inner; self.times = times }
    func check(gray: Image, landmarks: [Float], rotation: (Float, Float, Float)) throws -> Double {
        try times.measure("validator") { try inner.check(gray: gray, landmarks: landmarks, rotation: rotation) }
    }
}

/// Everything `visage au` and `visage bench au` need to run the AU stage on one input.
struct AUJob {
    let models: AUModels
    let makeSource: () throws -> AULandmarkSource
    let online: Bool
    let multiFace: Bool

    struct Result {
        var frames = 0
        var seconds = 0.0
        var persons: [AURecorder.PersonSeries] = []
        var times: [String: Double] = [:]
        var order: [String] = []
    }

    /// decode ∥ landmarks ∥ AU features + CSV, frames in order.
    func runVideo(_ reader: VideoReader, csv: URL?, pipelined: Bool = true, progressLabel: String?,
                  maxFrames: Int? = nil, onRecorder: ((AURecorder) -> Void)? = nil) throws -> Result {
        let camera = Geometry3D.Camera.openFaceDefault(width: reader.width, height: reader.height)
        let recorder = try AURecorder(models: models, options: AURecorder.Options(camera: camera, online: online, multiFace: multiFace), csv: csv)
        onRecorder?(recorder)
        let source = try makeSource()
        let landmarkTimes = StageTimes()
        let fps = reader.fps > 0 ? reader.fps : 30
        let start = ContinuousClock.now
        var next: () throws -> (Int, Image, [AUFaceObservation])?
        var index = 0
        var stop: () -> Void = {}
        if pipelined {
            let decoder = FramePrefetcher(reader)
            nonisolated(unsafe) let src = source
            nonisolated(unsafe) var counter = 0
            let stage = AsyncStage<(Int, Image, [AUFaceObservation])>(name: "visage.landmarks", depth: 3) {
                guard let frame = try decoder.next() else { return nil }
                defer { counter += 1 }
                if let maxFrames, counter >= maxFrames { return nil }
                let faces = try landmarkTimes.measure("landmarks") { try src.observe(frame, index: counter) }
                return (counter, frame, faces)
            }
            next = { try stage.next() }
            stop = { stage.stop(); decoder.stop() }
        } else {
            next = {
                guard maxFrames.map({ index < $0 }) ?? true, let frame = try landmarkTimes.measure("decode", { try reader.read() }) else { return nil }
                let faces = try landmarkTimes.measure("landmarks") { try source.observe(frame, index: index) }
                return (index, frame, faces)
            }
        }
        defer { stop() }
        let progress = progressLabel.map { Progress(total: maxFrames ?? reader.frameCount, label: $0) }
        var result = Result()
        do {
            while let (i, frame, faces) = try next() {
                try Interrupt.check()
                // OpenFace's timestamps for files are frame / fps; cameras get wall-clock time.
                let timestamp = reader.frameCount == 0 && reader.path.hasPrefix("camera")
                    ? (ContinuousClock.now - start).seconds : Double(i) / fps
                try recorder.add(frame: frame, index: i, timestamp: timestamp, faces: faces)
                index = i + 1
                result.frames += 1
                progress?.update(result.frames)
            }
            result.persons = try recorder.finish()
        } catch {
            recorder.abandon()
            throw error
        }
        progress?.done()
        result.seconds = (ContinuousClock.now - start).seconds
        if let clnf = source as? CLNFPersonSource {
            for name in clnf.times.order { landmarkTimes.add(name, clnf.times.milliseconds[name] ?? 0) }
            if let fit = clnf.fitTimes {
                landmarkTimes.add("clnf_main_responses", 1000 * fit.main.responses)
                landmarkTimes.add("clnf_main_rlms", 1000 * fit.main.optimisation)
                landmarkTimes.add("clnf_parts_responses", 1000 * fit.parts.responses)
                landmarkTimes.add("clnf_parts_rlms", 1000 * fit.parts.optimisation)
            }
        }
        if let pfld = source as? PFLDLandmarkSource {
            landmarkTimes.add("detect", pfld.timings.detect)
            landmarkTimes.add("pfld", pfld.timings.landmarks)
        }
        for (name, ms) in landmarkTimes.milliseconds { result.times[name] = ms; result.order.append(name) }
        for name in recorder.times.order { result.times[name] = recorder.times.milliseconds[name]; result.order.append(name) }
        return result
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// The CLNF model loaded on first use and then shared by every source of one command: a folder of videos
/// parses the patch experts once and computes each response covariance once, not once per video.
final class SharedCLNFModel: @unchecked Sendable {
    private let folder: URL
    private let lock = NSLock()
    private var model: CLNFMainModel?

    init(openFaceRoot: URL) { folder = CLNFPersonSource.modelFolder(openFaceRoot) }

    func get() throws -> CLNFMainModel {
        lock.lock()
        defer { lock.unlock() }
        if let model { return model }
        let loaded = try CLNFMainModel(openFaceModelFolder: folder)
        model = loaded
        return loaded
    }
}
