import Foundation
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime

/// Find faces (box, score, 5 keypoints) in images. Several images: each is reported on its own, and a
/// bad one does not stop the others (it is listed in `failures`).
public struct DetectJob: VisageJob {
    public static let kind = JobKind.detect
    public var images: [String]
    /// Detector model id or .onnx path.
    public var model: String = DetectorFactory.defaultModel
    /// Minimum score; nil: the model's own.
    public var threshold: Float?
    /// 0: all faces.
    public var maxFaces: Int = 0
    public var inputSize: Int = 640
    /// Annotated copy of the (single) image.
    public var draw: String?

    public static let inputSizeRange = 32...4096
    public static let maxFacesRange = 0...10_000

    public init(images: [String]) { self.images = images }

    enum CodingKeys: String, CodingKey {
        case images, model, threshold, draw
        case maxFaces = "max-faces", inputSize = "input-size"
    }

    public var requiredModels: [String] { model.hasSuffix(".onnx") ? [] : [model] }

    /// The options alone (ranges, combinations): what a front end checks while parsing.
    public func validateOptions() throws {
        guard !images.isEmpty else { throw VisageError.invalidArgument("give at least one image") }
        if draw != nil && images.count != 1 { throw VisageError.invalidArgument("draw takes exactly one input image") }
        try OptionRules.check("input-size", inputSize, in: Self.inputSizeRange, multipleOf: 32)
        try OptionRules.check("max-faces", maxFaces, in: Self.maxFacesRange)
        if let threshold { try OptionRules.check("threshold", threshold, in: 0...1) }
    }

    /// Options and files, before any model loads: a single bad input fails fast and cheaply.
    public func validate() throws {
        try validateOptions()
        if images.count == 1 { try ImageIO.checkReadableFile(images[0]) }
        if let draw { try OutputCheck.validate(draw, kind: .image, inputs: images, role: "draw") }
    }

    public func run(in context: JobContext) throws -> DetectResult {
        try validate()
        let options = DetectionOptions(inputWidth: inputSize, inputHeight: inputSize, scoreThreshold: threshold, maxFaces: maxFaces)
        let detector = try FacePipeline(context: context).detector(model, options: options)
        var result = DetectResult(model: detector.modelID, accelerator: detector.session.plan)
        for path in images {
            try context.cancellation.check()
            do {
                let image = try ImageIO.read(path)
                let (faces, timings) = try detector.detectTimed(image)
                result.results.append(ImageDetections(image: path, width: image.width, height: image.height,
                                                      faces: faces.map(FaceBoxRecord.init), timings: timings))
                if let draw {
                    let annotated = image.copy()
                    FaceAnnotation.draw(faces, on: annotated)
                    try ImageIO.write(annotated, to: draw)
                }
            } catch let error as VisageError where images.count > 1 && error != .interrupted && error != .cancelled {
                result.failures.append(InputFailure(input: path, error: error.description))
            }
        }
        return result
    }
}

/// What `DetectJob` found.
public struct DetectResult: Codable, Sendable {
    public var model: String
    public var results: [ImageDetections] = []
    /// Inputs that could not be read (several inputs only; one bad input is an error).
    public var failures: [InputFailure] = []
    /// The providers the detector runs on (not encoded: the banner says it).
    public var accelerator: AcceleratorPlan?

    init(model: String, accelerator: AcceleratorPlan?) { self.model = model; self.accelerator = accelerator }

    enum CodingKeys: String, CodingKey { case model, results, failures }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model)
        try c.encode(results, forKey: .results)
        if !failures.isEmpty { try c.encode(failures, forKey: .failures) }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        results = try c.decode([ImageDetections].self, forKey: .results)
        failures = try c.decodeIfPresent([InputFailure].self, forKey: .failures) ?? []
    }
}

public struct ImageDetections: Codable, Sendable {
    public var image: String
    public var width: Int
    public var height: Int
    public var faces: [FaceBoxRecord]
    public var timings: Timings

    public struct Timings: Codable, Sendable {
        public var preprocess: Double
        public var inference: Double
        public var postprocess: Double
        public var total: Double { preprocess + inference + postprocess }
    }

    init(image: String, width: Int, height: Int, faces: [FaceBoxRecord], timings: DetectionTimings) {
        self.image = image
        self.width = width
        self.height = height
        self.faces = faces
        self.timings = Timings(preprocess: timings.preprocess, inference: timings.inference, postprocess: timings.postprocess)
    }

    enum CodingKeys: String, CodingKey {
        case image, width, height, faces
        case timings = "timings_ms"
    }
}

/// A detected face as results report it: box corners and keypoints to 0.01 px, score to 1e-4.
public struct FaceBoxRecord: Codable, Sendable, Equatable {
    public var box: [Double]
    public var score: Double
    public var kps: [[Double]]

    public init(_ face: DetectedFace) {
        box = [face.box.x1, face.box.y1, face.box.x2, face.box.y2].map { JobJSON.round($0) }
        score = JobJSON.round(face.score, 4)
        kps = face.keypoints.map { [JobJSON.round($0.x), JobJSON.round($0.y)] }
    }
}

/// An input that failed while the others went on.
public struct InputFailure: Codable, Sendable, Equatable {
    public var input: String
    public var error: String
    public init(input: String, error: String) { self.input = input; self.error = error }
}
