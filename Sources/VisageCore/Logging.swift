import Foundation
import Logging

/// Logging setup shared by the CLI and the server: one line per decision, on stderr, so that
/// stdout stays clean for `--json` output.
public enum VisageLog {
    /// Configures swift-log once. `VISAGE_LOG_LEVEL` (trace|debug|info|notice|warning|error) overrides `level`.
    public static func bootstrap(level: Logger.Level = .info) {
        let env = ProcessInfo.processInfo.environment["VISAGE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
        setLevel(env ?? level)
        LoggingSystem.bootstrap { label in StderrLogHandler(label: label) }
    }

    private static let currentLevel = Locked<Logger.Level>(.info)

    /// The level every Visage logger follows, changeable at run time (`--verbose`).
    public static var level: Logger.Level { currentLevel.value }

    /// Changes the process-wide level. Only front ends (the command line, the server's settings) call this;
    /// a component that wants a quieter logger sets that logger's own `logLevel`, which stays local.
    public static func setLevel(_ level: Logger.Level) { currentLevel.set(level) }

    public static func logger(_ label: String) -> Logger { Logger(label: "visage.\(label)") }
}

/// "visage[runtime] info: message key=value" on stderr.
public struct StderrLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    /// This logger's own level once set; until then it follows `VisageLog.level`, so one switch changes
    /// every logger. Setting it never changes the other loggers.
    public var logLevel: Logger.Level {
        get { ownLevel ?? VisageLog.level }
        set { ownLevel = newValue }
    }
    private var ownLevel: Logger.Level?
    private let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let short = label.hasPrefix("visage.") ? String(label.dropFirst(7)) : label
        var line = "visage[\(short)] \(event.level): \(event.message)"
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        if !merged.isEmpty {
            line += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
