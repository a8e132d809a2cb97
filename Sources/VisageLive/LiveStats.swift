import Foundation
import VisageCore

/// What the pipeline did, measured on the output thread: a 30-frame moving average for the live
/// stats line and the controller, and run totals (latencies, stage means) for the report.
public final class LiveStats: @unchecked Sendable {
    public struct Snapshot: Sendable, Encodable {
        public var seconds: Double
        public var frames: Int
        /// 30-frame moving average.
        public var fps: Double
        public var load: StageLoad
        public var latencyMs: Double
        public var dropped: Int
        public var skipped: Int
        public var settings: QualitySettings
        public var decisions: Int
        public var residentMB: Double

        public var line: String {
            String(format: "live %6.1f fps | capture %5.1f  detect %5.1f  process %5.1f  output %5.1f ms | latency %5.0f ms | dropped %d, skipped %d | %@",
                   fps, load.capture, load.detect, load.process, load.output, latencyMs, dropped, skipped, settings.description)
        }

        enum CodingKeys: String, CodingKey {
            case t, frames, fps, dropped, skipped, scale, skip, decisions
            case latencyMs = "latency_ms", stageMs = "stage_ms", detectEvery = "detect_every", detectorSide = "detector_side", rssMB = "rss_mb"
        }

        /// The stats line as JSON (`--stats-json`, the server's live stats messages), values to 0.01.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(r(seconds), forKey: .t)
            try c.encode(frames, forKey: .frames)
            try c.encode(r(fps), forKey: .fps)
            try c.encode(r(latencyMs), forKey: .latencyMs)
            try c.encode(dropped, forKey: .dropped)
            try c.encode(skipped, forKey: .skipped)
            try c.encode(["capture": r(load.capture), "detect": r(load.detect), "process": r(load.process), "output": r(load.output)],
                         forKey: .stageMs)
            try c.encode(settings.detectEvery, forKey: .detectEvery)
            try c.encode(settings.detectorSide, forKey: .detectorSide)
            try c.encode(settings.scale, forKey: .scale)
            try c.encode(settings.skip, forKey: .skip)
            try c.encode(decisions, forKey: .decisions)
            try c.encode(r(residentMB), forKey: .rssMB)
        }

        private func r(_ v: Double) -> Double { (v * 100).rounded() / 100 }
    }

    public static let window = 30
    private var times = [UInt64](repeating: 0, count: LiveStats.window)
    private var stage = [[Double]](repeating: [0, 0, 0, 0], count: LiveStats.window)
    private var recentLatency = [Double](repeating: 0, count: LiveStats.window)
    private var cursor = 0
    public private(set) var frames = 0
    public let start = DispatchTime.now().uptimeNanoseconds
    /// Every frame's capture→output latency (ms), up to the most recent `latencyCapacity`.
    public private(set) var latencies: [Double] = []
    public let latencyCapacity = 20_000
    private var latencyCursor = 0
    public private(set) var stageTotals = [0.0, 0.0, 0.0, 0.0]
    private var firstOutput: UInt64?
    private var lastOutput: UInt64 = 0

    public init() { latencies.reserveCapacity(latencyCapacity) }

    public func record(_ frame: LiveFrame, outputMs: Double, at now: UInt64) {
        let ms = [frame.captureMs, frame.detectMs, frame.processMs, outputMs]
        let latency = Double(now - frame.capturedAt) / 1e6
        times[cursor] = now
        stage[cursor] = ms
        recentLatency[cursor] = latency
        cursor = (cursor + 1) % Self.window
        frames += 1
        for k in 0..<4 { stageTotals[k] += ms[k] }
        if latencies.count < latencyCapacity { latencies.append(latency) } else {
            latencies[latencyCursor] = latency
            latencyCursor = (latencyCursor + 1) % latencyCapacity
        }
        if firstOutput == nil { firstOutput = now }
        lastOutput = now
    }

    /// Output frames per second over the last (up to) 30 frames.
    public var movingFPS: Double {
        let n = min(frames, Self.window)
        guard n >= 2 else { return 0 }
        let newest = times[(cursor - 1 + Self.window) % Self.window]
        let oldest = times[(cursor - n + Self.window) % Self.window]
        return Double(n - 1) / max(Double(newest - oldest) / 1e9, 1e-9)
    }

    /// Average stage milliseconds over the last (up to) 30 frames.
    public func load(sourceFPS: Double) -> StageLoad {
        let n = max(1, min(frames, Self.window))
        var sums = [0.0, 0.0, 0.0, 0.0]
        for i in 0..<n { let row = stage[(cursor - 1 - i + 2 * Self.window) % Self.window]; for k in 0..<4 { sums[k] += row[k] } }
        return StageLoad(capture: sums[0] / Double(n), detect: sums[1] / Double(n), process: sums[2] / Double(n), output: sums[3] / Double(n),
                         outputFPS: movingFPS, sourceFPS: sourceFPS)
    }

    public var recentLatencyMs: Double {
        let n = max(1, min(frames, Self.window))
        return (0..<n).map { recentLatency[(cursor - 1 - $0 + 2 * Self.window) % Self.window] }.reduce(0, +) / Double(n)
    }

    /// Output frames over the time from the first to the last output frame.
    public var overallFPS: Double {
        guard let first = firstOutput, frames >= 2, lastOutput > first else { return 0 }
        return Double(frames - 1) / (Double(lastOutput - first) / 1e9)
    }

    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}
