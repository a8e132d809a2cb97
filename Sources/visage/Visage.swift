import ArgumentParser
import Foundation
import Logging
import VisageCore
import VisageRuntime

struct Visage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visage",
        abstract: "Real-time face processing: detection, analysis, swap, enhancement, action units.",
        version: VisageVersion.string,
        subcommands: [Detect.self, Analyze.self, Compare.self, Swap.self, AU.self, Live.self, Doctor.self, Bench.self, Models.self]
    )
}

enum VisageVersion {
    static let string = "0.1.0"
}

/// Options every command that runs a model shares.
struct RuntimeOptions: ParsableArguments {
    @Option(name: [.customLong("accelerator"), .customLong("execution-provider")],
            help: "auto | cpu | cuda | tensorrt | coreml (default: $VISAGE_ACCELERATOR or auto)")
    var accelerator: String?

    @Option(help: "Threads per model (0: one per core).")
    var threads: Int = 0

    @Flag(name: .shortAndLong, help: "Log every decision (debug level).")
    var verbose = false

    func sessionConfig() throws -> SessionConfig {
        var config = try SessionConfig.fromEnvironment()
        if let accelerator {
            guard let value = Accelerator(rawValue: accelerator.lowercased()) else {
                throw VisageError.invalidArgument("--accelerator \(accelerator) is not one of \(Accelerator.allCases.map(\.rawValue).joined(separator: "|"))")
            }
            config.accelerator = value
        }
        guard threads >= 0 else { throw VisageError.invalidArgument("--threads must be >= 0") }
        config.intraOpThreads = threads
        return config
    }
}

/// The one-line startup banner: where we run and on what.
enum Banner {
    static func line(plan: AcceleratorPlan, library: ORTLibrary) -> String {
        "visage \(VisageVersion.string) · \(Platform.osDescription) · \(Platform.cpuModel) (\(Platform.logicalCores) cores) · ONNX Runtime \(library.version) · providers: \(plan.summary) (\(plan.reason))"
    }

    static func print(plan: AcceleratorPlan) {
        guard let library = try? ORTLibrary.shared() else { return }
        FileHandle.standardError.write(Data((line(plan: plan, library: library) + "\n").utf8))
    }
}

enum JSONOutput {
    static func print(_ value: Any) throws {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    /// One compact JSON object per line (JSON Lines), flushed as it goes.
    static func printLine(_ value: Any) throws {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    static func round(_ value: Float, _ places: Int = 2) -> Double {
        let p = pow(10.0, Double(places))
        return (Double(value) * p).rounded() / p
    }
}
