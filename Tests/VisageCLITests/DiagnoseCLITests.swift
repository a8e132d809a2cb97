import Foundation
import Testing

/// `visage diagnose` as a user runs it, with the allocation counter (scripts/malloc-count) built here and
/// preloaded: a bound steady-state run allocates (almost) nothing of ours — what is left is inside ONNX
/// Runtime's own run — and clearly fewer than the same run with fresh tensors.
@Suite("visage diagnose")
struct DiagnoseCLITests {
    static func buildCounter() throws -> String {
        let dir = try CLI.temporaryDirectory()
        let library = dir.appendingPathComponent("libmalloc_count.so").path
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cc.arguments = ["cc", "-O2", "-shared", "-fPIC", "-o", library, CLI.repository.appendingPathComponent("scripts/malloc-count/malloc_count.c").path]
        try cc.run()
        cc.waitUntilExit()
        try #require(cc.terminationStatus == 0, "cc could not build the allocation counter")
        return library
    }

    @Test func boundRunsAllocateNothingOfOurs() throws {
        let counter = try Self.buildCounter()
        let r = try CLI.run(["diagnose", "--model", "pfld-68", "--runs", "5", "--batches", "1,2", "--seconds-per-batch", "2", "--no-save", "--json"],
                            environment: ["LD_PRELOAD": counter])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(r.json, "stdout: \(r.stdout)")
        #expect(json["allocation_counter"] as? Bool == true)
        let results = try #require(json["results"] as? [[String: Any]])
        let pfld = try #require(results.first { $0["model"] as? String == "pfld-68" })
        let bound = try #require(pfld["allocations_per_run"] as? Double)
        let inside = try #require(pfld["allocations_per_run_inside_onnxruntime"] as? Double)
        let unbound = try #require(pfld["allocations_per_run_unbound"] as? Double)
        // Release builds measure 0 of ours (docs/ACCELERATORS.md); a debug build (what `swift test` runs)
        // boxes generic closures, about 24 per run. The counter is process-wide, so the process's other
        // threads (logging, the runtime's own) add a few more now and then: 24-39 seen on a loaded machine.
        // Fresh tensors per run cost ~40 more on either build.
        #expect(bound - inside < 48, "bound run: \(bound) allocations, \(inside) of them inside ONNX Runtime")
        #expect(unbound - bound >= 10, "unbound \(unbound) vs bound \(bound)")
        let sweep = try #require(pfld["sweep"] as? [[String: Any]])
        #expect(sweep.compactMap { $0["batch"] as? Int } == [1, 2])
    }

    @Test func htmlReportHasPlotsAndNoScript() throws {
        let dir = try CLI.temporaryDirectory()
        let html = dir.appendingPathComponent("report.html").path
        let r = try CLI.run(["diagnose", "--model", "pfld-68", "--runs", "3", "--batches", "1,2", "--seconds-per-batch", "1", "--no-save", "--html", html])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("pfld-68") && r.stdout.contains("recommendation"))
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("<svg") && !page.contains("<script"))
    }

    @Test func unknownModelIsAClearError() throws {
        let r = try CLI.run(["diagnose", "--model", "no-such-model", "--no-save"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("no-such-model"))
    }
}
