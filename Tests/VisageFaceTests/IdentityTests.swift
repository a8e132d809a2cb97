import Foundation
import Testing
import VisageCore
import VisageFace
import VisageMedia

/// SFace on deepface's labelled pairs (groundtruth/deepface/master.csv + face-recognition-pivot.csv):
/// ROC-AUC over cosine similarities and accuracy at the model's published threshold.
@Suite struct IdentityTests {
    struct Pair: Hashable { let a: String; let b: String; let same: Bool }

    static func pairs() throws -> [Pair] {
        var seen = Set<[String]>(), result: [Pair] = []
        for (file, decisionColumn) in [("master.csv", "Decision"), ("face-recognition-pivot.csv", "decision")] {
            let text = try String(contentsOfFile: TestEnvironment.media("groundtruth/deepface/" + file), encoding: .utf8)
            let rows = text.split(whereSeparator: \.isNewline).map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } }
            guard let header = rows.first, let decision = header.firstIndex(of: decisionColumn) else { continue }
            for row in rows.dropFirst() where row.count > decision {
                let a = (row[0] as NSString).lastPathComponent, b = (row[1] as NSString).lastPathComponent
                let key = [a, b].sorted()
                guard !seen.contains(key) else { continue }
                seen.insert(key)
                result.append(Pair(a: a, b: b, same: row[decision].trimmingCharacters(in: .whitespaces) == "Yes"))
            }
        }
        return result
    }

    /// Area under the ROC curve: the probability that a same-person pair scores above a different-person pair.
    static func rocAUC(positives: [Float], negatives: [Float]) -> Double {
        var wins = 0.0
        for p in positives { for n in negatives { wins += p > n ? 1 : (p == n ? 0.5 : 0) } }
        return wins / Double(positives.count * negatives.count)
    }

    @Test func sfaceSeparatesDeepfaceIdentities() throws {
        let detector = try DetectorFactory.make(model: DetectorFactory.defaultModel, store: TestEnvironment.store)
        let embedder = try FaceEmbedder.make(model: FaceEmbedder.Profile.sface.modelID, store: TestEnvironment.store)
        var embeddings: [String: [Float]] = [:]
        func embedding(_ name: String) throws -> [Float]? {
            if let e = embeddings[name] { return e }
            let image = try ImageIO.read(TestEnvironment.media("images/deepface/" + name))
            guard let face = try detector.detect(image).first else { print("no face in \(name)"); return nil }
            let e = try embedder.embed(image, keypoints: face.keypoints)
            embeddings[name] = e
            return e
        }
        var positives: [Float] = [], negatives: [Float] = [], correct = 0, total = 0, noFace = 0
        let pairs = try Self.pairs()
        for pair in pairs {
            guard let a = try embedding(pair.a), let b = try embedding(pair.b) else { noFace += 1; continue }
            let similarity = FaceEmbedder.similarity(a, b)
            if pair.same { positives.append(similarity) } else { negatives.append(similarity) }
            if (similarity >= embedder.profile.threshold) == pair.same { correct += 1 }
            total += 1
        }
        let auc = Self.rocAUC(positives: positives, negatives: negatives)
        let accuracy = Double(correct) / Double(total)
        print("SFace on deepface pairs: \(pairs.count) pairs (\(positives.count) same, \(negatives.count) different, \(noFace) without a face), ROC-AUC \(auc), accuracy at \(embedder.profile.threshold): \(accuracy)")
        #expect(pairs.count >= 500)
        #expect(auc >= 0.95)
        #expect(accuracy >= 0.9)
    }

    @Test func embeddingsAreNormalisedAndCached() throws {
        let embedder = try FaceEmbedder.make(model: FaceEmbedder.Profile.sface.modelID, store: TestEnvironment.store)
        let detector = try DetectorFactory.make(model: DetectorFactory.defaultModel, store: TestEnvironment.store)
        let image = try ImageIO.read(TestEnvironment.media("images/face_recognition/obama.jpg"))
        let face = try #require(try detector.detect(image).first)
        let first = try embedder.embed(image, keypoints: face.keypoints)
        #expect(first.count == 128)
        #expect(abs(first.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4)
        let misses = embedder.cache.misses
        let second = try embedder.embed(image, keypoints: face.keypoints)
        #expect(second == first)
        #expect(embedder.cache.misses == misses && embedder.cache.hits >= 1)
    }
}
