import Foundation
import VisageCore

/// Which slice of a manifest one task runs: item k belongs to shard `k mod count`. A strided slice rather
/// than a block, so long videos that sit together in a manifest (one folder of interviews) spread over the
/// tasks; deterministic, so a resubmitted task finds the same items (and skips the finished ones).
public struct BatchShard: Sendable, Equatable, Codable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public static let whole = BatchShard(uncheckedIndex: 0, count: 1)
    /// Array tasks a manifest may be cut into.
    public static let countRange = 1...100_000

    public init(index: Int, count: Int) throws {
        try OptionRules.check("tasks", count, in: Self.countRange)
        guard (0..<count).contains(index) else {
            throw VisageError.invalidArgument("the task index must be from 0 to \(count - 1) for \(count) task\(count == 1 ? "" : "s") (got \(index))")
        }
        self.index = index
        self.count = count
    }

    private init(uncheckedIndex: Int, count: Int) { index = uncheckedIndex; self.count = count }

    /// "i/n", as `--shard` takes it.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw VisageError.invalidArgument("shard must be INDEX/COUNT, e.g. 0/4 (got \(text))")
        }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// Whether the manifest's item at `itemIndex` (0-based, among its items) is this shard's.
    public func contains(_ itemIndex: Int) -> Bool { itemIndex % count == index }

    /// The environment variable a scheduler puts the task index in, and its name.
    public enum Scheduler: String, Sendable {
        case slurm = "SLURM_ARRAY_TASK_ID"
        case kubernetes = "JOB_COMPLETION_INDEX"
    }

    /// The shard a cluster task was started as: its index from `SLURM_ARRAY_TASK_ID` (Slurm job arrays) or
    /// `JOB_COMPLETION_INDEX` (Kubernetes Indexed Jobs), the count from `tasks` or, under Slurm, from
    /// `SLURM_ARRAY_TASK_COUNT`. nil outside a cluster task.
    public static func fromEnvironment(_ environment: [String: String], tasks: Int?) throws -> (shard: BatchShard, from: Scheduler)? {
        for scheduler in [Scheduler.slurm, .kubernetes] {
            guard let text = environment[scheduler.rawValue], !text.isEmpty else { continue }
            guard let index = Int(text) else {
                throw VisageError.invalidArgument("\(scheduler.rawValue)=\(text) is not a task number")
            }
            let count = tasks ?? (scheduler == .slurm ? environment["SLURM_ARRAY_TASK_COUNT"].flatMap { Int($0) } : nil)
            guard let count else {
                throw VisageError.invalidArgument("\(scheduler.rawValue) is set (\(index)) but the number of tasks is not known: give tasks (--tasks N), as many as the array has")
            }
            return (try BatchShard(index: index, count: count), scheduler)
        }
        return nil
    }
}

extension BatchShard {
    /// The slice one task runs, from what its front end was given: `shard` ("I/N"), `index` with `tasks`,
    /// or else the cluster's task index in `environment` (Slurm array, Kubernetes Indexed Job); the whole
    /// manifest when none is given. `note` hears where an index from the environment came from.
    public static func resolve(shard: String?, index: Int?, tasks: Int?, environment: [String: String],
                               note: (String) -> Void) throws -> BatchShard {
        if let shard { return try BatchShard(parsing: shard) }
        if let index, let tasks { return try BatchShard(index: index, count: tasks) }
        if let found = try BatchShard.fromEnvironment(environment, tasks: tasks) {
            note("task \(found.shard) (index from $\(found.from.rawValue))")
            return found.shard
        }
        if let tasks, tasks > 1 {
            throw VisageError.invalidArgument("--tasks \(tasks) without a task index: add --index I, or run inside a Slurm array or a Kubernetes Indexed Job")
        }
        return .whole
    }
}
