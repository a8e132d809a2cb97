import Foundation
import VisageCore

/// The knobs the adaptive controller turns, in the order it turns them when the pipeline falls
/// behind: detect less often, give the detector a smaller input, process smaller frames, and
/// finally process only every n-th frame.
public struct QualitySettings: Sendable, Equatable, CustomStringConvertible {
    public var detectEvery: Int
    public var detectorSide: Int
    /// Processing size relative to the mode's size (1, 0.75, 0.5).
    public var scale: Double
    /// Process every `skip`-th captured frame (1: all).
    public var skip: Int

    public init(detectEvery: Int, detectorSide: Int, scale: Double = 1, skip: Int = 1) {
        self.detectEvery = detectEvery
        self.detectorSide = detectorSide
        self.scale = scale
        self.skip = skip
    }

    public var description: String {
        "detect every \(detectEvery), detector \(detectorSide) px, scale \(String(format: "%.2f", scale)), skip \(skip)"
    }

    /// What changed from `old` to `self`, in words ("detection every 5 → 8 frames").
    public func change(from old: QualitySettings) -> String {
        var parts: [String] = []
        if detectEvery != old.detectEvery { parts.append("detection every \(old.detectEvery) → \(detectEvery) frames") }
        if detectorSide != old.detectorSide { parts.append("detector input \(old.detectorSide) → \(detectorSide) px") }
        if scale != old.scale { parts.append(String(format: "processing scale %.2f → %.2f", old.scale, scale)) }
        if skip != old.skip { parts.append("processing \(old.skip == 1 ? "every frame" : "1 in \(old.skip)") → \(skip == 1 ? "every frame" : "1 in \(skip)")") }
        return parts.joined(separator: ", ")
    }

    /// From the mode's settings (level 0) down to the cheapest: one knob step per level.
    public static func ladder(for mode: LiveMode) -> [QualitySettings] {
        var current = QualitySettings(detectEvery: mode.detectEvery, detectorSide: mode.detectorSide)
        var levels = [current]
        for every in [2, 3, 5, 8, 12] where every > current.detectEvery {
            current.detectEvery = every; levels.append(current)
        }
        for side in [480, 320] where side < current.detectorSide {
            current.detectorSide = side; levels.append(current)
        }
        for scale in [0.75, 0.5] {
            current.scale = scale; levels.append(current)
        }
        for skip in [2, 3] {
            current.skip = skip; levels.append(current)
        }
        return levels
    }
}

/// The settings in force, shared between the controller (output thread) and the stages that
/// apply them (capture: scale and skip; detection: interval and detector size).
public final class SharedSettings: @unchecked Sendable {
    private let value: Locked<QualitySettings>
    public init(_ value: QualitySettings) { self.value = Locked(value) }
    public var current: QualitySettings {
        get { value.value }
        set { value.set(newValue) }
    }
}
