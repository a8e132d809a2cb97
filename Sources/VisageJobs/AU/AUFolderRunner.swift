import Foundation
import VisageAU
import VisageCore
import VisageMedia

/// A folder of videos (several at once, one CSV each, into the output folder, which is made if missing)
/// and of photos (one sequence, one CSV named after the folder). A video that fails is recorded and the
/// others go on; the result lists the failures.
struct AUFolderRunner: Sendable {
    let job: AUJob
    let models: AUModels
    let factory: AULandmarkSourceFactory
    let context: JobContext

    func run() throws -> AUResult {
        let folder = job.input!
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted().filter { !$0.hasPrefix(".") }
        let videos = names.filter(MediaKind.isVideo).map { folder + "/" + $0 }
        let images = names.filter(MediaKind.isImage).map { folder + "/" + $0 }
        guard !videos.isEmpty || !images.isEmpty else { throw VisageError.invalidArgument("\(folder) has no videos or images") }
        let outDir = URL(fileURLWithPath: job.output ?? ".").standardizedFileURL
        do { try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true) } catch {
            throw VisageError.writeFailed(path: outDir.path, reason: AtomicFile.describe(error))
        }
        try OutputCheck.validate(outDir.path, kind: .folder, inputs: [folder])
        var result = AUResult(layout: models.layout)
        let runner = AURunner(models: models, sources: factory, online: job.online, multiFace: job.multiFace)
        if !images.isEmpty {
            let csv = outDir.appendingPathComponent(URL(fileURLWithPath: folder).lastPathComponent + ".csv")
            result.add(try runner.runImages(images, csv: csv, context: context), csv: csv.path, input: folder)
        }
        // A bounded pool: each video has its own decode and landmark threads already.
        let workers = min(max(1, job.jobs > 0 ? job.jobs : ProcessInfo.processInfo.activeProcessorCount / 2), max(1, videos.count))
        let next = Locked(0)
        let outcomes = Locked<[Int: Result<AURunner.Outcome, Error>]>([:])
        let meter = Locked(ProgressMeter(stage: "au folder", total: videos.count, sink: context.progress))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while !context.cancellation.isCancelled {
                let k: Int = next.withLock { n in defer { n += 1 }; return n }
                guard k < videos.count else { return }
                let csv = Self.csv(for: videos[k], in: outDir)
                let outcome = Result { try runner.runVideo(opening: { try VideoReader(path: videos[k]) }, csv: csv, context: context, progressStage: nil) }
                outcomes.withLock { $0[k] = outcome }
                meter.withLock { $0.advance() }
            }
        }
        try context.cancellation.check()
        meter.withLock { $0.finish() }
        for (k, video) in videos.enumerated() {
            switch outcomes.value[k] {
            case .success(let outcome)?:
                result.files.append(AUFileResult(input: video, csv: Self.csv(for: video, in: outDir).path, frames: outcome.frames,
                                                 faceIDs: outcome.persons.count, seconds: outcome.seconds))
                if let damage = outcome.decodeReport { result.warnings.append(damage) }
            case .failure(let error)?:
                result.failures.append(InputFailure(input: video, error: "\(error)"))
            case nil:
                break
            }
        }
        return result
    }

    static func csv(for video: String, in folder: URL) -> URL {
        folder.appendingPathComponent(URL(fileURLWithPath: video).deletingPathExtension().lastPathComponent + ".csv")
    }
}
