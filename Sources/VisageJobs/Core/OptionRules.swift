import Foundation
import VisageCore

/// The valid range of each numeric option, declared once beside the job that takes it and checked before
/// any work (the command line at parse time, the server when a job is submitted). Messages name the option
/// as both front ends spell it and the range it must be in.
public enum OptionRules {
    /// "960x540" (any case of x) as width and height; an error that shows the form otherwise.
    public static func frameSize(_ text: String, option: String = "size") throws -> (width: Int, height: Int) {
        let dims = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard dims.count == 2, let width = dims[0], let height = dims[1] else {
            throw VisageError.invalidArgument("\(option) is WIDTHxHEIGHT, e.g. 960x540 (got '\(text)')")
        }
        return (width, height)
    }

    public static func check<T: Comparable & CustomStringConvertible>(_ name: String, _ value: T, in range: ClosedRange<T>) throws {
        guard range.contains(value) else {
            throw VisageError.invalidArgument("\(name) must be from \(range.lowerBound) to \(range.upperBound) (got \(value))")
        }
    }

    public static func check(_ name: String, _ value: Float, in range: ClosedRange<Float>) throws {
        guard value.isFinite, range.contains(value) else {
            throw VisageError.invalidArgument("\(name) must be from \(format(range.lowerBound)) to \(format(range.upperBound)) (got \(format(value)))")
        }
    }

    public static func check(_ name: String, _ value: Double, in range: ClosedRange<Double>) throws {
        guard value.isFinite, range.contains(value) else {
            throw VisageError.invalidArgument("\(name) must be from \(format(Float(range.lowerBound))) to \(format(Float(range.upperBound))) (got \(value))")
        }
    }

    public static func check(_ name: String, _ value: Int, in range: ClosedRange<Int>, multipleOf step: Int) throws {
        guard range.contains(value), value % step == 0 else {
            throw VisageError.invalidArgument("\(name) must be a multiple of \(step) from \(range.lowerBound) to \(range.upperBound) (got \(value))")
        }
    }

    private static func format(_ v: Float) -> String {
        v == v.rounded() ? String(Int(v)) : String(v)
    }

    // Ranges shared by several jobs.
    /// Running the detector every 1 to 100 frames.
    public static let detectEvery = 1...100
    /// Blend strengths and the like.
    public static let unit: ClosedRange<Float> = 0...1
    /// CRF-like video quality.
    public static let videoQuality = 0...51
    /// ONNX Runtime threads per model (0: one per core).
    public static let threads = 0...256
}
