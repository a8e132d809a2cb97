import Foundation
import VisageCore

/// What the OS says about heat: throttled machines get cheaper settings.
public struct ThermalReading: Sendable, Equatable {
    public var throttled: Bool
    public var summary: String
    public init(throttled: Bool, summary: String) { self.throttled = throttled; self.summary = summary }
}

/// The seam the controller reads the thermal state through (tests inject their own).
public protocol ThermalMonitor: Sendable {
    func state() -> ThermalReading
}

/// The machine's own reading (Platform.thermalState: thermal zones on Linux, ProcessInfo on macOS).
public struct SystemThermalMonitor: ThermalMonitor {
    public let root: String
    public init(root: String = "/sys/class/thermal") { self.root = root }

    public func state() -> ThermalReading {
        let reading = Platform.thermalState(root: root)
        return ThermalReading(throttled: reading.throttled, summary: reading.summary)
    }
}

/// A fixed reading (tests, and `--no-thermal`).
public struct FixedThermalMonitor: ThermalMonitor {
    public let reading: ThermalReading
    public init(throttled: Bool = false) { reading = ThermalReading(throttled: throttled, summary: throttled ? "simulated throttling" : "nominal") }
    public func state() -> ThermalReading { reading }
}
