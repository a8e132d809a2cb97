import Foundation
import Testing
@testable import VisageCLNF

/// The response covariances' disk cache: the same bits as computing them, and every file that does not check
/// out (corrupt, truncated, made from other inputs) is computed again and rewritten, never used.
@Suite struct CCNFSigmaCacheTests {
    // The finest scale's 7×7 window: real components, cheap inverses (49×49).
    static let scale = 2, view = 0, window = 7

    private func temporaryCache() -> CCNFSigmaCache {
        CCNFSigmaCache(folder: FileManager.default.temporaryDirectory.appendingPathComponent("sigma-cache-\(UUID().uuidString)/clnf"))
    }

    private func sigmas(_ experts: CCNFPatchExperts, _ cache: CCNFSigmaCache?) -> CCNFSigmas {
        CCNFSigmas(experts: experts, modelName: "clnf_general", diskCache: cache)
    }

    private func expectSameBits(_ a: [CCNFSigma], _ b: [CCNFSigma]) {
        #expect(a.count == b.count)
        for (i, (x, y)) in zip(a, b).enumerated() {
            #expect(x.stride == y.stride && x.values.map(\.bitPattern) == y.values.map(\.bitPattern), "landmark \(i) differs")
        }
    }

    @Test func cachedCovariancesAreTheComputedBits() throws {
        let experts = try CLNFTestSupport.mainModel.get().main.patchExperts
        let cache = temporaryCache()
        defer { try? FileManager.default.removeItem(at: cache.folder.deletingLastPathComponent()) }
        let reference = sigmas(experts, nil).sigmas(scale: Self.scale, view: Self.view, window: Self.window)
        #expect(reference.filter { !$0.values.isEmpty }.count == 68)

        let first = sigmas(experts, cache)
        expectSameBits(first.sigmas(scale: Self.scale, view: Self.view, window: Self.window), reference)
        #expect(first.computed == 1 && first.loadedFromDisk == 0)
        let file = cache.url(model: "clnf_general", scale: Self.scale, view: Self.view, window: Self.window)
        #expect(FileManager.default.fileExists(atPath: file.path))

        let second = sigmas(experts, cache)
        expectSameBits(second.sigmas(scale: Self.scale, view: Self.view, window: Self.window), reference)
        #expect(second.computed == 0 && second.loadedFromDisk == 1, "a fresh model reads the file instead of computing")
        // Other keys are separate files: a side view is computed, not taken from the frontal one.
        _ = second.sigmas(scale: Self.scale, view: 1, window: Self.window)
        #expect(second.computed == 1)
    }

    @Test func badFilesAreRebuiltNeverUsed() throws {
        let experts = try CLNFTestSupport.mainModel.get().main.patchExperts
        let cache = temporaryCache()
        defer { try? FileManager.default.removeItem(at: cache.folder.deletingLastPathComponent()) }
        let reference = sigmas(experts, cache).sigmas(scale: Self.scale, view: Self.view, window: Self.window)
        let file = cache.url(model: "clnf_general", scale: Self.scale, view: Self.view, window: Self.window)
        let good = try Data(contentsOf: file)

        var flipped = good
        flipped[good.count / 2] ^= 0x01
        var foreign: Data?
        // A well-formed file whose recorded inputs are another model's: same shape, other digest.
        let other = temporaryCache()
        defer { try? FileManager.default.removeItem(at: other.folder.deletingLastPathComponent()) }
        let needed = experts.scales[Self.scale].visibilities[Self.view].indices.map { i in
            experts.scales[Self.scale].visibilities[Self.view][i] && !experts.scales[Self.scale].experts[Self.view][i].isEmpty
        }
        let otherURL = other.url(model: "clnf_general", scale: Self.scale, view: Self.view, window: Self.window)
        try other.store(reference, digest: [UInt8](repeating: 7, count: 32), needed: needed, positions: Self.window * Self.window, to: otherURL)
        foreign = try Data(contentsOf: otherURL)

        for (label, bytes) in [("one flipped bit", flipped), ("truncated", good.prefix(good.count - 100)),
                               ("empty", Data()), ("other inputs", foreign!)] {
            try bytes.write(to: file)
            let model = sigmas(experts, cache)
            expectSameBits(model.sigmas(scale: Self.scale, view: Self.view, window: Self.window), reference)
            #expect(model.computed == 1 && model.loadedFromDisk == 0, "\(label): the file must not be used")
            #expect(try Data(contentsOf: file) == good, "\(label): the file is rewritten")
        }
    }

    @Test func unwritableFolderStillComputes() throws {
        let experts = try CLNFTestSupport.mainModel.get().main.patchExperts
        let blocker = FileManager.default.temporaryDirectory.appendingPathComponent("sigma-cache-file-\(UUID().uuidString)")
        try Data("not a folder".utf8).write(to: blocker)
        defer { try? FileManager.default.removeItem(at: blocker) }
        let model = sigmas(experts, CCNFSigmaCache(folder: blocker.appendingPathComponent("clnf")))
        let reference = sigmas(experts, nil).sigmas(scale: Self.scale, view: Self.view, window: Self.window)
        expectSameBits(model.sigmas(scale: Self.scale, view: Self.view, window: Self.window), reference)
        #expect(model.computed == 1)
    }
}
