import Foundation
import Testing
import VisageCore
import VisageFace
import VisageMedia

/// Recall/precision of the detectors on dlib's annotated PASCAL VOC faces
/// (shared/media/images/dlib_faces/{training,testing}.xml), matched greedily at IoU >= 0.4.
@Suite struct DlibRecallTests {
    struct Annotated { let file: String; let boxes: [Box] }

    static func annotations() throws -> [Annotated] {
        var result: [Annotated] = []
        for xml in ["training.xml", "testing.xml"] {
            let text = try String(contentsOfFile: TestEnvironment.media("images/dlib_faces/" + xml), encoding: .isoLatin1)
            var current: (String, [Box])?
            for raw in text.split(separator: "\n") {
                let line = raw.trimmingCharacters(in: .whitespaces)
                func attr(_ name: String) -> String? {
                    guard let r = line.range(of: "\(name)='") else { return nil }
                    let rest = line[r.upperBound...]
                    return rest.firstIndex(of: "'").map { String(rest[..<$0]) }
                }
                if line.hasPrefix("<image "), let file = attr("file") { current = (file, []) }
                else if line.hasPrefix("<box "), let t = attr("top").flatMap(Float.init), let l = attr("left").flatMap(Float.init),
                        let w = attr("width").flatMap(Float.init), let h = attr("height").flatMap(Float.init) {
                    current?.1.append(Box(x: l, y: t, width: w, height: h))
                } else if line.hasPrefix("</image>"), let c = current { result.append(Annotated(file: c.0, boxes: c.1)); current = nil }
            }
        }
        return result
    }

    /// Greedy one-to-one matching, highest IoU first.
    static func evaluate(_ detector: FaceDetector) throws -> (recall: Double, precision: Double, truth: Int, detections: Int) {
        var truth = 0, hits = 0, detections = 0
        for item in try annotations() {
            let faces = try detector.detect(try ImageIO.read(TestEnvironment.media("images/dlib_faces/" + item.file)))
            truth += item.boxes.count
            detections += faces.count
            var used = Set<Int>()
            for gt in item.boxes {
                if let best = faces.indices.filter({ !used.contains($0) }).max(by: { faces[$0].box.iou(gt) < faces[$1].box.iou(gt) }),
                   faces[best].box.iou(gt) >= 0.4 {
                    used.insert(best)
                    hits += 1
                }
            }
        }
        return (Double(hits) / Double(truth), detections == 0 ? 0 : Double(hits) / Double(detections), truth, detections)
    }

    @Test(arguments: [DetectorFactory.defaultModel, "scrfd-500m", "scrfd-2.5g"])
    func recallAtIoU04(model: String) throws {
        let detector = try DetectorFactory.make(model: model, store: TestEnvironment.store)
        let r = try Self.evaluate(detector)
        print("dlib_faces \(model): recall \(r.recall) precision \(r.precision) (\(r.truth) boxes, \(r.detections) detections)")
        #expect(r.truth == 43)
        #expect(r.recall >= 0.95, "recall \(r.recall) on dlib's boxes with \(model)")
    }
}
