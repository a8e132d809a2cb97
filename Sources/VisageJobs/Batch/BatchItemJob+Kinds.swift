import Foundation
import VisageCore
import VisageMedia

/// A job result a batch item reports: frames processed and what the user should know.
public protocol BatchCountedResult {
    var frames: Int { get }
    var warnings: [String] { get }
}

extension AUResult: BatchCountedResult {}
extension SwapResult: BatchCountedResult {}
extension EnhanceResult: BatchCountedResult {}

extension BatchItemJob where Self: VisageJob, Result: BatchCountedResult {
    /// Runs the job as its command would; its frames and warnings go to the run's status.
    public func runBatchItem(in context: JobContext) throws -> BatchItemOutcome {
        let result = try run(in: context)
        return BatchItemOutcome(frames: result.frames, warnings: result.warnings)
    }
}

// The jobs a manifest line can hold. Each item is the same job its command runs (`visage au`, `visage swap`,
// `visage analyze`, `visage enhance`), so an item's output is the command's output for the same file and options.

extension AUJob: BatchItemJob {
    public static func accepts(option key: String) -> Bool { CodingKeys(stringValue: key) != nil }

    public var batchInputs: [String] { [input, landmarksFrom].compactMap { $0 } }
    public var batchOutputs: [String] { [output, plot].compactMap { $0 } }

    public func validateBatchItem() throws {
        if camera != nil { throw VisageError.invalidArgument("a batch item reads a file; a camera cannot be an item") }
        try validateOptions()
        guard output != nil else { throw VisageError.invalidArgument("the item has no output: give the CSV it writes (\"output\")") }
        if isFolder {
            throw VisageError.invalidArgument("\(input ?? "") is a folder; a batch item is one video or image (make one item per file, e.g. visage batch au --inputs 'folder/*')")
        }
    }

    /// An item made for every file of a pattern from one set of options (`visage batch au --inputs`): options
    /// naming a single file (a camera, a plot, a landmark CSV) cannot hold for every item.
    public func validatePatternItem() throws {
        if camera != nil || plot != nil || landmarksFrom != nil {
            throw VisageError.invalidArgument("camera, plot and landmarks-from name one file; in a batch, write them per item in a manifest")
        }
    }

    public func resolvingPaths(against folder: URL) -> AUJob {
        var job = self
        job.input = Self.resolve(input, against: folder)
        job.output = Self.resolve(output, against: folder)
        job.plot = Self.resolve(plot, against: folder)
        job.landmarksFrom = Self.resolve(landmarksFrom, against: folder)
        return job
    }
}

extension SwapJob: BatchItemJob {
    public static func accepts(option key: String) -> Bool { CodingKeys(stringValue: key) != nil }

    public var batchInputs: [String] { inputs + [swapModel, recognizerModel].compactMap { $0 } }
    public var batchOutputs: [String] { [output] }

    public func validateBatchItem() throws { try validateOptions() }

    public func resolvingPaths(against folder: URL) -> SwapJob {
        var job = self
        job.source = Self.resolve(source, against: folder)
        job.target = Self.resolve(target, against: folder)
        job.output = Self.resolve(output, against: folder)
        job.mapFaces = mapFaces.map { FacePair(source: Self.resolve($0.source, against: folder), reference: Self.resolve($0.reference, against: folder)) }
        job.swapModel = Self.resolve(swapModel, against: folder)
        job.recognizerModel = Self.resolve(recognizerModel, against: folder)
        return job
    }
}

extension EnhanceJob: BatchItemJob {
    public static func accepts(option key: String) -> Bool { CodingKeys(stringValue: key) != nil }

    public var batchInputs: [String] { [input, enhancerModel].compactMap { $0 } }
    public var batchOutputs: [String] { [output] }

    public func validateBatchItem() throws { try validateOptions() }

    public func resolvingPaths(against folder: URL) -> EnhanceJob {
        var job = self
        job.input = Self.resolve(input, against: folder)
        job.output = Self.resolve(output, against: folder)
        job.enhancerModel = Self.resolve(enhancerModel, against: folder)
        return job
    }
}

