import Foundation
import VisageCore
import VisageMedia

/// Turns a stream of frames and their face landmarks into OpenFace FeatureExtraction output:
/// per-face features (in parallel when several faces are present), one AU state machine per
/// person, CSV rows in frame order, and (for files) OpenFace's offline post-processing at the end.
///
/// Single-face mode follows FeatureExtraction: one row per frame, face_id 0, `success = 0` rows
/// when the face is missing. Multi-face mode writes one row per person present in the frame,
/// each person with their own running median (OpenFace itself tracks only one face here).
public final class AURecorder {
    public struct Options: Sendable {
        /// Online: OpenFace's live rules (AUs final as each frame arrives). Offline: file rules.
        public var online = false
        public var multiFace = false
        public var camera: Geometry3D.Camera
        public init(camera: Geometry3D.Camera, online: Bool = false, multiFace: Bool = false) {
            self.camera = camera
            self.online = online
            self.multiFace = multiFace
        }
    }

    /// What one person looked like over the run (for plots and summaries).
    public struct PersonSeries: Sendable, Codable {
        public var faceID: Int
        /// 1-based frame numbers of the person's rows.
        public var frames: [Int] = []
        public var timestamps: [Double] = []
        public var success: [Bool] = []
        /// [frame][AU] intensities, as finally written.
        public var intensities: [[Double]] = []
        public var presences: [[Double]] = []
    }

    public let models: AUModels
    public let options: Options
    public let layout: OpenFaceCSVLayout
    public let times = StageTimes()
    private let writer: OpenFaceCSVWriter?
    private var processors: [AUFaceProcessor] = []
    private var analyzers: [Int: AUSequenceAnalyzer] = [:]
    private var series: [Int: PersonSeries] = [:]
    /// Per CSV row: which person and which entry of their sequence (offline fill-in).
    private var rowOwner: [(face: Int32, index: Int32)] = []
    private var currentPerson: Int?
    private var faceIDs: [Int: Int] = [:]
    public private(set) var frameCount = 0
    public private(set) var facesProcessed = 0

    /// - Parameter csv: where to write OpenFace's CSV (nil: no CSV, e.g. `--jsonl` only).
    public init(models: AUModels, options: Options, csv: URL?) throws {
        self.models = models
        self.options = options
        layout = models.layout
        writer = try csv.map { try OpenFaceCSVWriter(destination: $0, layout: models.layout, auMode: options.online ? .online : .offline) }
        processors = [try AUFaceProcessor(models: models)]
    }

    deinit { writer?.abandon() }

