import Foundation
import Testing
@testable import VisageCLNF

@Suite struct CCNFPatchExpertTests {
    @Test func generalPatchExpertsParse() throws {
        let folder = CLNFTestSupport.landmarkModels.appendingPathComponent("patch_experts")
        for (file, scaling) in [("ccnf_patches_0.25_general.txt", 0.25), ("ccnf_patches_0.35_general.txt", 0.35),
                                ("ccnf_patches_0.5_general.txt", 0.5)] {
            let level = try CCNFScale(contentsOf: folder.appendingPathComponent(file))
            #expect(abs(level.patchScaling - scaling) < 1e-9, "\(file): scaling \(level.patchScaling)")
            #expect(level.landmarkCount == 68, "\(file): \(level.landmarkCount) landmarks")
            #expect(level.viewCount == 7, "\(file): \(level.viewCount) views")
            #expect(level.experts.allSatisfy { $0.count == 68 })
            // Every visible landmark has an 11×11 expert; hidden ones are empty.
            for v in 0..<level.viewCount {
                for j in 0..<68 where level.visibilities[v][j] {
                    let e = level.experts[v][j]
                    #expect(e.width == 11 && e.height == 11 && e.neuronCount > 0, "\(file) view \(v) landmark \(j): \(e.width)×\(e.height), \(e.neuronCount) neurons")
                }
            }
            let visibleFrontal = level.visibilities[0].filter { $0 }.count
            #expect(visibleFrontal == 68, "\(file): frontal view sees \(visibleFrontal) landmarks")
            #expect(Set(level.sigmaComponents.keys).isSuperset(of: [7, 9, 11]), "\(file): sigma windows \(level.sigmaComponents.keys.sorted())")
        }
    }

    @Test func mainModelWithPartsLoads() throws {
        let model = try CLNFTestSupport.mainModel.get()
        #expect(model.main.pointCount == 68)
        #expect(model.main.patchExperts.patchScaling == [0.25, 0.35, 0.5])
        #expect(model.parts.map(\.name) == ["inner", "left_eye_28", "right_eye_28"])
        #expect(model.parts.map(\.model.pointCount) == [51, 28, 28], "part sizes \(model.parts.map(\.model.pointCount))")
        #expect(model.parts.map(\.mapping.count) == [51, 6, 6])
        #expect(model.parts[1].model.patchExperts.patchScaling == [1.0, 1.5])
    }

    @Test func truncatedExpertFileIsAnError() throws {
        let source = CLNFTestSupport.landmarkModels.appendingPathComponent("patch_experts/ccnf_patches_0.25_general.txt")
        let bytes = try Data(contentsOf: source)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("truncated-ccnf-\(UUID().uuidString).txt")
        try bytes.prefix(5000).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: (any Error).self) { _ = try CCNFScale(contentsOf: url) }
    }
}
