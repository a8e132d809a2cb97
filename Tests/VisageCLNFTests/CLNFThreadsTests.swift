import Foundation
import Testing
import VisageCore
@testable import VisageCLNF

@Suite struct CLNFThreadsTests {
    /// Fitting the part models concurrently must not change a single landmark: 30 tracked frames of
    /// default.wmv with 1 and with 2 threads agree bit for bit.
    @Test func partsInParallelGiveIdenticalLandmarks() throws {
        let model = try CLNFTestSupport.mainModel.get()
        let reference = try CLNFTestSupport.referenceFrames(try CLNFTestSupport.referenceTable("default"))
        let frames = try CLNFTestSupport.frames("default.wmv", count: 30)
        var runs: [[[Float]]] = []
        for threads in [1, 2] {
            let boxes = CLNFTestSupport.ReferenceBoxDetector(frames: reference)
            let detector = CLNFLandmarkDetector(model: model)
            detector.threads = threads
            let tracker = CLNFVideoTracker(detector: detector, faceDetector: boxes)
            var landmarks: [[Float]] = []
            for (k, (frame, gray)) in frames.enumerated() {
                boxes.frameIndex = k
                landmarks.append(try tracker.process(frame: frame, gray: gray).landmarks)
            }
            runs.append(landmarks)
        }
        let differing = zip(runs[0], runs[1]).filter { $0 != $1 }.count
        #expect(runs[0].count == 30 && differing == 0, "\(differing) of \(runs[0].count) frames differ between 1 and 2 threads")
    }

    /// The multi-view detection fits its rotation hypotheses two at a time with 2 threads: the winner, its
    /// likelihood, the validator's verdict and the part models' landmarks are the sequential run's, bit for bit,
    /// from OpenFace's own box on the first frames of two videos.
    @Test func hypothesesInParallelPickTheSameWinner() throws {
        let model = try CLNFTestSupport.mainModel.get()
        let validator = try CNNDetectionValidator(contentsOf: OpenFaceCNNTestData.validatorFile)
        for (video, table) in [("default.wmv", "default"), ("multi_face.avi", "multi_face")] {
            let reference = try CLNFTestSupport.referenceFrames(try CLNFTestSupport.referenceTable(table))
            let boxes = CLNFTestSupport.ReferenceBoxDetector(frames: reference)
            let frames = try CLNFTestSupport.frames(video, count: 1)
            boxes.frameIndex = 0
            let box = try #require(try boxes.detect(frames[0].0).first).box
            var results: [CLNFResult] = []
            for threads in [1, 2] {
                let detector = CLNFLandmarkDetector(model: model, validator: validator)
                detector.threads = threads
                results.append(try detector.detect(gray: frames[0].1, initialBox: box, multiView: true))
            }
            let (a, b) = (results[0], results[1])
            #expect(a.landmarks.map(\.bitPattern) == b.landmarks.map(\.bitPattern), "\(video): landmarks differ")
            #expect(a.likelihood.bitPattern == b.likelihood.bitPattern && a.confidence == b.confidence && a.success == b.success,
                    "\(video): likelihood \(a.likelihood)/\(b.likelihood), confidence \(a.confidence)/\(b.confidence)")
            #expect(a.parts.mapValues { $0.map(\.bitPattern) } == b.parts.mapValues { $0.map(\.bitPattern) }, "\(video): parts differ")
            #expect(a.success && a.confidence > 0.5, "\(video): the detection should find the face")
        }
    }
}
