import Foundation
import Testing
import VisageCore
import VisageJobs

/// Shards: a deterministic strided slice per task, found from `--shard`, Slurm's or Kubernetes' task index.
@Suite struct BatchShardTests {
    @Test func everyItemBelongsToExactlyOneShard() throws {
        for count in [1, 2, 3, 7, 100] {
            let shards = try (0..<count).map { try BatchShard(index: $0, count: count) }
            for item in 0..<250 {
                #expect(shards.filter { $0.contains(item) }.count == 1)
            }
        }
        let third = try BatchShard(parsing: "1/3")
        #expect((0..<9).filter(third.contains) == [1, 4, 7], "strided: neighbours in the manifest go to different tasks")
        #expect(third.description == "1/3")
    }

    @Test func badShardsAreRefused() {
        #expect(throws: VisageError.self) { try BatchShard(parsing: "3/3") }
        #expect(throws: VisageError.self) { try BatchShard(parsing: "-1/3") }
        #expect(throws: VisageError.self) { try BatchShard(parsing: "1/0") }
        #expect(throws: VisageError.self) { try BatchShard(parsing: "1") }
    }

    @Test func theTaskIndexComesFromSlurmOrKubernetes() throws {
        #expect(try BatchShard.fromEnvironment([:], tasks: 4) == nil)
        let slurm = try #require(try BatchShard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "5"], tasks: nil))
        #expect(slurm.shard == (try BatchShard(index: 2, count: 5)) && slurm.from == .slurm)
        // --tasks wins over the array's own count (the script passes it, so both agree).
        #expect(try BatchShard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "5"], tasks: 3)?.shard == (try BatchShard(index: 2, count: 3)))
        let k8s = try #require(try BatchShard.fromEnvironment(["JOB_COMPLETION_INDEX": "0"], tasks: 3))
        #expect(k8s.shard == (try BatchShard(index: 0, count: 3)) && k8s.from == .kubernetes)
        #expect(throws: VisageError.self) { try BatchShard.fromEnvironment(["JOB_COMPLETION_INDEX": "0"], tasks: nil) }
        #expect(throws: VisageError.self) { try BatchShard.fromEnvironment(["JOB_COMPLETION_INDEX": "7"], tasks: 3) }
        #expect(throws: VisageError.self) { try BatchShard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "x"], tasks: 3) }
    }

    @Test func thePlanGivesEachCoreASingleThreadedItemUnlessToldOtherwise() {
        let auto = BatchPlan.choose(cores: 2, items: 9)
        #expect(auto.parallel == 2 && auto.threadsPerItem == 1)
        #expect(BatchPlan.choose(cores: 16, items: 3).parallel == 3, "never more workers than items")
        let threads = BatchPlan.choose(cores: 16, items: 100, threads: 4)
        #expect(threads.parallel == 4 && threads.threadsPerItem == 4)
        let parallel = BatchPlan.choose(cores: 16, items: 100, parallel: 2)
        #expect(parallel.parallel == 2 && parallel.threadsPerItem == 8)
        #expect(BatchPlan.choose(cores: 16, items: 100, gpu: true).parallel == 2)
        #expect(BatchPlan.choose(cores: 2, items: 1).threadsPerItem == 2, "a lone item gets every core")
        let resumed = BatchPlan.choose(cores: 4, items: 9).fitted(toRun: 1)
        #expect(resumed.parallel == 1 && resumed.threadsPerItem == 4, "a resumed task with one item left gives it the idle cores")
        let asked = BatchPlan.choose(cores: 4, items: 9, parallel: 4, threads: 1).fitted(toRun: 2)
        #expect(asked.parallel == 2 && asked.threadsPerItem == 1, "threads asked for stay as asked")
        #expect(BatchPlan.cores(requested: nil, environment: ["SLURM_CPUS_PER_TASK": "3"]).count == 3)
        #expect(BatchPlan.cores(requested: 5, environment: ["SLURM_CPUS_PER_TASK": "3"]).count == 5)
    }
}
