import Foundation
import VisageCore
import VisageMedia

/// A job as a network front end receives it: the kind, the files it reads as ids the front end holds, and
/// every other option by the name the command line gives it (`{"kind": "swap", "inputs": {"source": ID,
/// "target": ID}, "options": {"many-faces": true}}`). `makeJob` turns it into the same typed job the
/// command line builds, through the job's own `Codable` (so an option means the same in both).
public struct JobRequest: Codable, Sendable {
    public var kind: JobKind
    /// Option name → the id of a file the front end holds (resolved to a path by `makeJob`'s caller).
    public var inputs: [String: String]
    /// Option name (as the command line spells it) → value. Files the job writes are not options here:
    /// the front end chooses where they go; an optional one is asked for with `true` (`"plot": true`).
    public var options: [String: JSONValue]

    public init(kind: JobKind, inputs: [String: String], options: [String: JSONValue] = [:]) {
        self.kind = kind; self.inputs = inputs; self.options = options
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(JobKind.self, forKey: .kind)
        inputs = try c.decodeIfPresent([String: String].self, forKey: .inputs) ?? [:]
        options = try c.decodeIfPresent([String: JSONValue].self, forKey: .options) ?? [:]
    }

    /// Every uploaded file the request reads: its inputs and the files of its pairs (`map-faces`).
    public var fileIDs: [String] {
        var ids = Array(inputs.values)
        if let option = JobFileOptions.of(kind)?.filePairs?.option, case .array(let items)? = options[option] {
            for case .object(let pair) in items { ids += ["source", "reference"].compactMap { pair[$0]?.string } }
        }
        return ids
    }

    /// `[{"source": ID, "reference": ID}, …]` → the same pairs with paths; errors name the element.
    static func resolvePairs(_ value: JSONValue, option: String, input: (String, String) throws -> String) throws -> JSONValue {
        guard case .array(let items) = value, !items.isEmpty else {
            throw JobRequestError(field: "options.\(option)", message: "\(option) takes a list of {\"source\": FILE_ID, \"reference\": FILE_ID} pairs")
        }
        var resolved: [JSONValue] = []
        for (i, item) in items.enumerated() {
            var pair: [String: JSONValue] = [:]
            for key in ["source", "reference"] {
                guard case .object(let object) = item, let id = object[key]?.string else {
                    throw JobRequestError(field: "options.\(option)[\(i)].\(key)", message: "\(option)[\(i)] needs \"\(key)\": the id of an uploaded photo")
                }
                pair[key] = .string(try input("options.\(option)[\(i)].\(key)", id))
            }
            resolved.append(.object(pair))
        }
        return .array(resolved)
    }

    /// The kinds a request can ask for (cameras, live sources and benchmarks belong to the machine).
    public static let servedKinds: [JobKind] = [.swap, .au, .analyze, .enhance]