    /// Adds frame `index` (0-based) with the faces a landmark source found in it.
    /// - Parameter sourceScale: source pixels per pixel of `frame`, when the frame was scaled down from the
    ///   source (the live pipeline processes smaller frames): the CSV's pixel columns (2D landmarks, eye
    ///   landmarks, p_scale, p_tx, p_ty) are written in the source's pixels, and the pose is computed with the
    ///   camera scaled to the frame, so it is the source camera's pose. 1: as is (files).
    public func add(frame: Image, index: Int, timestamp: Double, faces observed: [AUFaceObservation], sourceScale: Double = 1) throws {
        frameScale = sourceScale
        var options = self.options
        if sourceScale != 1 {
            let c = options.camera
            options.camera = Geometry3D.Camera(fx: c.fx / sourceScale, fy: c.fy / sourceScale, cx: c.cx / sourceScale, cy: c.cy / sourceScale)
        }
        frameCount += 1
        let located = observed.filter { $0.landmarks.count == 2 * models.pdm.pointCount }
        var faces = located.filter(\.success)
        // A tracked face the landmark model itself rejected (CLNF's validator): OpenFace still writes its
        // landmarks, parameters and pose, with success 0, and the AU stage sees a failed frame.
        var rejected: AUFaceObservation?
        var rejectedFaces: [AUFaceObservation] = []
        if !options.multiFace {
            // FeatureExtraction follows one person: stay with them while they are visible.
            let keep = faces.first { $0.faceID == currentPerson } ?? faces.max { Self.span($0) < Self.span($1) }
            currentPerson = keep?.faceID
            faces = keep.map { face in
                var f = face
                f.faceID = 0
                return [f]
            } ?? []
            if faces.isEmpty { rejected = located.first { $0.modelFit != nil } }
        } else {
            faces = faces.map { face in
                var f = face
                f.faceID = compactID(face.faceID)
                return f
            }
            rejectedFaces = located.filter { !$0.success && $0.modelFit != nil }.map { face in
                var f = face
                f.faceID = compactID(face.faceID)
                return f
            }
        }
        while processors.count < faces.count { processors.append(try AUFaceProcessor(models: models)) }
        for face in faces + rejectedFaces where analyzers[face.faceID] == nil {
            analyzers[face.faceID] = AUSequenceAnalyzer(predictors: models.predictors, online: options.online)
            series[face.faceID] = PersonSeries(faceID: face.faceID)
        }

        var records = [OpenFaceRecord?](repeating: nil, count: faces.count)
        var results = [AUFrameResult?](repeating: nil, count: faces.count)
        if faces.count == 1 {
            (records[0], results[0]) = try processFace(faces[0], worker: processors[0], frame: frame, index: index,
                                                       timestamp: timestamp, options: options, times: times)
        } else if faces.count > 1 {
            // Several people: their features and state machines are independent; each worker
            // and each analyzer is touched by exactly one iteration.
            nonisolated(unsafe) let workers = processors, people = faces.map { self.analyzers[$0.faceID]! }
            let inputs = faces
            let opts = options
            let failures = Locked<Error?>(nil)
            records.withUnsafeMutableBufferPointer { recordSlots in
                results.withUnsafeMutableBufferPointer { resultSlots in
                    nonisolated(unsafe) let r = recordSlots, s = resultSlots
                    DispatchQueue.concurrentPerform(iterations: inputs.count) { i in
                        do {
                            (r[i], s[i]) = try Self.features(of: inputs[i], worker: workers[i], analyzer: people[i], frame: frame,
                                                             index: index, timestamp: timestamp, options: opts, times: nil)
                        } catch {
                            failures.keepFirst(error)
                        }
                    }
                }
            }
            let failure = failures.value
            if let failure { throw failure }
        }

        for face in rejectedFaces {
            // Multi-face photos: a face the landmark model rejected is still a row (success 0), as FaceLandmarkImg writes it.
            let result = analyzers[face.faceID]!.addFrame(hog: UnsafeBufferPointer(start: nil, count: 0),
                                                         geometry: UnsafeBufferPointer(start: nil, count: 0), success: false, timestamp: timestamp)
            var record = OpenFaceRecord(frame: index + 1, faceID: face.faceID, timestamp: timestamp, layout: layout)
            if let fit = face.modelFit { Self.fillGeometry(&record, face: face, fit: fit, pdm: models.pdm, camera: options.camera) }
            record.intensities = result.intensities
            record.presences = result.presences
            try emit(record, result: result)
        }
        if faces.isEmpty && !options.multiFace {
            // OpenFace writes a failed row and lets the person's analyzer see the gap.
            let analyzer = analyzers[0] ?? {
                let a = AUSequenceAnalyzer(predictors: models.predictors, online: options.online)
                analyzers[0] = a
                series[0] = PersonSeries(faceID: 0)
                return a
            }()
            let result = analyzer.addFrame(hog: UnsafeBufferPointer(start: nil, count: 0), geometry: UnsafeBufferPointer(start: nil, count: 0),
                                           success: false, timestamp: timestamp)
            var record = OpenFaceRecord(frame: index + 1, faceID: 0, timestamp: timestamp, layout: layout)
            if let rejected, let fit = rejected.modelFit {
                Self.fillGeometry(&record, face: rejected, fit: fit, pdm: models.pdm, camera: options.camera)
            }
            record.intensities = result.intensities
            record.presences = result.presences
            try emit(record, result: result)
        }
        for (record, result) in zip(records, results) {
            if let record, let result { try emit(record, result: result) }
        }
        facesProcessed += faces.count
    }

    private func processFace(_ face: AUFaceObservation, worker: AUFaceProcessor, frame: Image, index: Int, timestamp: Double,
                             options: Options, times: StageTimes?) throws -> (OpenFaceRecord, AUFrameResult) {
        try Self.features(of: face, worker: worker, analyzer: analyzers[face.faceID]!, frame: frame, index: index,
                          timestamp: timestamp, options: options, times: times)
    }

