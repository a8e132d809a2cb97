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
}
