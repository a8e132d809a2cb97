import Foundation
import Testing
import VisageAU
import VisageCore
import VisageJobs
import VisageMedia

/// The AU job on a short clip: one OpenFace CSV row per frame, the result's series equal to the CSV, and
/// paths checked before any work.
@Suite struct AUJobTests {
    @Test func aShortClipGivesOneRowPerFrameAndTheSeriesOfTheCSV() throws {
        let dir = try JobFixtures.temporaryDirectory()
        var job = AUJob(input: JobFixtures.media("video/openface/default.wmv"), output: dir.appendingPathComponent("default.csv").path)
        job.maxFrames = 40
        job.plot = dir.appendingPathComponent("au.png").path
        let result = try job.run(in: try JobFixtures.context(job.requiredModels))
        #expect(result.files.count == 1 && result.frames == 40 && result.persons.count == 1)
        let csv = try OpenFaceCSVTable(contentsOf: job.output!)
        #expect(csv.rows.count == 40)
        let person = result.persons[0]
        #expect(person.frames == Array(1...40))
        #expect(person.success.filter { $0 }.count >= 38, "OpenFace tracks the face on nearly every frame of default.wmv")
        // The series are what the CSV says, to its printed precision.
        for (k, name) in result.intensityNames.enumerated() {
            let column = try #require(csv.column(name + "_r"))
            for i in 0..<40 { #expect(abs(column[i] - person.intensities[i][k]) <= 0.005 + 1e-9, "\(name) frame \(i + 1)") }
        }
        #expect(try ImageIO.read(job.plot!).width > 100)
        #expect(result.warnings.isEmpty)
    }

    @Test func badPathsFailBeforeAnyWork() throws {
        let dir = try JobFixtures.temporaryDirectory()
        let video = JobFixtures.media("video/openface/default.wmv")
        var plotIsVideo = AUJob(input: video, output: dir.appendingPathComponent("a.csv").path)
        plotIsVideo.plot = dir.appendingPathComponent("plot.mp4").path
        #expect(throws: VisageError.self) { try plotIsVideo.validate() }
        let csvIsInput = AUJob(input: video, output: video)
        #expect(throws: VisageError.self) { try csvIsInput.validate() }
        let noFolder = AUJob(input: video, output: "/nonexistent-folder/x.csv")
        #expect(throws: VisageError.self) { try noFolder.validate() }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}

/// A CSV read as named numeric columns.
struct OpenFaceCSVTable {
    let header: [String]
    let rows: [[Double]]

    init(contentsOf path: String) throws {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        header = lines[0].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        rows = lines.dropFirst().map { $0.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) ?? .nan } }
    }

    func column(_ name: String) -> [Double]? {
        header.firstIndex(of: name).map { k in rows.map { $0[k] } }
    }
}
