import Foundation
import Testing
import VisageCore
import ZIPFoundation
@testable import VisageRuntime

@Suite struct ModelStoreTests {
    @Test func catalogHasTheModelsOfModelsJSON() throws {
        let ids = Set(ModelCatalog.all.map(\.id))
        for id in ["scrfd-500m", "scrfd-2.5g", "yunet-2023mar", "sface-2021dec-int8bq", "pfld-68", "inswapper-128", "scrfd-10g", "arcface-w600k-r50", "openface-2.2.0"] {
            #expect(ids.contains(id), "\(id)")
        }
        let yunet = try ModelCatalog.entry("yunet-2023mar")
        #expect(!yunet.nonCommercial && !yunet.requiresAcceptance)
        #expect(try ModelCatalog.entry("scrfd-500m").nonCommercial)
        #expect(try ModelCatalog.entry("scrfd-10g").primaryFile.archiveMember == "det_10g.onnx")
        let openface = try ModelCatalog.entry("openface-2.2.0")
        #expect(openface.requiresAcceptance && openface.files.count > 100)
    }

    @Test func unknownModelNamesTheKnownOnes() {
        let error = #expect(throws: VisageError.self) { try ModelCatalog.entry("face-magic-9000") }
        #expect(error.map { "\($0)" }?.contains("yunet-2023mar") == true)
    }

    @Test func installsFromTheMirrorAndVerifies() throws {
        let store = try RuntimeFixtures.store()
        let entry = try ModelCatalog.entry("yunet-2023mar")
        #expect(!store.isInstalled(entry))
        let path = try store.path(for: "yunet-2023mar")
        #expect(store.isInstalled(entry))
        #expect(try ModelStore.sha256(of: URL(fileURLWithPath: path)) == entry.primaryFile.sha256)
        #expect(store.verify(entry).allSatisfy { $0.status == .ok })
        // No staging leftovers next to the installed file.
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.directory(for: entry).path) == ["face_detection_yunet_2023mar.onnx"])
        // A store that does not install on demand (what jobs get) reports the missing model instead.
        let plain = ModelStore(root: store.root.appendingPathComponent("other"))
        #expect(throws: VisageError.modelNotInstalled(id: "yunet-2023mar", hint: "install it before running this")) { try plain.path(for: "yunet-2023mar") }
    }

    @Test func wrongChecksumIsRefusedNamingBothHashes() throws {
        let mirror = try RuntimeFixtures.temporaryDirectory()
        let entry = try ModelCatalog.entry("pfld-68")
        let fake = mirror.appendingPathComponent(entry.primaryFile.mirrorPath)
        try FileManager.default.createDirectory(at: fake.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("tampered".utf8).write(to: fake)
        let store = ModelStore(root: try RuntimeFixtures.temporaryDirectory(), mirror: mirror)
        let error = #expect(throws: VisageError.self) { try store.install(entry, progress: false) }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains(entry.primaryFile.sha256))
        #expect(text.contains(try ModelStore.sha256(of: fake)))
        #expect(!FileManager.default.fileExists(atPath: store.location(of: entry.primaryFile, in: entry).path))
    }

    @Test func openFaceNeedsLicenceAcceptance() throws {
        let store = ModelStore(root: try RuntimeFixtures.temporaryDirectory(), mirror: RuntimeFixtures.sharedModels, acceptLicenses: false)
        let error = #expect(throws: VisageError.self) { try store.install(try ModelCatalog.entry("openface-2.2.0"), progress: false) }
        // The library says how to accept without naming a front end's flag (the command line adds --accept-license).
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("licence") && text.contains("VISAGE_ACCEPT_LICENSES=1") && !text.contains("--"), "\(text)")
    }

    @Test func mirrorWithoutTheFileSaysSo() throws {
        let store = ModelStore(root: try RuntimeFixtures.temporaryDirectory(), mirror: try RuntimeFixtures.temporaryDirectory())
        let error = #expect(throws: VisageError.self) { try store.install(try ModelCatalog.entry("scrfd-500m"), progress: false) }
        #expect(error.map { "\($0)" }?.contains("VISAGE_MODEL_MIRROR") == true)
    }

    @Test func extractsAMemberFromAZipArchive() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let zipURL = dir.appendingPathComponent("buffalo_test.zip")
        let archive = try Archive(url: zipURL, accessMode: .create)
        let payload = Data((0..<5000).map { UInt8($0 % 251) })
        try archive.addEntry(with: "buffalo_test/det_test.onnx", type: .file, uncompressedSize: Int64(payload.count),
                             compressionMethod: .deflate) { position, size in payload.subdata(in: Int(position)..<Int(position) + size) }
        let out = dir.appendingPathComponent("out.onnx")
        try ArchiveExtractor.extract(member: "det_test.onnx", from: zipURL, to: out)
        #expect(try Data(contentsOf: out) == payload)
        #expect(throws: VisageError.self) { try ArchiveExtractor.extract(member: "missing.onnx", from: zipURL, to: out) }
    }
}
