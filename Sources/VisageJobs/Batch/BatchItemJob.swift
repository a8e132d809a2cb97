import Foundation
import VisageCore

/// A job that can be one item of a batch: decoded from a manifest line whose keys are the job's own option
/// names (the command line's), run with a `JobContext` of its own, and summarised in the run's status.
public protocol BatchItemJob: Codable, Sendable {
    /// Whether `key` names one of the job's options (a line with another key is refused, so a misspelt
    /// option never silently falls back to its default).
    static func accepts(option key: String) -> Bool
    /// The files the item reads (their sha256 goes into the item's `.done` record).
    var batchInputs: [String] { get }
    /// The files the item writes; the first is the one its `.done` record sits beside.
    var batchOutputs: [String] { get }
    var requiredModels: [String] { get }
    /// Options that make no sense for one item of a batch (a folder, a camera, no output), before any work.
    func validateBatchItem() throws
    /// The same item with its relative paths taken from `folder` (a manifest's paths are relative to it).
    func resolvingPaths(against folder: URL) -> Self
    /// Runs the item: writes its outputs (atomically, as the job's front end would) and says what it did.
    func runBatchItem(in context: JobContext) throws -> BatchItemOutcome
}

/// What one item did, for the status file and the throughput report.
public struct BatchItemOutcome: Codable, Sendable, Equatable {
    /// Frames (or images) processed.
    public var frames: Int
    public var warnings: [String]

    public init(frames: Int, warnings: [String] = []) { self.frames = frames; self.warnings = warnings }
}

/// The kinds a manifest line may name (`"kind": "au"`). A new kind is one line in `all`, for a job that
/// conforms to `BatchItemJob`.
public enum BatchKinds {
    public static let all: [String: any BatchItemJob.Type] = [
        "au": AUJob.self,
        "swap": SwapJob.self,
        "analyze": AnalyzeBatchItem.self,
        "enhance": EnhanceJob.self,
    ]

    public static var names: [String] { all.keys.sorted() }
}

extension BatchItemJob {
    /// Paths as a manifest gives them: absolute ones as they are, relative ones under `folder`.
    static func resolve(_ path: String, against folder: URL) -> String {
        path.hasPrefix("/") ? path : folder.appendingPathComponent(path).standardizedFileURL.path
    }

    static func resolve(_ path: String?, against folder: URL) -> String? {
        path.map { resolve($0, against: folder) }
    }
}
