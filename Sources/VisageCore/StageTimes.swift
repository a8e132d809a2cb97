import Foundation

/// Milliseconds spent per named stage, summed over calls: how `visage bench` and the end-of-run
/// summaries break a frame's cost down without every module inventing its own timers.
/// One instance per thread of work (not synchronised).
public final class StageTimes: @unchecked Sendable {
    public private(set) var milliseconds: [String: Double] = [:]
    /// Stage names in the order they were first seen (for readable tables).
    public private(set) var order: [String] = []

    public init() {}

    @inline(__always)
    @discardableResult
    public func measure<T>(_ stage: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { add(stage, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6) }
        return try body()
    }

    public func add(_ stage: String, _ ms: Double) {
        if milliseconds[stage] == nil { order.append(stage) }
        milliseconds[stage, default: 0] += ms
    }

    public func reset() {
        milliseconds.removeAll(keepingCapacity: true)
        order.removeAll(keepingCapacity: true)
    }
}

public extension Optional where Wrapped == StageTimes {
    /// Times `body` when there is a collector; otherwise just runs it.
    @inline(__always)
    @discardableResult
    func measure<T>(_ stage: String, _ body: () throws -> T) rethrows -> T {
        switch self {
        case .some(let times): return try times.measure(stage, body)
        case .none: return try body()
        }
    }
}
