import Foundation
import Testing
import VisageCore
import VisageRuntime
@testable import VisageEnhance

/// Building enhancers from the catalogue: licences first, then files.
@Suite struct EnhancerFactoryTests {
    @Test func everyProfileHasACatalogueEntry() throws {
        for profile in EnhancerProfile.all {
            let entry = try ModelCatalog.entry(profile.modelID)
            #expect(entry.task == .enhance, "\(profile.modelID)")
            #expect(entry.io.contains("\(profile.size),\(profile.size)"), "\(profile.modelID): catalogue I/O says another size")
        }
        #expect(EnhancerFactory.supportedModels.contains(EnhancerFactory.defaultModel))
        // The GFPGAN template is facexlib's (the one VisageFace also knows as ffhq-512).
        let ffhq = EnhancerProfile.gfpgan14.templatePoints
        for (a, b) in zip(ffhq, [Point(192.98138, 239.94708), Point(318.90277, 240.1936), Point(256.63416, 314.01935),
                                 Point(201.26117, 371.41043), Point(313.08905, 371.15118)]) {
            #expect(abs(a.x - b.x) < 1e-4 && abs(a.y - b.y) < 1e-4)
        }
        // FaceFusion's ffhq_512 is the same face to within 0.005 px.
        for (a, b) in zip(EnhancerProfile.codeformer.templatePoints, ffhq) { #expect(abs(a.x - b.x) < 0.005 && abs(a.y - b.y) < 0.005) }
    }

    @Test func codeformerWithoutLicenceAcceptanceIsRefusedWithTheLicenceText() throws {
        let store = ModelStore(root: try EnhanceFixtures.temporaryDirectory(), mirror: try EnhanceFixtures.temporaryDirectory(), acceptLicenses: false)
        let error = #expect(throws: VisageError.self) { try EnhancerFactory.make(model: "codeformer", store: store) }
        guard case .licenseNotAccepted(let id, let license)? = error else {
            Issue.record("expected a licence refusal, got \(String(describing: error))")
            return
        }
        #expect(id == "codeformer" && license.contains("S-Lab License 1.0") && license.contains("NON-COMMERCIAL"))
        #expect("\(error!)".contains("VISAGE_ACCEPT_LICENSES=1"))
        // Accepted, but the file is nowhere: now the error is about the file, and says where to get it.
        let accepting = ModelStore(root: store.root, mirror: store.mirror, acceptLicenses: true)
        let missing = #expect(throws: VisageError.self) { try EnhancerFactory.make(model: "codeformer", store: accepting) }
        guard case .modelNotInstalled? = missing else {
            Issue.record("expected modelNotInstalled, got \(String(describing: missing))")
            return
        }
    }

    @Test func aUsersFileIsCheckedAgainstTheModelItClaimsToBe() throws {
        let gpen256 = try StandInModels.gpen(size: 256)
        let enhancer = try EnhancerFactory.make(model: "gpen-bfr-256", modelPath: gpen256)
        #expect(enhancer.profile == .gpenBFR256)
        let error = #expect(throws: VisageError.self) { try EnhancerFactory.make(model: "gfpgan-1.4", modelPath: gpen256) }
        #expect(error.map { "\($0)" }?.contains(gpen256) == true)
    }
}