/// An `analyze` item: `AnalyzeJob`'s options plus the file its result goes to — `.jsonl` for what
/// `visage analyze --jsonl` prints (a line per video frame and track event), `.json` for `--json`'s document.
public struct AnalyzeBatchItem: BatchItemJob {
    public var job: AnalyzeJob
    public var output: String

    public init(job: AnalyzeJob, output: String) {
        self.job = job
        self.output = output
        // What the file holds decides whether frames are kept in the result (the command line does the same).
        self.job.collectFrames = Self.isJSONDocument(output)
    }

    private enum Keys: String, CodingKey { case output }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        self.init(job: try AnalyzeJob(from: decoder), output: try c.decode(String.self, forKey: .output))
    }

    public func encode(to encoder: Encoder) throws {
        try job.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(output, forKey: .output)
    }

    public static func accepts(option key: String) -> Bool { key == Keys.output.rawValue || AnalyzeJob.CodingKeys(stringValue: key) != nil }

    public var batchInputs: [String] { [job.input] }
    public var batchOutputs: [String] { [output] + [job.draw].compactMap { $0 } }
    public var requiredModels: [String] { job.requiredModels }

    static func isJSONDocument(_ path: String) -> Bool { URL(fileURLWithPath: path).pathExtension.lowercased() == "json" }

    public func validateBatchItem() throws {
        try job.validateOptions()
        let ext = URL(fileURLWithPath: output).pathExtension.lowercased()
        guard ext == "json" || ext == "jsonl" else {
            throw VisageError.invalidArgument("the output \(output) must be .jsonl (a line per frame, as --jsonl prints) or .json (one document, as --json prints)")
        }
        if OutputCheck.sameFile(output, job.input) {
            throw VisageError.invalidArgument("the output \(output) is the input; choose another path (nothing was written)")
        }
    }

    public func resolvingPaths(against folder: URL) -> AnalyzeBatchItem {
        var item = self
        item.job.input = Self.resolve(job.input, against: folder)
        item.job.draw = Self.resolve(job.draw, against: folder)
        item.output = Self.resolve(output, against: folder)
        return item
    }

    public func runBatchItem(in context: JobContext) throws -> BatchItemOutcome {
        try validateBatchItem()
        try job.validate()
        try OutputCheck.validate(URL(fileURLWithPath: output).deletingLastPathComponent().path, kind: .folder, inputs: [], role: "output folder")
        var frames = 1
        var warnings: [String] = []
        try AtomicFile.write(to: URL(fileURLWithPath: output)) { temp in
            guard FileManager.default.createFile(atPath: temp.path, contents: nil), let file = FileHandle(forWritingAtPath: temp.path) else {
                throw VisageError.writeFailed(path: output, reason: "cannot create a file in \(temp.deletingLastPathComponent().path)")
            }
            defer { try? file.close() }
            let document = Self.isJSONDocument(output)
            // The bytes `visage analyze --jsonl` / `--json` print: compact lines, or one pretty document.
            let result = try job.run(in: context) { record, events in
                guard !document else { return }
                if let record { try Self.writeLine(record, to: file) }
                for event in events { try Self.writeLine(event, to: file) }
            }
            if document || !result.isVideo {
                try file.write(contentsOf: try JobJSON.data(result, pretty: document) + Data("\n".utf8))
            }
            frames = result.frameCount ?? 1
            if result.isVideo && result.tracks == 0 { warnings.append("no face found in \(job.input)") }
            if !result.isVideo && (result.faces ?? []).isEmpty { warnings.append("no face found in \(job.input)") }
        }
        return BatchItemOutcome(frames: frames, warnings: warnings)
    }

    private static func writeLine<T: Encodable>(_ value: T, to file: FileHandle) throws {
        try file.write(contentsOf: try JobJSON.data(value, pretty: false) + Data("\n".utf8))
    }
}
