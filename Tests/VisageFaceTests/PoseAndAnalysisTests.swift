import Foundation
import Testing
import VisageCore
import VisageFace
import VisageMedia

@Suite struct PoseAndAnalysisTests {
    static func analyzer(embeddings: Bool = false) throws -> FaceAnalyzer {
        try FaceAnalyzer(detector: try DetectorFactory.make(model: DetectorFactory.defaultModel, store: TestEnvironment.store),
                         landmarker: try PFLDLandmarker.make(store: TestEnvironment.store),
                         embedder: embeddings ? try FaceEmbedder.make(store: TestEnvironment.store) : nil,
                         options: AnalysisOptions(embeddings: embeddings))
    }

    static func pearson(_ a: [Double], _ b: [Double]) -> Double {
        let ma = a.reduce(0, +) / Double(a.count), mb = b.reduce(0, +) / Double(b.count)
        let cov = zip(a, b).reduce(0) { $0 + ($1.0 - ma) * ($1.1 - mb) }
        let va = a.reduce(0) { $0 + ($1 - ma) * ($1 - ma) }, vb = b.reduce(0) { $0 + ($1 - mb) * ($1 - mb) }
        return cov / (va * vb).squareRoot()
    }

    /// Yaw and roll follow OpenFace's pose_Ry / pose_Rz on default.wmv (EmoInfer's OpenFace CSV).
    @Test func headPoseFollowsOpenFace() throws {
        let text = try String(contentsOfFile: TestEnvironment.media("groundtruth/openface/EmoInfer/default.csv"), encoding: .utf8)
        let rows = text.split(whereSeparator: \.isNewline).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        let header = rows[0]
        let ry = try #require(header.firstIndex(of: "pose_Ry")), rz = try #require(header.firstIndex(of: "pose_Rz"))
        let reader = try VideoReader(path: TestEnvironment.media("video/openface/default.wmv"))
        let analyzer = try Self.analyzer()
        var ours: [(Double, Double)] = [], theirs: [(Double, Double)] = []
        var frame = 0
        var timings = AnalysisTimings()
        while let image = try reader.read() {
            defer { frame += 1 }
            guard frame % 3 == 0, frame + 1 < rows.count, let face = try analyzer.analyze(image, timings: &timings).first, let pose = face.pose,
                  let y = Double(rows[frame + 1][ry]), let r = Double(rows[frame + 1][rz]) else { continue }
            ours.append((Double(pose.yaw), Double(pose.roll)))
            theirs.append((y * 180 / .pi, r * 180 / .pi))
        }
        let yaw = Self.pearson(ours.map(\.0), theirs.map(\.0)), roll = Self.pearson(ours.map(\.1), theirs.map(\.1))
        let yawError = zip(ours, theirs).map { abs($0.0 - $1.0) }.reduce(0, +) / Double(ours.count)
        print("head pose vs OpenFace on default.wmv (\(ours.count) frames): yaw r \(yaw), roll r \(roll), yaw mean abs diff \(yawError)°")
        #expect(ours.count > 80)
        #expect(yaw > 0.9 && roll > 0.9)
        #expect(yawError < 8)
    }

    @Test func obamaFacesTheCamera() throws {
        var timings = AnalysisTimings()
        let faces = try Self.analyzer(embeddings: true).analyze(try ImageIO.read(TestEnvironment.media("images/face_recognition/obama.jpg")), timings: &timings)
        let face = try #require(faces.first)
        #expect(faces.count == 1)
        #expect(face.landmarks?.count == 68)
        let pose = try #require(face.pose)
        #expect(abs(pose.yaw) < 15 && abs(pose.pitch) < 20 && abs(pose.roll) < 10)
        #expect(pose.translation[2] > 200 && pose.translation[2] < 3000)
        #expect(face.embedding?.count == 128)
        // Landmarks sit inside the detector box (within a margin).
        let box = face.box
        #expect(face.landmarks!.allSatisfy { $0.x > box.x1 - 20 && $0.x < box.x2 + 20 && $0.y > box.y1 - 20 && $0.y < box.y2 + 20 })
    }

    @Test func manyFacesPartialFacesAndNoFaces() throws {
        let analyzer = try Self.analyzer()
        var timings = AnalysisTimings()
        let crowd = try analyzer.analyze(try ImageIO.read(TestEnvironment.media("images/dlib_faces/bald_guys.jpg")), timings: &timings)
        #expect(crowd.count >= 20)
        #expect(crowd.allSatisfy { $0.landmarks?.count == 68 && $0.pose != nil })
        let partial = try analyzer.analyze(try ImageIO.read(TestEnvironment.media("images/face_recognition/obama_partial_face.jpg")), timings: &timings)
        #expect(partial.count >= 1)
        #expect(partial.allSatisfy { $0.landmarks?.count == 68 && $0.landmarks!.allSatisfy { $0.x.isFinite && $0.y.isFinite } })
        let none = try analyzer.analyze(try ImageIO.read(TestEnvironment.media("images/skimage/coffee.png")), timings: &timings)
        #expect(none.isEmpty)
    }
}
