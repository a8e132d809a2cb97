import Foundation
import VisageAU
import VisageCLNF
import VisageCore
import VisageMedia

/// Shared test data (read-only, beside the repository) and helpers for the CLNF tests.
enum CLNFTestSupport {
    static let shared: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("shared", isDirectory: true)
    }()
    static let landmarkModels = shared.appendingPathComponent("models/openface-2.2.0/lib/local/LandmarkDetector/model", isDirectory: true)
    static let reference = shared.appendingPathComponent("reference/openface", isDirectory: true)
    static let videos = shared.appendingPathComponent("media/video/openface", isDirectory: true)

    /// The model is large (≈7 MB of experts); load it once for all tests.
    static let mainModel: Result<CLNFMainModel, Error> = Result { try CLNFMainModel(openFaceModelFolder: landmarkModels) }

    /// OpenFace C++ FeatureExtraction's CSV for a reference video.
    static func referenceTable(_ stem: String) throws -> OpenFaceCSVTable {
        try OpenFaceCSVTable(contentsOf: reference.appendingPathComponent("\(stem)/\(stem).csv").path)
    }

    /// The first `count` frames of a reference video as (BGR, grey) pairs; grey by cv::cvtColor BGR2GRAY as
    /// OpenFace's SequenceCapture converts.
    static func frames(_ file: String, count: Int) throws -> [(Image, Image)] {
        let reader = try VideoReader(path: videos.appendingPathComponent(file).path)
        var out: [(Image, Image)] = []
        while out.count < count, let frame = try reader.read() {
            out.append((frame, try ImageOps.convertColor(frame, .bgrToGray)))
        }
        return out
    }

    /// Reference row (0-based) → landmarks (x…, y…), global and local parameters.
    struct ReferenceFrame {
        var landmarks: [Float]
        var global: PDMGlobalParameters
        var local: [Float]
        var eyes: [Float]
        var confidence: Double
        var success: Bool
    }

    static func referenceFrames(_ table: OpenFaceCSVTable) throws -> [ReferenceFrame] {
        let xs = try (0..<68).map { try table.columnIndex("x_\($0)") }
        let ys = try (0..<68).map { try table.columnIndex("y_\($0)") }
        let ex = try (0..<56).map { try table.columnIndex("eye_lmk_x_\($0)") }
        let ey = try (0..<56).map { try table.columnIndex("eye_lmk_y_\($0)") }
        let g = try ["p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty"].map { try table.columnIndex($0) }
        let l = try (0..<34).map { try table.columnIndex("p_\($0)") }
        let c = try table.columnIndex("confidence"), s = try table.columnIndex("success")
        return (0..<table.rowCount).map { r in
            let v = { (k: Int) in Float(table.value(row: r, column: k)) }
            return ReferenceFrame(
                landmarks: xs.map(v) + ys.map(v),
                global: PDMGlobalParameters(scale: v(g[0]), rx: v(g[1]), ry: v(g[2]), rz: v(g[3]), tx: v(g[4]), ty: v(g[5])),
                local: l.map(v), eyes: ex.map(v) + ey.map(v),
                confidence: table.value(row: r, column: c), success: table.value(row: r, column: s) != 0)
        }
    }

    /// Mean Euclidean distance between two x…/y… landmark vectors.
    static func meanError(_ a: [Float], _ b: [Float]) -> Double {
        let n = a.count / 2
        var sum = 0.0
        for i in 0..<n {
            let dx = Double(a[i] - b[i]), dy = Double(a[i + n] - b[i + n])
            sum += (dx * dx + dy * dy).squareRoot()
        }
        return sum / Double(n)
    }

    /// A stand-in for OpenFace's MTCNN detector until it exists: returns the bounding box of the reference
    /// CSV's landmarks of the frame, which is roughly what OpenFace's corrected MTCNN box covers.
    /// A stand-in for OpenFace's CNN validator: answers every check of a frame with the certainty OpenFace's
    /// validator gave that frame's final fit (the CSV's confidence). It reproduces OpenFace's control flow
    /// where validation failed (re-detection, restored parameters), not the validator itself.
    final class ReferenceConfidenceValidator: OpenFaceLandmarkValidator {
        let frames: [ReferenceFrame]
        var frameIndex = 0
        init(frames: [ReferenceFrame]) { self.frames = frames }
        func check(gray: Image, landmarks: [Float], rotation: (Float, Float, Float)) throws -> Double {
            frameIndex < frames.count ? frames[frameIndex].confidence : 0
        }
    }

    final class ReferenceBoxDetector: OpenFaceFaceDetector {
        let frames: [ReferenceFrame]
        var frameIndex = 0
        var calls: [Int] = []
        init(frames: [ReferenceFrame]) { self.frames = frames }
        func detect(_ frame: Image) throws -> [OpenFaceDetection] {
            calls.append(frameIndex)
            guard frameIndex < frames.count else { return [] }
            let lm = frames[frameIndex].landmarks
            let xs = lm[0..<68], ys = lm[68..<136]
            let box = Box(x1: xs.min()!, y1: ys.min()!, x2: xs.max()!, y2: ys.max()!)
            return [OpenFaceDetection(box: box, confidence: 1)]
        }
    }
}

extension CLNFTestSupport {
    static func openVideo(_ file: String) throws -> VideoReader {
        try VideoReader(path: videos.appendingPathComponent(file).path)
    }

    static func gray(_ frame: Image) throws -> Image { try ImageOps.convertColor(frame, .bgrToGray) }
}
