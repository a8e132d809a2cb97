import Foundation
import Testing
import VisageCore
import VisageJobs

/// Generated manifests: file patterns (with `**`), output templates, and no two items on one output.
@Suite struct BatchManifestBuilderTests {
    /// videos/a.mp4, videos/x/b.mp4, videos/x/y/c.mp4, videos/.hidden/d.mp4, videos/x/notes.txt
    func tree() throws -> URL {
        let root = try JobFixtures.temporaryDirectory()
        for path in ["videos/a.mp4", "videos/x/b.mp4", "videos/x/y/c.mp4", "videos/.hidden/d.mp4", "videos/x/notes.txt", "videos/x/y/a.mp4"] {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("x".utf8).write(to: url)
        }
        return root
    }

    @Test func patternsFindFilesAtAnyDepthButNotHiddenOnes() throws {
        let root = try tree().path
        #expect(try BatchGlob.files(matching: root + "/videos/**/*.mp4").map { String($0.dropFirst(root.count + 1)) }
                == ["videos/a.mp4", "videos/x/b.mp4", "videos/x/y/a.mp4", "videos/x/y/c.mp4"])
        #expect(try BatchGlob.files(matching: root + "/videos/*.mp4").count == 1)
        #expect(try BatchGlob.files(matching: root + "/videos/x/?.mp4").map { URL(fileURLWithPath: $0).lastPathComponent } == ["b.mp4"])
        #expect(try BatchGlob.files(matching: root + "/videos/*/*.txt").count == 1)
        #expect(try BatchGlob.files(matching: root + "/videos/.hidden/*.mp4").count == 1, "a pattern that spells the dot reaches hidden folders")
        #expect(try BatchGlob.files(matching: root + "/nothing/*.mp4").isEmpty)
        #expect(throws: VisageError.self) { try BatchGlob.files(matching: root + "/videos") }
        #expect(throws: VisageError.self) { try BatchGlob.files(matching: root + "/missing.mp4") }
    }

    @Test func templatesNameEachOutputAfterItsInput() throws {
        let root = try tree().path
        let template = try BatchOutputTemplate("csv/{dir}/{stem}{ext}.{index}.csv")
        let items = try BatchManifestBuilder.items(kind: "au", inputs: root + "/videos/**/*.mp4", output: template) { input, output in
            AUJob(input: input, output: output)
        }
        #expect(items.map { $0.job.batchOutputs[0] } == ["csv/a.mp4.0.csv", "csv/x/b.mp4.1.csv", "csv/x/y/a.mp4.2.csv", "csv/x/y/c.mp4.3.csv"])
        // {stem} alone sends videos/a.mp4 and videos/x/y/a.mp4 to one file: refused before anything is written.
        #expect(throws: VisageError.self) {
            try BatchManifestBuilder.items(kind: "au", inputs: root + "/videos/**/*.mp4", output: try BatchOutputTemplate("csv/{stem}.csv")) {
                AUJob(input: $0, output: $1)
            }
        }
        #expect(throws: VisageError.self) { try BatchOutputTemplate("csv/{file}.csv") }
        #expect(throws: VisageError.self) { try BatchOutputTemplate("csv/{stem.csv") }
    }

    @Test func swapItemsPairEverySourceWithEveryTarget() throws {
        let root = try tree().path
        let items = try BatchManifestBuilder.swapItems(sources: root + "/videos/x/y/*.mp4", targets: root + "/videos/x/b.mp4",
                                                       output: try BatchOutputTemplate("out/{source_name}-{target_name}{ext}")) {
            SwapJob(source: $0, target: $1, output: $2)
        }
        #expect(items.map { $0.job.batchOutputs[0] } == ["out/a-b.mp4", "out/c-b.mp4"])
        #expect(items.allSatisfy { $0.kind == "swap" })
    }

    @Test func manifestPathsAreRelativeToTheManifestWhenBelowIt() {
        let folder = URL(fileURLWithPath: "/data/set")
        #expect(BatchManifestBuilder.manifestPath("/data/set/videos/a.mp4", manifestFolder: folder) == "videos/a.mp4")
        #expect(BatchManifestBuilder.manifestPath("/data/other/a.mp4", manifestFolder: folder) == "/data/other/a.mp4")
        #expect(BatchManifestBuilder.manifestPath("/data/settings/a.mp4", manifestFolder: folder) == "/data/settings/a.mp4")
    }
}
