import Foundation

/// A value shared between threads, reachable only while holding its lock. The one locking helper of the
/// code base: small state shared by a few threads (a first error, a stop reason, a cache) lives in one of
/// these instead of a hand-rolled `NSLock` field beside it.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: Value

    public init(_ value: Value) { storage = value }

    /// Runs `body` with exclusive access to the value.
    @discardableResult
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&storage)
    }

    /// A copy of the value at this moment.
    public var value: Value { withLock { $0 } }

    /// Replaces the value.
    public func set(_ newValue: Value) { withLock { $0 = newValue } }
}

extension Locked where Value == Error? {
    /// Keeps the first error only: the one that started the failure, not its echoes in other stages.
    public func keepFirst(_ error: Error) { withLock { if $0 == nil { $0 = error } } }
}

extension Locked where Value == String? {
    /// Keeps the first reason only.
    public func keepFirst(_ reason: String) { withLock { if $0 == nil { $0 = reason } } }
}
