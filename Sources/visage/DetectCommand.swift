import ArgumentParser
import Foundation
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Find faces (box, score, 5 keypoints) in images.")

    @Argument(help: "Image files.")
    var images: [String]

    @Option(help: "Detector: \(DetectorFactory.supportedModels.joined(separator: ", ")) or a path to an .onnx file.")
    var model: String = DetectorFactory.defaultModel

    @Flag(help: "Print JSON on stdout.")
    var json = false

    @Option(help: "Write an annotated copy of the (single) input image here (.png/.jpg).")
    var draw: String?

    @Option(help: "Minimum score (default: the model's own, 0.5 SCRFD, 0.7 YuNet).")
    var threshold: Float?

    @Option(help: "Keep at most this many faces, highest scores first (0: all).")
    var maxFaces: Int = 0

    @Option(help: "Detector input size in pixels (square, multiple of 32).")
    var inputSize: Int = 640

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
        if draw != nil && images.count != 1 { throw ValidationError("--draw takes exactly one input image") }
        guard inputSize > 0, inputSize % 32 == 0 else { throw ValidationError("--input-size must be a positive multiple of 32") }
        guard maxFaces >= 0 else { throw ValidationError("--max-faces must be >= 0") }
    }

    func run() throws {
        if runtime.verbose { VisageLog.setLevel(.debug) }
        // Check every input before loading any model: bad files fail fast and cheaply.
        for path in images { try ImageIO.checkReadableFile(path) }
        let options = DetectionOptions(inputWidth: inputSize, inputHeight: inputSize, scoreThreshold: threshold, maxFaces: maxFaces)
        let detector = try DetectorFactory.make(model: model, options: options, config: runtime.sessionConfig())
        Banner.print(plan: detector.session.plan)
        var results: [[String: Any]] = []
        for path in images {
            let image = try ImageIO.read(path)
            let (faces, timings) = try detector.detectTimed(image)
            if json {
                results.append([
                    "image": path, "width": image.width, "height": image.height,
                    "faces": faces.map(Self.json),
                    "timings_ms": ["preprocess": timings.preprocess, "inference": timings.inference, "postprocess": timings.postprocess],
                ])
            } else {
                print("\(path): \(faces.count) face\(faces.count == 1 ? "" : "s") (\(detector.modelID), \(String(format: "%.1f", timings.total)) ms)")
                for (i, face) in faces.enumerated() {
                    let b = face.box
                    print(String(format: "  #%d score %.3f box (%.0f, %.0f)-(%.0f, %.0f) %.0fx%.0f", i + 1, face.score, b.x1, b.y1, b.x2, b.y2, b.width, b.height))
                }
            }
            if let draw {
                let annotated = image.copy()
                FaceDrawing.draw(faces, on: annotated)
                try ImageIO.write(annotated, to: draw)
                if !json { print("wrote \(draw)") }
            }
        }
        if json { try JSONOutput.print(["model": detector.modelID, "results": results]) }
    }

    static func json(_ face: DetectedFace) -> [String: Any] {
        [
            "box": [face.box.x1, face.box.y1, face.box.x2, face.box.y2].map { JSONOutput.round($0) },
            "score": JSONOutput.round(face.score, 4),
            "kps": face.keypoints.map { [JSONOutput.round($0.x), JSONOutput.round($0.y)] },
        ]
    }
}

enum FaceDrawing {
    static func draw(_ faces: [DetectedFace], on image: Image) {
        let thickness = max(1, min(image.width, image.height) / 300)
        let colors: [Color] = [.red, .green, .cyan, .yellow, .red]
        for face in faces {
            Drawing.rectangle(image, face.box, color: .green, thickness: thickness)
            for (i, p) in face.keypoints.enumerated() {
                Drawing.circle(image, p, radius: thickness + 1, color: colors[i % colors.count])
            }
            Drawing.text(image, String(format: "%.2f", face.score), at: Point(face.box.x1, max(12, face.box.y1 - 4)),
                         scale: Double(thickness) * 0.5, color: .green, thickness: thickness)
        }
    }
}
