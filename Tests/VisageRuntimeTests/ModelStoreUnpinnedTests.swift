import Foundation
import Testing
import VisageCore
@testable import VisageRuntime

/// Models whose publisher states no sha256 (FaceFusion's GFPGAN and CodeFormer files): the first installed
/// copy's hash is recorded, said in the log, and every later copy must match it.
@Suite struct ModelStoreUnpinnedTests {
    static func mirror(with bytes: Data, for entry: ModelEntry) throws -> URL {
        let mirror = try RuntimeFixtures.temporaryDirectory()
        let file = mirror.appendingPathComponent(entry.primaryFile.mirrorPath)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try bytes.write(to: file)
        return mirror
    }

    @Test func enhancerEntriesCarryTheirLicences() throws {
        let gfpgan = try ModelCatalog.entry("gfpgan-1.4")
        #expect(gfpgan.task == .enhance && !gfpgan.primaryFile.isPinned && gfpgan.licenseNotice && !gfpgan.requiresAcceptance)
        #expect(gfpgan.primaryFile.urls.first?.hasPrefix("https://huggingface.co/facefusion/") == true)
        let codeformer = try ModelCatalog.entry("codeformer")
        #expect(codeformer.requiresAcceptance && codeformer.nonCommercial && codeformer.license.contains("S-Lab License 1.0"))
        for id in ["gpen-bfr-256", "gpen-bfr-512"] {
            let gpen = try ModelCatalog.entry(id)
            #expect(gpen.primaryFile.isPinned && gpen.nonCommercial && gpen.license.contains("non-commercial"), "\(id)")
        }
        // Models of models.json keep their pinned hashes.
        #expect(try ModelCatalog.entry("yunet-2023mar").primaryFile.isPinned)
    }

    @Test func firstInstallRecordsTheHashAndLaterCopiesMustMatchIt() throws {
        let entry = try ModelCatalog.entry("gfpgan-1.4")
        let bytes = Data((0..<4096).map { UInt8($0 % 253) })
        var store = ModelStore(root: try RuntimeFixtures.temporaryDirectory(), mirror: try Self.mirror(with: bytes, for: entry))
        store.installsMissing = true
        #expect(!store.isInstalled(entry))
        let path = try store.path(for: "gfpgan-1.4")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
        let recorded = try #require(store.recordedHash(of: entry.primaryFile, in: entry))
        let actual = try ModelStore.sha256(of: URL(fileURLWithPath: path))
        #expect(recorded.size == 4096 && recorded.sha256 == actual)
        #expect(store.isInstalled(entry))
        #expect(store.verify(entry).allSatisfy { $0.status == .ok })

        // A changed file no longer verifies.
        try Data(bytes.reversed()).write(to: URL(fileURLWithPath: path))
        #expect(store.verify(entry).first?.status != .ok)

        // Reinstalling from a source with other bytes is refused, naming the recorded hash.
        let other = ModelStore(root: store.root, mirror: try Self.mirror(with: Data(repeating: 7, count: 4096), for: entry))
        let error = #expect(throws: VisageError.self) { try other.install(entry, force: true, progress: false) }
        #expect(error.map { "\($0)" }?.contains(recorded.sha256) == true)
    }

    @Test func codeformerIsRefusedWithItsLicenceUntilAccepted() throws {
        let entry = try ModelCatalog.entry("codeformer")
        let mirror = try Self.mirror(with: Data(repeating: 1, count: 64), for: entry)
        let refusing = ModelStore(root: try RuntimeFixtures.temporaryDirectory(), mirror: mirror, acceptLicenses: false)
        let error = #expect(throws: VisageError.self) { try refusing.install(entry, progress: false) }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("S-Lab License 1.0") && text.contains("NON-COMMERCIAL") && text.contains("VISAGE_ACCEPT_LICENSES=1"))
        #expect(!FileManager.default.fileExists(atPath: refusing.location(of: entry.primaryFile, in: entry).path))

        let accepting = ModelStore(root: refusing.root, mirror: mirror, acceptLicenses: true)
        try accepting.install(entry, progress: false)
        // Installed is not accepted: a store that does not accept licences still refuses it.
        #expect(accepting.isInstalled(entry))
        #expect(throws: VisageError.self) { try refusing.checkLicense(entry) }
        try accepting.checkLicense(entry)
    }
}
