import Foundation
import Testing
import VisageCore
import VisageFace
@testable import VisageJobs
import VisageMedia
import VisageSwap

/// Which target faces get which source: the largest, every face, or by identity (`--map-faces`); which
/// face of a source photo is used.
@Suite struct SwapAssignmentTests {
    let twoPeople = JobFixtures.media("images/face_recognition/two_people.jpg")

    func analyzed(_ path: String, context: JobContext) throws -> (Image, [AnalyzedFace], FaceAnalyzer) {
        let analyzer = try FacePipeline(context: context).analyzer(detector: DetectorFactory.defaultModel, options: AnalysisOptions(pose: false))
        let image = try ImageIO.read(path)
        var timings = AnalysisTimings()
        return (image, try analyzer.analyze(image, timings: &timings), analyzer)
    }

    @Test func mapFacesGivesEachPersonTheirSource() throws {
        var job = SwapJob(source: nil, target: twoPeople, output: "/tmp/unused.png")
        job.mapFaces = [.init(source: JobFixtures.sample("astronaut.png"), reference: JobFixtures.sample("obama.jpg")),
                        .init(source: JobFixtures.sample("obama.jpg"), reference: JobFixtures.sample("biden.jpg"))]
        let context = try JobFixtures.context(job.requiredModels)
        let (frame, faces, analyzer) = try analyzed(twoPeople, context: context)
        #expect(faces.count == 2)
        let assignment = try job.makeAssignment(analyzer: analyzer, pipeline: FacePipeline(context: context), context: context)
        let assigned = try assignment.assign(faces, in: frame)
        #expect(assigned.count == 2)
        // two_people.jpg: Obama on the left, Biden on the right.
        let byPosition = assigned.sorted { $0.face.box.x1 < $1.face.box.x1 }.map(\.source)
        #expect(byPosition == [0, 1], "sources left to right: \(byPosition)")
        #expect(assignment.unmatchedFaces == 0)
    }

    @Test func aReferenceThatMatchesNobodyLeavesTheTargetAloneAndSaysSo() throws {
        let dir = try JobFixtures.temporaryDirectory()
        var job = SwapJob(source: nil, target: twoPeople, output: dir.appendingPathComponent("out.png").path)
        // Astronaut Eileen Collins is in neither face of the target.
        job.mapFaces = [.init(source: JobFixtures.sample("obama.jpg"), reference: JobFixtures.sample("astronaut.png"))]
        let result = try job.run(in: try JobFixtures.context(job.requiredModels))
        #expect(result.swappedFaces == 0)
        #expect(result.warnings.contains { $0.contains("matched the reference") }, "\(result.warnings)")
        let before = try ImageIO.read(twoPeople), after = try ImageIO.read(job.output)
        #expect(maxDifference(before, after) == 0, "the output is the target's own pixels")
    }

    @Test func largestFaceOrEveryFace() throws {
        let dir = try JobFixtures.temporaryDirectory()
        for many in [false, true] {
            var job = SwapJob(source: JobFixtures.sample("obama.jpg"), target: JobFixtures.media("images/insightface/t1.jpg"),
                              output: dir.appendingPathComponent("t1-\(many).png").path)
            job.manyFaces = many
            let result = try job.run(in: try JobFixtures.context(job.requiredModels))
            #expect(result.swappedFaces == (many ? 6 : 1), "many \(many): \(result.swappedFaces)")
            #expect(SyntheticMediaLabel.isLabelled(try Data(contentsOf: URL(fileURLWithPath: job.output))))
        }
    }

    @Test func theSourceFaceIsTheLargestOrTheOneNumbered() throws {
        let dir = try JobFixtures.temporaryDirectory()
        var job = SwapJob(source: twoPeople, target: JobFixtures.sample("biden.jpg"), output: dir.appendingPathComponent("o.png").path)
        let context = try JobFixtures.context(job.requiredModels)
        let automatic = try job.run(in: context)
        #expect(automatic.sourceFaces.count == 1)
        let made = automatic.sourceFaces[0]
        #expect(made.faceCount == 2 && made.automatic && made.summary.contains("using face #\(made.number)"))
        job.sourceFace = made.number == 1 ? 2 : 1
        let chosen = try job.run(in: context)
        #expect(chosen.sourceFaces[0].number == job.sourceFace && !chosen.sourceFaces[0].automatic)
        job.sourceFace = 3
        #expect(throws: VisageError.self) { try job.run(in: context) }
        do { _ = try job.run(in: context) } catch { #expect("\(error)".contains("has 2 faces; face #3 does not exist"), "\(error)") }
    }

    @Test func jobsDecodeFromTheOptionNamesOfTheCommandLine() throws {
        let json = """
        {"source": "a.jpg", "target": "b.mp4", "output": "c.mp4", "many-faces": true, "mouth-mask": 0.5, "swapper": "inswapper",
         "map-faces": [{"source": "s.jpg", "reference": "r.jpg"}], "video-quality": 20}
        """
        let job = try JSONDecoder().decode(SwapJob.self, from: Data(json.utf8))
        #expect(job.manyFaces && job.mouthMask == 0.5 && job.swapper == .inswapper && job.videoQuality == 20 && job.opacity == 1)
        #expect(job.mapFaces == [.init(source: "s.jpg", reference: "r.jpg")])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(SwapJob.self, from: Data(#"{"target": "b.mp4", "output": "c", "swapper": "magic"}"#.utf8)) }
    }
}
