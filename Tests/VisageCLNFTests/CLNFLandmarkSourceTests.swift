import Foundation
import Testing
import VisageAU
import VisageCore
@testable import VisageCLNF

@Suite struct CLNFLandmarkSourceTests {
    @Test func sourceFeedsOpenFaceLandmarks() throws {
        let model = try CLNFTestSupport.mainModel.get()
        let reference = try CLNFTestSupport.referenceFrames(try CLNFTestSupport.referenceTable("default"))
        let boxes = CLNFTestSupport.ReferenceBoxDetector(frames: reference)
        let source = CLNFLandmarkSource(tracker: CLNFVideoTracker(detector: CLNFLandmarkDetector(model: model), faceDetector: boxes))
        let frames = try CLNFTestSupport.frames("default.wmv", count: 15)
        var errors: [Double] = []
        for (k, frame) in frames.enumerated() {
            boxes.frameIndex = k
            let faces = try source.observe(frame.0, index: k)
            #expect(faces.count == 1 && faces[0].faceID == 0 && faces[0].success)
            errors.append(CLNFTestSupport.meanError(faces[0].landmarks, reference[k].landmarks))
        }
        let later = errors.dropFirst(5)
        #expect(later.reduce(0, +) / Double(later.count) < 0.08, "frames 5–14: errors \(later.map { String(format: "%.3f", $0) }) px")
        #expect(source.lastResult?.eyeLandmarks?.count == 56)
    }

    @Test func badInputIsAnError() throws {
        let model = try CLNFTestSupport.mainModel.get()
        let detector = CLNFLandmarkDetector(model: model)
        let colour = Image(width: 64, height: 64, channels: 3)
        #expect(throws: VisageError.self) { _ = try detector.detect(gray: colour, initialBox: Box(x: 0, y: 0, width: 10, height: 10)) }
        let missing = URL(fileURLWithPath: "/nonexistent/main_clnf_general.txt")
        #expect(throws: VisageError.self) { _ = try CLNFMainModel(contentsOf: missing) }
        // A face box far outside a blank image: the fit must not crash, and it reports a result.
        let blank = Image(width: 64, height: 64, channels: 1)
        let result = try detector.detect(gray: blank, initialBox: Box(x: 500, y: 500, width: 100, height: 100), multiView: false)
        #expect(result.landmarks.count == 136)
        // Broken parameters (NaN, huge) fail the fit instead of trapping.
        let frame = try #require(try CLNFTestSupport.frames("default.wmv", count: 1).first)
        let zeros = [Float](repeating: 0, count: 34)
        for global in [PDMGlobalParameters(scale: .nan, rx: 0, ry: 0, rz: 0, tx: 300, ty: 200),
                       PDMGlobalParameters(scale: 1, rx: 0, ry: 0, rz: 0, tx: 1e30, ty: -1e30)] {
            let r = try detector.detectLandmarks(gray: frame.1, global: global, local: zeros, windowSizes: [11, 9, 7])
            #expect(!r.success, "fit from \(global) reported success")
        }
    }
}
