import Foundation
import VisageAU
import VisageCLNF
import VisageCore
import VisageFace
import VisageMedia

/// Runs the AU stage over one stream: a video (decode ∥ landmarks ∥ AU features + CSV, frames in order)
/// or a sequence of photos (OpenFace's -fdir). Used by `AUJob` and `visage bench au`.
struct AURunner: Sendable {
    let models: AUModels
    let sources: AULandmarkSourceFactory
    let online: Bool
    let multiFace: Bool

    /// What a run did, with the time per stage (for `bench au`).
    struct Outcome {
        var frames = 0
        var seconds = 0.0
        var persons: [AURecorder.PersonSeries] = []
        var times: [String: Double] = [:]
        var order: [String] = []
        /// A damaged or cut-short video, in words.
        var decodeReport: String?
    }

    /// - Parameter open: gives the video; called once the landmark source is ready, so a reader opened in the
    ///   background (probe and decoder start are other processes) overlaps the loading of the landmark models.
    func runVideo(opening open: () throws -> VideoReader, csv: URL?, pipelined: Bool = true, context: JobContext, progressStage: String?,
                  maxFrames: Int? = nil) throws -> Outcome {
        try OpenCVThreadPool.withPoolOff {
            try runVideoPoolOff(opening: open, csv: csv, pipelined: pipelined, context: context, progressStage: progressStage,
                                maxFrames: maxFrames)
        }
    }

    private func runVideoPoolOff(opening open: () throws -> VideoReader, csv: URL?, pipelined: Bool, context: JobContext,
                                 progressStage: String?, maxFrames: Int?) throws -> Outcome {
        let source = try sources.make()
        let reader = try open()
        let camera = Geometry3D.Camera.openFaceDefault(width: reader.width, height: reader.height)
        let recorder = try AURecorder(models: models, options: AURecorder.Options(camera: camera, online: online, multiFace: multiFace), csv: csv)
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
        let meter = progressStage.map { ProgressMeter(stage: $0, total: maxFrames ?? reader.frameCount, sink: context.progress) }
        var outcome = Outcome()
        do {
            while let (i, frame, faces) = try next() {
                try context.cancellation.check()
                // OpenFace's timestamps for files are frame / fps; cameras get wall-clock time.
                let timestamp = reader.frameCount == 0 && reader.path.hasPrefix("camera")
                    ? (ContinuousClock.now - start).seconds : Double(i) / fps
                try recorder.add(frame: frame, index: i, timestamp: timestamp, faces: faces)
                index = i + 1
                outcome.frames += 1
                meter?.advance()
            }
            outcome.persons = try recorder.finish()
        } catch {
            recorder.abandon()
            throw error
        }
        meter?.finish()
        outcome.seconds = (ContinuousClock.now - start).seconds
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
        for (name, ms) in landmarkTimes.milliseconds { outcome.times[name] = ms; outcome.order.append(name) }
        for name in recorder.times.order { outcome.times[name] = recorder.times.milliseconds[name]; outcome.order.append(name) }
        outcome.decodeReport = reader.decodeReport.summary.map { "\(reader.path): \($0)" }
        return outcome
    }

    /// Photos as one sequence (OpenFace's -fdir): every face of each photo, fitted afresh.
    func runImages(_ paths: [String], csv: URL?, context: JobContext) throws -> Outcome {
        let first = try ImageIO.read(paths[0])
        let camera = Geometry3D.Camera.openFaceDefault(width: first.width, height: first.height)
        let recorder = try AURecorder(models: models, options: AURecorder.Options(camera: camera, online: online, multiFace: multiFace), csv: csv)
        let source = try sources.make()
        var outcome = Outcome()
        let start = ContinuousClock.now
        let meter = ProgressMeter(stage: "au", total: paths.count, sink: context.progress)
        do {
            for (i, path) in paths.enumerated() {
                try context.cancellation.check()
                let image = i == 0 ? first : try ImageIO.read(path)
                let faces: [AUFaceObservation]
                if let pfld = source as? PFLDLandmarkSource {
                    faces = try pfld.observePhoto(image)
                } else if let clnf = source as? CLNFPersonSource {
                    faces = try clnf.photos.observations(image)
                } else {
                    faces = try source.observe(image, index: i)
                }
                try recorder.add(frame: image, index: i, timestamp: 0, faces: faces)
                outcome.frames += 1
                meter.advance()
            }
            outcome.persons = try recorder.finish()
        } catch {
            recorder.abandon()
            throw error
        }
        meter.finish()
        outcome.seconds = (ContinuousClock.now - start).seconds
        return outcome
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
