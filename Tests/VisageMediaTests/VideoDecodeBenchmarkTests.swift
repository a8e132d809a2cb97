import Foundation
import Testing
import VisageMedia

/// Runs the decode benchmark only when asked: `VISAGE_VIDEO_BENCH=out.json swift test --filter
/// VideoDecodeBenchmarkTests` writes the JSON (speed is measured, not asserted, in unit tests).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["VISAGE_VIDEO_BENCH"] != nil && VideoFixtures.available,
                "set VISAGE_VIDEO_BENCH=<output.json> to run the decode benchmark"))
struct VideoDecodeBenchmarkTests {
    @Test func decodeSpeedOfBothDecoders() throws {
        let output = try #require(ProcessInfo.processInfo.environment["VISAGE_VIDEO_BENCH"])
        let paths = VideoReaderOpenCVParityTests.referenceVideos.map { MediaFixtures.path("video/\($0)") }
        let results = try VideoDecodeBenchmark.run(paths: paths, rounds: 3)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(results).write(to: URL(fileURLWithPath: output))
        #expect(results.count == 2 * paths.count)
        #expect(results.allSatisfy { $0.frames > 0 })
    }
}