    /// The typed job, with input ids resolved by `input(option, id)` and written files placed by
    /// `output(option, fileExtension)`. Throws `JobRequestError` naming the field that is wrong.
    public func makeJob(input: (String, String) throws -> String, output: (String, String) throws -> String) throws -> RequestedJob {
        guard let files = JobFileOptions.of(kind) else {
            throw JobRequestError(field: "kind", message: "kind must be one of \(Self.servedKinds.map(\.rawValue).joined(separator: ", ")) (got \(kind.rawValue))")
        }
        let pairs = files.filePairs.flatMap { options[$0.option] }
        for name in files.requiredInputs where inputs[name] == nil && !(pairs != nil && files.filePairs?.replaces == name) {
            let instead = files.filePairs.map { $0.replaces == name ? " (or pairs of file ids in options.\($0.option))" : "" } ?? ""
            throw JobRequestError(field: "inputs.\(name)", message: "a \(kind.rawValue) job needs the file id of its \(name) in inputs.\(name)\(instead)")
        }
        var object: [String: JSONValue] = [:]
        let known = files.optionNames
        for (name, value) in options {
            guard known.contains(name) else {
                throw JobRequestError(field: "options.\(name)", message: "unknown option '\(name)' for a \(kind.rawValue) job")
            }
            if files.hostOnly.contains(name) {
                throw JobRequestError(field: "options.\(name)", message: "option '\(name)' names something on the server's machine and cannot be set in a request")
            }
            if files.requiredInputs.contains(name) || files.optionalInputs.contains(name) {
                throw JobRequestError(field: "options.\(name)", message: "'\(name)' is a file: give its id in inputs.\(name)")
            }
            if files.outputs.contains(where: { $0.name == name }) { continue }
            if name == files.filePairs?.option {
                object[name] = try Self.resolvePairs(value, option: name, input: input)
                continue
            }
            object[name] = value
        }
        var mainInput: String?
        for (name, id) in inputs {
            guard files.requiredInputs.contains(name) || files.optionalInputs.contains(name) else {
                throw JobRequestError(field: "inputs.\(name)", message: "a \(kind.rawValue) job reads no file called '\(name)' (it reads \((files.requiredInputs + files.optionalInputs).joined(separator: ", ")))")
            }
            let path = try input(name, id)
            object[name] = .string(path)
            if name == files.mainInput { mainInput = path }
        }
        let isVideo = mainInput.map(MediaKind.isVideo) ?? false
        for out in files.outputs {
            let asked = options[out.name]
            if let asked, asked.bool == nil {
                throw JobRequestError(field: "options.\(out.name)", message: "\(out.name) is written by the server: give true to ask for it, or leave it out")
            }
            guard out.always || asked?.bool == true else { continue }
            object[out.name] = .string(try output(out.name, out.fileExtension(isVideo)))
        }
        let data = try JSONEncoder().encode(object)
        do {
            switch kind {
            case .swap: return .swap(try JSONDecoder().decode(SwapJob.self, from: data))
            case .au: return .au(try JSONDecoder().decode(AUJob.self, from: data))
            case .analyze: return .analyze(try JSONDecoder().decode(AnalyzeJob.self, from: data))
            case .enhance: return .enhance(try JSONDecoder().decode(EnhanceJob.self, from: data))
            default: throw JobRequestError(field: "kind", message: "kind \(kind.rawValue) cannot be requested")
            }
        } catch let error as DecodingError {
            throw JobRequestError(error, prefix: "options")
        }
    }
}

/// A request that names a wrong field: which one, and what is wrong with it.
public struct JobRequestError: Error, CustomStringConvertible, Sendable, Equatable {
    /// "options.mouth-mask", "inputs.target", "kind".
    public var field: String
    public var message: String
    public var description: String { message }

    public init(field: String, message: String) { self.field = field; self.message = message }

    /// A decoding failure in the words of the field it happened at.
    public init(_ error: DecodingError, prefix: String) {
        func path(_ context: DecodingError.Context, _ extra: CodingKey? = nil) -> String {
            let keys = (context.codingPath + [extra].compactMap { $0 }).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return ([prefix] + keys).filter { !$0.isEmpty }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .typeMismatch(let type, let context):
            let field = path(context)
            self.init(field: field, message: "\(field) must be \(Self.describe(type))")
        case .valueNotFound(let type, let context):
            let field = path(context)
            self.init(field: field, message: "\(field) must be \(Self.describe(type)), not null")
        case .keyNotFound(let key, let context):
            let field = path(context, key)
            self.init(field: field, message: "\(field) is missing")
        case .dataCorrupted(let context):
            let field = path(context)
            self.init(field: field, message: "\(field) is not valid: \(context.debugDescription)")
        @unknown default:
            self.init(field: prefix, message: "\(prefix) could not be read")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int64.Type: return "a whole number"
        case is Float.Type, is Double.Type: return "a number"
        case is String.Type: return "a string"
        default: return "a \(type)"
        }
    }
}

/// Which options of a job name files: those it reads (ids in a request), those it writes (placed by the
/// front end) and those that name things on the host (model paths, cameras), which a request cannot set.
public struct JobFileOptions: Sendable {
    public struct Output: Sendable {
        public var name: String
        /// Written on every run (otherwise only when the request asks with `true`).
        public var always: Bool
        /// The file's extension, by whether the main input is a video.
        public var fileExtension: @Sendable (Bool) -> String
    }

