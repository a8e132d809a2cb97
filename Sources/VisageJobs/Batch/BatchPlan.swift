import Foundation
import VisageCore
import VisageRuntime

/// How a task spends its cores: items at once, and the threads each item's models get (ONNX Runtime's
/// intra-op threads and CLNF's part-model threads: `JobContext.session.intraOpThreads`, where 1 also
/// fits CLNF's part models one after another).
///
/// Measured on 2 cores (docs/BATCH.md, "Throughput"; scripts/bench-batch.sh over the 9 reference clips): the AU
/// pipeline of one video already overlaps decoding, landmarks and AU features on threads of its own, and two
/// videos with one model thread each finished the clips faster than one video at a time with both threads.
/// Hence on a CPU: one thread per item, as many items as cores; a task with fewer items than cores gives them
/// the spare cores.
public struct BatchPlan: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Items run at once.
    public var parallel: Int
    /// Threads per item for its models.
    public var threadsPerItem: Int
    /// Why, in a few words (logged and recorded in the status file).
    public var reason: String
    /// Whether the threads were chosen here (not asked for): then a task with fewer items to run than the plan
    /// has slots gives the idle slots' cores to the items that run (`fitted(toRun:)`).
    public var threadsChosen: Bool

    public init(parallel: Int, threadsPerItem: Int, reason: String, threadsChosen: Bool = false) {
        self.parallel = parallel
        self.threadsPerItem = threadsPerItem
        self.reason = reason
        self.threadsChosen = threadsChosen
    }

    /// The plan for `count` items to run (a resumed task may have fewer than it was planned for): never more
    /// slots than items, and with chosen threads the cores of the slots that would idle go to the others.
    public func fitted(toRun count: Int) -> BatchPlan {
        let slots = max(1, min(parallel, count))
        guard slots < parallel else { return self }
        guard threadsChosen else { return BatchPlan(parallel: slots, threadsPerItem: threadsPerItem, reason: reason, threadsChosen: false) }
        let cores = parallel * threadsPerItem
        return BatchPlan(parallel: slots, threadsPerItem: max(1, cores / slots),
                         reason: "\(count) item\(count == 1 ? "" : "s") to run on \(cores) core\(cores == 1 ? "" : "s")", threadsChosen: true)
    }

    public static let parallelRange = 0...256

    public var description: String {
        "\(parallel) item\(parallel == 1 ? "" : "s") at once, \(threadsPerItem) thread\(threadsPerItem == 1 ? "" : "s") each (\(reason))"
    }

    /// The plan for `items` items on `cores` cores.
    /// - Parameters:
    ///   - parallel: items at once asked for (0: choose).
    ///   - threads: threads per item asked for (0: choose).
    ///   - gpu: whether the models run on a GPU (then the GPU, not the cores, is what items share).
    public static func choose(cores: Int, items: Int, parallel: Int = 0, threads: Int = 0, gpu: Bool = false) -> BatchPlan {
        let cores = max(1, cores)
        let most = max(1, items)
        switch (parallel, threads) {
        case let (p, t) where p > 0 && t > 0:
            return BatchPlan(parallel: min(p, most), threadsPerItem: t, reason: "as asked")
        case let (p, _) where p > 0:
            return BatchPlan(parallel: p, threadsPerItem: max(1, cores / p), reason: "\(p) at once as asked; the \(cores) cores shared among them",
                             threadsChosen: true).fitted(toRun: most)
        case let (_, t) where t > 0:
            return BatchPlan(parallel: min(max(1, cores / t), most), threadsPerItem: t, reason: "\(t) threads each as asked; as many items as fill \(cores) cores")
        default:
            if gpu {
                // Two items keep the GPU fed while the other decodes and runs its CPU stages.
                return BatchPlan(parallel: 2, threadsPerItem: max(1, cores / 2), reason: "models on the GPU: two items overlap its work with decoding",
                                 threadsChosen: true).fitted(toRun: most)
            }
            return BatchPlan(parallel: cores, threadsPerItem: 1,
                             reason: "\(cores) core\(cores == 1 ? "" : "s"): one single-threaded item per core is faster than one item with every thread",
                             threadsChosen: true).fitted(toRun: most)
        }
    }

    /// The cores a task may use: `SLURM_CPUS_PER_TASK` inside a Slurm task that asked for CPUs, else the
    /// machine's (`cores` overrides both).
    public static func cores(requested: Int?, environment: [String: String]) -> (count: Int, source: String) {
        if let requested, requested > 0 { return (requested, "as asked") }
        if let slurm = environment["SLURM_CPUS_PER_TASK"].flatMap({ Int($0) }), slurm > 0 { return (slurm, "SLURM_CPUS_PER_TASK") }
        return (Platform.logicalCores, "this machine's")
    }
}

extension BatchPlan {
    /// Whether the models of this context run on a GPU here (then items share the accelerator, not cores).
    public static func usesGPU(_ context: JobContext) -> Bool {
        let available = (try? ORTLibrary.shared())?.availableProviders ?? []
        return (AcceleratorPlan.resolve(requested: context.session.accelerator, available: available).chosen.first ?? .cpu) != .cpu
    }
}
