import Foundation
import Logging
import VisageCore

/// Average milliseconds per frame each stage spent over the last window, and the rates seen.
public struct StageLoad: Sendable, Equatable {
    public var capture = 0.0, detect = 0.0, process = 0.0, output = 0.0
    /// Frames per second leaving the pipeline.
    public var outputFPS = 0.0
    /// Frames per second the source delivers (0: as fast as it is read, e.g. a file).
    public var sourceFPS = 0.0
    public init(capture: Double = 0, detect: Double = 0, process: Double = 0, output: Double = 0, outputFPS: Double = 0, sourceFPS: Double = 0) {
        self.capture = capture; self.detect = detect; self.process = process; self.output = output
        self.outputFPS = outputFPS; self.sourceFPS = sourceFPS
    }

    /// Milliseconds one processed frame costs: the slowest stage when stages overlap, their sum when
    /// not. A live source's capture time is waiting for the source, not work, so it does not count.
    public func costPerFrame(pipelined: Bool) -> (ms: Double, stage: String) {
        let stages = [("capture", sourceFPS > 0 ? 0 : capture), ("detect", detect), ("process", process), ("output", output)]
        if pipelined { let worst = stages.max { $0.1 < $1.1 }!; return (worst.1, worst.0) }
        return (stages.map(\.1).reduce(0, +), "all stages")
    }
}

/// Holds `--target-fps`: every window of frames it compares what the pipeline can do (from the
/// measured stage times) with what is wanted, and moves one step along the quality ladder —
/// down when behind for two windows in a row, up when there has been ample headroom for three.
/// A level that had to be left again soon after being restored is put on hold for twice as long
/// each time, so the decisions settle instead of oscillating. Thermal throttling moves one step
/// down and forbids restoring quality while it lasts. Every decision is logged once, with the
/// numbers that caused it.
public final class AdaptiveController: @unchecked Sendable {
    public struct Decision: Sendable {
        public let frame: Int
        public let seconds: Double
        public let from: QualitySettings
        public let to: QualitySettings
        public let level: Int
        public let reason: String
        public var message: String { "\(to.change(from: from)) (\(reason))" }
    }

    public let ladder: [QualitySettings]
    public let targetFPS: Double
    public let pipelined: Bool
    public let enabled: Bool
    /// Frames per evaluation window.
    public let window: Int
    public private(set) var level = 0
    public private(set) var decisions: [Decision] = []
    private let thermal: ThermalMonitor
    private let log = VisageLog.logger("live")
    private var behindWindows = 0
    private var headroomWindows = 0
    private var settleWindows = 0
    private var windowsSeen = 0
    private var holdUntil: [Int: Int] = [:]
    private var holdLength: [Int: Int] = [:]
    private var restoredAt: [Int: Int] = [:]
    private var saidFloor = false

    public init(mode: LiveMode, targetFPS: Double? = nil, pipelined: Bool, enabled: Bool = true, window: Int = 30,
                thermal: ThermalMonitor = SystemThermalMonitor()) {
        ladder = QualitySettings.ladder(for: mode)
        self.targetFPS = targetFPS ?? mode.targetFPS
        self.pipelined = pipelined
        self.enabled = enabled
        self.window = max(5, window)
        self.thermal = thermal
    }

    public var settings: QualitySettings { ladder[level] }

    /// Feeds one window's measurements; returns the new settings when a decision was taken.
    public func evaluate(_ load: StageLoad, frame: Int, seconds: Double) -> QualitySettings? {
        guard enabled else { return nil }
        windowsSeen += 1
        if settleWindows > 0 { settleWindows -= 1; return nil }   // the last change has not shown in the numbers yet
        let (cost, stage) = load.costPerFrame(pipelined: pipelined)
        let capacity = 1000 / max(cost, 1e-3)
        let wanted = load.sourceFPS > 0 ? min(targetFPS, load.sourceFPS) : targetFPS
        let demand = wanted / Double(settings.skip)
        let numbers = String(format: "bottleneck %@ %.1f ms/frame → %.1f fps capacity, %.1f fps wanted, output %.1f fps",
                             stage, cost, capacity * Double(settings.skip), wanted, load.outputFPS)

        let heat = thermal.state()
        if heat.throttled {
            behindWindows = 0; headroomWindows = 0
            return move(to: level + 1, frame: frame, seconds: seconds, reason: "thermal throttling: \(heat.summary); \(numbers)")
        }
        if capacity < 0.95 * demand {
            headroomWindows = 0
            behindWindows += 1
            guard behindWindows >= 2 else { return nil }
            behindWindows = 0
            if level + 1 >= ladder.count {
                if !saidFloor {
                    saidFloor = true
                    log.notice("live: at the cheapest settings (\(settings)); holding: \(numbers)")
                }
                return nil
            }
            // Leaving a level soon after restoring it: put it on hold, twice as long as last time.
            if let at = restoredAt[level], windowsSeen - at <= 8 {
                let length = (holdLength[level] ?? 4) * 2
                holdLength[level] = length
                holdUntil[level] = windowsSeen + length
            }
            return move(to: nextLevel(relievingStage: stage), frame: frame, seconds: seconds, reason: "behind: \(numbers)")
        }
        behindWindows = 0
        guard level > 0 else { return nil }
        // Headroom for the better level: it processes `skip` of the previous level's frames and
        // costs more per frame; ask for half again the capacity it needs.
        let better = level - 1
        let betterDemand = wanted / Double(ladder[better].skip)
        let scaleCost = pow(ladder[better].scale / settings.scale, 2)
        if capacity / scaleCost > 1.5 * betterDemand, windowsSeen >= holdUntil[better] ?? 0 {
            headroomWindows += 1
            guard headroomWindows >= 3 else { return nil }
            headroomWindows = 0
            restoredAt[better] = windowsSeen
            return move(to: better, frame: frame, seconds: seconds, reason: "headroom: \(numbers)")
        }
        headroomWindows = 0
        return nil
    }

    /// The next cheaper level that changes a knob the slow stage pays for: the detection knobs
    /// only lighten the detect stage, so a slow process stage goes straight to a smaller
    /// processing size (and then to skipping frames).
    private func nextLevel(relievingStage stage: String) -> Int {
        guard pipelined, stage != "detect" else { return level + 1 }
        let now = settings
        return ladder.indices.first { $0 > level && (ladder[$0].scale != now.scale || ladder[$0].skip != now.skip) } ?? level + 1
    }

    private func move(to newLevel: Int, frame: Int, seconds: Double, reason: String) -> QualitySettings? {
        let clamped = min(max(newLevel, 0), ladder.count - 1)
        guard clamped != level else { return nil }
        let decision = Decision(frame: frame, seconds: seconds, from: ladder[level], to: ladder[clamped], level: clamped, reason: reason)
        level = clamped
        settleWindows = 1
        saidFloor = false
        decisions.append(decision)
        log.notice("live: frame \(frame): \(decision.message)")
        return ladder[level]
    }
}