    public var requiredInputs: [String]
    public var optionalInputs: [String] = []
    /// The input whose kind (image or video) decides the outputs' kinds.
    public var mainInput: String
    public var outputs: [Output]
    public var hostOnly: [String]
    /// An option whose value is a list of `{source, reference}` pairs of uploaded files (swap:
    /// `map-faces`), and the input it makes unnecessary (swap: `source`).
    public var filePairs: (option: String, replaces: String)?
    /// Every option the job knows (its `CodingKeys`).
    public var optionNames: Set<String>

    public static func of(_ kind: JobKind) -> JobFileOptions? {
        switch kind {
        case .swap:
            return JobFileOptions(requiredInputs: ["source", "target"], mainInput: "target",
                                  outputs: [Output(name: "output", always: true) { $0 ? "mp4" : "png" }],
                                  hostOnly: ["swap-model", "recognizer-model", "keep-frames", "enhancer-model"],
                                  filePairs: ("map-faces", replaces: "source"),
                                  optionNames: Set(SwapJob.CodingKeys.allCases.map(\.rawValue)))
        case .au:
            return JobFileOptions(requiredInputs: ["input"], optionalInputs: ["landmarks-from"], mainInput: "input",
                                  outputs: [Output(name: "output", always: true) { _ in "csv" }, Output(name: "plot", always: false) { _ in "png" }],
                                  hostOnly: ["camera", "jobs"], optionNames: Set(AUJob.CodingKeys.allCases.map(\.rawValue)))
        case .analyze:
            return JobFileOptions(requiredInputs: ["input"], mainInput: "input",
                                  outputs: [Output(name: "draw", always: false) { $0 ? "mp4" : "png" }],
                                  hostOnly: [], optionNames: Set(AnalyzeJob.CodingKeys.allCases.map(\.rawValue)))
        case .enhance:
            return JobFileOptions(requiredInputs: ["input"], mainInput: "input",
                                  outputs: [Output(name: "output", always: true) { $0 ? "mp4" : "png" }],
                                  hostOnly: ["enhancer-model"], optionNames: Set(EnhanceJob.CodingKeys.allCases.map(\.rawValue)))
        default:
            return nil
        }
    }
}

/// One of the jobs a request can ask for, run the same way whatever its kind.
public enum RequestedJob: Sendable {
    case swap(SwapJob)
    case au(AUJob)
    case analyze(AnalyzeJob)
    case enhance(EnhanceJob)

    public var kind: JobKind {
        switch self {
        case .swap: return .swap
        case .au: return .au
        case .analyze: return .analyze
        case .enhance: return .enhance
        }
    }

    public var requiredModels: [String] {
        switch self {
        case .swap(let job): return job.requiredModels
        case .au(let job): return job.requiredModels
        case .analyze(let job): return job.requiredModels
        case .enhance(let job): return job.requiredModels
        }
    }

    /// Options in range (before any file is looked at).
    public func validateOptions() throws {
        switch self {
        case .swap(let job): try job.validateOptions()
        case .au(let job): try job.validateOptions()
        case .analyze(let job): try job.validateOptions()
        case .enhance(let job): try job.validateOptions()
        }
    }

    public func validate() throws {
        switch self {
        case .swap(let job): try job.validate()
        case .au(let job): try job.validate()
        case .analyze(let job): try job.validate()
        case .enhance(let job): try job.validate()
        }
    }

    /// Runs the job and encodes its result as `--json` does (`JobJSON`, compact).
    public func run(in context: JobContext) throws -> Data {
        switch self {
        case .swap(let job): return try JobJSON.data(try job.run(in: context), pretty: false)
        case .au(let job): return try JobJSON.data(try job.run(in: context), pretty: false)
        case .analyze(let job): return try JobJSON.data(try job.run(in: context), pretty: false)
        case .enhance(let job): return try JobJSON.data(try job.run(in: context), pretty: false)
        }
    }
}
