import Foundation
import VisageCore
import VisageFace
import VisageMedia

/// The video path of the jobs that change faces in place (swap, enhance): decode ∥ detect/track ∥ edit +
/// encode, frames in order. The output keeps the input's time base and timestamps (start offsets and variable
/// frame rates survive, copied audio stays in sync) and is written atomically: a failure or a cancellation
/// leaves nothing at `output`.
struct FaceVideoPass {
    let input: String
    let output: String
    let videoEncoder: String
    let videoQuality: Int
    let keepAudio: Bool
    /// What the output's synthetic-media label says was done ("face swap").
    let operation: String
    /// The progress stage ("swap").
    let stage: String

    struct Outcome {
        var frames = 0
        /// Faces found over all frames.
        var facesSeen = 0
        /// A damaged or cut-short input, in words.
        var damage: String?
    }

    /// Runs `edit` on every frame with the faces found in it (in place), then encodes the frame.
    func run(analyzer: FaceAnalyzer, context: JobContext, edit: (_ frame: Image, _ faces: [AnalyzedFace], _ index: Int) throws -> Void) throws -> Outcome {
        let reader = try VideoReader(path: input)
        let writer = try VideoWriter(path: output, width: reader.width, height: reader.height, fps: reader.fps > 0 ? reader.fps : 25,
                                     encoder: videoEncoder, quality: videoQuality, audioFrom: keepAudio ? input : nil,
                                     label: SyntheticMediaLabel.text(operation: operation), timeBase: reader.timeBase)
        var outcome = Outcome()
        do {
            let meter = ProgressMeter(stage: stage, total: reader.frameCount, sink: context.progress)
            let decoder = FramePrefetcher(reader)
            defer { decoder.stop() }
            let analysis = AsyncStage<(VideoFrame, [AnalyzedFace])>(name: "visage.detect", depth: 2) {
                guard let decoded = try decoder.nextFrame() else { return nil }
                var stageTimings = AnalysisTimings()
                return (decoded, try analyzer.analyzeNext(decoded.image, timings: &stageTimings).faces)
            }
            defer { analysis.stop() }
            while let (decoded, faces) = try analysis.next() {
                try context.cancellation.check()
                outcome.facesSeen += faces.count
                try edit(decoded.image, faces, outcome.frames)
                try writer.write(decoded.image, timestamp: decoded.timestamp)
                outcome.frames += 1
                meter.advance()
            }
            try writer.finish()
            meter.finish()
        } catch {
            writer.cancel()
            throw error
        }
        outcome.damage = reader.decodeReport.summary.map { "\(input): \($0)" }
        return outcome
    }
}