    private static func features(of face: AUFaceObservation, worker: AUFaceProcessor, analyzer: AUSequenceAnalyzer, frame: Image,
                                 index: Int, timestamp: Double, options: Options, times: StageTimes?) throws -> (OpenFaceRecord, AUFrameResult) {
        let fit = try worker.process(frame: frame, landmarks: face.landmarks, times: times)
        var result = AUFrameResult(for: analyzer.predictors)
        times.measure("median_and_svr") {
            worker.hog.withUnsafeBufferPointer { hog in
                worker.geometry.withUnsafeBufferPointer { geometry in
                    analyzer.addFrame(hog: hog, geometry: geometry, success: true, timestamp: timestamp, into: &result)
                }
            }
        }
        let pdm = worker.models.pdm
        var record = OpenFaceRecord(frame: index + 1, faceID: face.faceID, timestamp: timestamp, layout: worker.models.layout)
        record.success = true
        times.measure("pose_3d") {
            fillGeometry(&record, face: face, fit: face.modelFit ?? fit, pdm: pdm, camera: options.camera)
        }
        if let eyes = face.eyes {
            let gaze = OpenFaceGaze.columns(face3D: record.landmarks3D, headPose: (record.pose[3], record.pose[4], record.pose[5]),
                                            eyes: eyes, camera: options.camera)
            record.gaze = gaze.gaze
            record.eyeLandmarks2D = gaze.eyeLandmarks2D
            record.eyeLandmarks3D = gaze.eyeLandmarks3D
        }
        record.intensities = result.intensities
        record.presences = result.presences
        return (record, result)
    }

    /// Confidence, 2D landmarks, PDM parameters, pose and 3D landmarks: what FeatureExtraction derives from
    /// the landmark model's state (its own PDM fit when it has one).
    private static func fillGeometry(_ record: inout OpenFaceRecord, face: AUFaceObservation, fit: PDMFit,
                                     pdm: PointDistributionModel, camera: Geometry3D.Camera) {
        record.confidence = face.confidence
        record.landmarks2D = face.landmarks
        let g = fit.global
        record.globalParameters = [g.scale, g.rx, g.ry, g.rz, g.tx, g.ty]
        record.localParameters = fit.local
        (record.pose, record.landmarks3D) = OpenFacePose.estimate(fit: fit, pdm: pdm, landmarks: face.landmarks, camera: camera)
    }

    /// Source pixels per frame pixel of the frame being added.
    private var frameScale = 1.0

    private func emit(_ unscaled: OpenFaceRecord, result: AUFrameResult) throws {
        var record = unscaled
        if frameScale != 1 {
            let s = Float(frameScale)
            record.landmarks2D = record.landmarks2D.map { $0 * s }
            record.eyeLandmarks2D = record.eyeLandmarks2D.map { $0 * s }
            if record.globalParameters.count == 6 {
                record.globalParameters[0] *= s
                record.globalParameters[4] *= s
                record.globalParameters[5] *= s
            }
        }
        var person = series[record.faceID]!
        rowOwner.append((Int32(record.faceID), Int32(person.timestamps.count)))
        person.frames.append(record.frame)
        person.timestamps.append(record.timestamp)
        person.success.append(record.success)
        if options.online {
            person.intensities.append(result.intensities)
            person.presences.append(result.presences)
        }
        series[record.faceID] = person
        if let writer { try times.measure("csv") { try writer.append(record) } }
    }

    /// Completes the run: offline post-processing per person, the CSV moved into place.
    /// Returns every person's final AU series (for plots and JSON lines).
    @discardableResult
    public func finish() throws -> [PersonSeries] {
        if !options.online {
            for (id, analyzer) in analyzers {
                let final = analyzer.finishOffline()
                series[id]!.intensities = final.map(\.intensities)
                series[id]!.presences = final.map(\.presences)
            }
        }
        if let writer {
            let owners = rowOwner, all = series
            try writer.finish { row in
                let (face, index) = owners[row]
                let person = all[Int(face)]!
                return (person.intensities[Int(index)], person.presences[Int(index)])
            }
        }
        return series.values.sorted { $0.faceID < $1.faceID }
    }

    /// Drops partial output (interrupted runs).
    public func abandon() { writer?.abandon() }

    private func compactID(_ trackID: Int) -> Int {
        if let id = faceIDs[trackID] { return id }
        let id = faceIDs.count
        faceIDs[trackID] = id
        return id
    }

    private static func span(_ face: AUFaceObservation) -> Float {
        let n = face.landmarks.count / 2
        guard n > 0 else { return 0 }
        let xs = face.landmarks[0..<n], ys = face.landmarks[n..<2 * n]
        return (xs.max()! - xs.min()!) * (ys.max()! - ys.min()!)
    }
}
