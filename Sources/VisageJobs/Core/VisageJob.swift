import Foundation
import VisageCore

/// The kinds of job every front end can run.
public enum JobKind: String, Sendable, Codable, CaseIterable {
    case detect, analyze, compare, swap, au, live, enhance
}

/// A unit of work a front end hands to the library: typed options in, a typed result out. Jobs are values
/// (Codable, so the server decodes the same job from JSON that the command line builds from its options);
/// `run` does everything between parsing and printing, polling `context.cancellation` once per frame or
/// item and reporting progress to `context.progress`.
public protocol VisageJob: Codable, Sendable {
    associatedtype Result: Codable, Sendable
    static var kind: JobKind { get }
    /// Model ids the job needs installed (a front end installs them, or reports them missing, before `run`).
    var requiredModels: [String] { get }
    /// Options and files, checked before any model loads (`run` checks them again).
    func validate() throws
    func run(in context: JobContext) throws -> Result
}

/// JSON for results, the same for `--json` and the HTTP API: sorted keys, no escaped slashes.
public enum JobJSON {
    public static func encoder(pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func data<T: Encodable>(_ value: T, pretty: Bool) throws -> Data {
        try encoder(pretty: pretty).encode(value)
    }

    /// `value` rounded to `places` decimals, as results report coordinates (0.01 px) and scores (1e-4).
    public static func round(_ value: Float, _ places: Int = 2) -> Double {
        let p = pow(10.0, Double(places))
        return (Double(value) * p).rounded() / p
    }

    public static func round(_ value: Double, _ places: Int = 3) -> Double {
        let p = pow(10.0, Double(places))
        return (value * p).rounded() / p
    }
}
