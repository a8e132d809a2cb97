import Foundation
import Testing
import VisageAU
@testable import VisageCLNF

@Suite struct CLNFSingleFrameTests {
    /// Tracking step k from the reference parameters of frame k−1 (what OpenFace's tracker starts from),
    /// compared with OpenFace's landmarks of frame k.
    @Test func trackingStepMatchesOpenFace() throws {
        let model = try CLNFTestSupport.mainModel.get()
        let detector = CLNFLandmarkDetector(model: model)
        let reference = try CLNFTestSupport.referenceFrames(try CLNFTestSupport.referenceTable("default"))
        let frames = try CLNFTestSupport.frames("default.wmv", count: 21)
        var errors: [Double] = []
        var eyeErrors: [Double] = []
        var baseline: [Double] = []
        for k in 1..<frames.count {
            let previous = CLNFResult(landmarks: reference[k - 1].landmarks, global: reference[k - 1].global,
                                      local: reference[k - 1].local, success: true, confidence: 1, likelihood: 0, parts: [:])
            let result = try detector.track(gray: frames[k].1, previous: previous)
            errors.append(CLNFTestSupport.meanError(result.landmarks, reference[k].landmarks))
            baseline.append(CLNFTestSupport.meanError(reference[k - 1].landmarks, reference[k].landmarks))
            if let eyes = result.eyeLandmarks {
                eyeErrors.append(CLNFTestSupport.meanError(eyes.map(\.x) + eyes.map(\.y), reference[k].eyes))
            }
        }
        let mean = errors.reduce(0, +) / Double(errors.count)
        let eyeMean = eyeErrors.reduce(0, +) / Double(max(eyeErrors.count, 1))
        let baselineMean = baseline.reduce(0, +) / Double(baseline.count)
        print("CLNF single-frame: not fitting at all would be off by \(baselineMean) px; mean \(mean) px, max \(errors.max()!) px; eyes mean \(eyeMean) px; per frame \(errors.map { String(format: "%.3f", $0) })")
        // The CSV rounds landmarks to 0.1 px, which alone makes a mean error of ≈0.04 px.
        #expect(mean < 0.08, "mean point error \(mean) px over \(errors.count) frames")
        #expect(errors.max()! < 0.15, "worst frame \(errors.max()!) px")
        #expect(eyeErrors.count == errors.count && eyeMean < 0.08, "eye landmarks (28-point models): mean \(eyeMean) px over \(eyeErrors.count) frames")
    }
}
