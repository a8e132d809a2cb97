import Foundation

// The batch's results in words, as `visage batch` prints them (and anything else showing a run to a person).

extension BatchRunFiles {
    /// The run directory: the one given, else the manifest's default (`NAME.run` beside `NAME.jsonl`).
    public static func runDirectory(_ given: String?, forManifest manifest: String) -> URL {
        given.map { URL(fileURLWithPath: $0).standardizedFileURL } ?? defaultRunDirectory(forManifest: manifest)
    }

    /// How an item is named to a person: its output, with its manifest line when the output is not already
    /// "line N" (an item whose output could not be read).
    public static func itemLabel(line: Int?, output: String) -> String {
        guard let line, "line \(line)" != output else { return output }
        return "line \(line) (\(output))"
    }
}

extension BatchFailure {
    /// "line 3 (csv/a.csv)".
    public var label: String { BatchRunFiles.itemLabel(line: line, output: output) }
}

extension BatchSummary {
    /// "batch 1/3: 3 items: 2 done, 1 skipped (done earlier), 0 failed; 120 frames in 1.2 s, 100.0 fps; …".
    public var summaryLine: String {
        var parts = ["\(done) done", "\(skipped) skipped (done earlier)", "\(failed) failed"]
        if failedEarlier > 0 { parts.append("\(failedEarlier) failed earlier (--retry-failed reruns them)") }
        if notRun > 0 { parts.append("\(notRun) not run (stopped)") }
        return "batch \(shard): \(items) items: " + parts.joined(separator: ", ")
            + String(format: "; %d frames in %.1f s, %.1f fps; %@", frames, seconds, fps, plan.description)
    }
}

extension BatchReport {
    /// Counts, fps and ETA of a run named `name`, a line per shard, and the failed items with their reasons.
    public func statusText(name: String) -> String {
        let totalText = total.map(String.init) ?? "?"
        var lines = ["\(name): \(totalText) items in \(shardCount) shard\(shardCount == 1 ? "" : "s"): \(done) done, \(failed) failed, \(running) running, \(pending.map(String.init) ?? "?") pending"
                     + String(format: "; %.1f fps", fps) + (etaSeconds.map { String(format: ", ETA %.0f s", $0) } ?? "")]
        for s in shards {
            let state = s.stopped.map { "stopped \($0)" } ?? "running since \(s.started) (or killed)"
            lines.append("  shard \(s.shard): \(s.items) items, attempt \(s.attempts), \(state)\(s.host.map { " on \($0)" } ?? ""), \(s.frames) frames in \(String(format: "%.1f", s.seconds)) s")
        }
        if !failures.isEmpty {
            lines.append("failed (fix, then rerun with --retry-failed):")
            for f in failures { lines.append("  \(BatchRunFiles.itemLabel(line: f.line, output: f.output)): \(f.error ?? "failed")") }
        }
        return lines.joined(separator: "\n")
    }
}
