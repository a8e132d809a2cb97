import Foundation

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

/// Linux: the hottest `/sys/class/thermal/thermal_zone*` against its first passive (or hot)
/// trip point, 90 °C when it has none. macOS: `ProcessInfo.thermalState` serious or critical.
public struct SystemThermalMonitor: ThermalMonitor {
    public let root: String
    public init(root: String = "/sys/class/thermal") { self.root = root }

    public func state() -> ThermalReading {
        #if os(Linux)
        guard let zones = try? FileManager.default.contentsOfDirectory(atPath: root) else {
            return ThermalReading(throttled: false, summary: "no thermal zones")
        }
        var hottest: (name: String, celsius: Double, limit: Double)?
        for zone in zones where zone.hasPrefix("thermal_zone") {
            let dir = root + "/" + zone
            guard let temp = Self.number(dir + "/temp") else { continue }
            var limit = 90_000.0
            for k in 0..<8 {
                guard let type = try? String(contentsOfFile: dir + "/trip_point_\(k)_type", encoding: .utf8) else { break }
                let kind = type.trimmingCharacters(in: .whitespacesAndNewlines)
                if kind == "passive" || kind == "hot", let t = Self.number(dir + "/trip_point_\(k)_temp"), t > 0 { limit = t; break }
            }
            let name = (try? String(contentsOfFile: dir + "/type", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? zone
            if hottest == nil || temp / limit > hottest!.celsius * 1000 / hottest!.limit {
                hottest = (name, temp / 1000, limit / 1000)
            }
        }
        guard let h = hottest else { return ThermalReading(throttled: false, summary: "no thermal zones") }
        return ThermalReading(throttled: h.celsius >= h.limit, summary: String(format: "%@ %.0f °C (limit %.0f °C)", h.name, h.celsius, h.limit))
        #else
        let s = ProcessInfo.processInfo.thermalState
        let names: [ProcessInfo.ThermalState: String] = [.nominal: "nominal", .fair: "fair", .serious: "serious", .critical: "critical"]
        return ThermalReading(throttled: s == .serious || s == .critical, summary: "thermal state \(names[s] ?? "unknown")")
        #endif
    }

    static func number(_ path: String) -> Double? {
        (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}

/// A fixed reading (tests, and `--no-thermal`).
public struct FixedThermalMonitor: ThermalMonitor {
    public let reading: ThermalReading
    public init(throttled: Bool = false) { reading = ThermalReading(throttled: throttled, summary: throttled ? "simulated throttling" : "nominal") }
    public func state() -> ThermalReading { reading }
}
