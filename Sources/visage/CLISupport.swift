import Foundation
import VisageCore
import VisageFace
import VisageJobs
import VisageLive
import VisageRuntime

/// Ctrl-C and SIGTERM cancel the process's token: jobs stop at the next frame and remove what they were
/// writing. A second signal ends the process at once.
enum SignalCancellation {
    static let token = CancellationToken()
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                token.cancel(.interrupted)
                FileHandle.standardError.write(Data("\nvisage: interrupted; stopping cleanly (press Ctrl-C again to force)\n".utf8))
                signal(sig, SIG_DFL)
            }
            source.resume()
            sources.append(source)
        }
    }
}

/// A status line on stderr: redrawn at most four times a second on a terminal, one line every `quiet` seconds
/// when stderr is a file or a pipe; `finish` ends a redrawn line.
final class StatusLine: Sendable {
    private let interactive = isatty(STDERR_FILENO) != 0
    private let interval: UInt64
    private let last = Locked<UInt64>(0)

    init(quietEvery seconds: Double) { interval = UInt64(seconds * 1e9) }

    /// Writes the line `make` returns if one is due now (`make` runs only then).
    func update(_ make: () -> String) {
        let now = DispatchTime.now().uptimeNanoseconds
        let due = last.withLock { t -> Bool in
            guard now - t > (interactive ? 250_000_000 : interval) else { return false }
            t = now
            return true
        }
        guard due else { return }
        FileHandle.standardError.write(Data(((interactive ? "\r" : "") + make() + (interactive ? "" : "\n")).utf8))
    }

    func finish() {
        if interactive && last.value > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Progress on stderr: a line redrawn a few times a second on a terminal, one line every 5 s otherwise.
enum TerminalProgress {
    static func sink() -> ProgressSink {
        let line = StatusLine(quietEvery: 5)
        return { p in
            if p.finished { line.finish(); return }
            line.update {
                let part = p.total.map { String(format: " / %d (%.0f%%)", $0, 100 * Double(p.done) / Double(max($0, 1))) } ?? ""
                let eta = p.eta.map { String(format: ", ETA %.0f s", $0) } ?? ""
                return String(format: "%@: frame %d%@, %.1f fps%@", p.stage, p.done, part, p.fps, eta)
            }
        }
    }
}

/// Output helpers: JSON on stdout, warnings and the start-up banner on stderr.
enum Output {
    static func json<T: Encodable>(_ value: T, pretty: Bool = true) throws {
        FileHandle.standardOutput.write(try JobJSON.data(value, pretty: pretty))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    static func warning(_ text: String) {
        FileHandle.standardError.write(Data("visage: warning: \(text)\n".utf8))
    }

    static func note(_ text: String) {
        FileHandle.standardError.write(Data("visage: \(text)\n".utf8))
    }

    /// "visage 0.2.0 · Debian … · CPU (2 cores) · ONNX Runtime 1.31.1 · providers: cpu (why)", for the
    /// accelerator the context asks for, before any model loads.
    static func banner(_ context: JobContext) {
        guard let library = try? ORTLibrary.shared() else { return }
        let plan = AcceleratorPlan.resolve(requested: context.session.accelerator, available: library.availableProviders)
        let line = "visage \(VisageVersion.string) · \(Platform.osDescription) · \(Platform.cpuModel) (\(Platform.logicalCores) cores) · ONNX Runtime \(library.version) · providers: \(plan.summary) (\(plan.reason))"
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Says which face of a photo with several was used, and how to choose another.
    static func faceChoice(_ made: FaceChoice.Made, option: String) {
        guard made.faceCount > 1 else { return }
        note(made.summary + (made.automatic ? "; choose another with \(option) N" : ""))
    }
}

/// Several inputs of which some failed: the others were done; the exit code says how many failed.
struct PartialFailure: Error, CustomStringConvertible {
    let failures: [InputFailure]
    let total: Int
    var description: String {
        "\(failures.count) of \(total) inputs failed:\n  " + failures.map { "\($0.input): \($0.error)" }.joined(separator: "\n  ")
    }
    /// 1…100: how many failed (capped below the signal range).
    var exitCode: Int32 { Int32(min(failures.count, 100)) }
}

/// A live-pipeline error in the command line's words.
struct LiveFailure: Error, CustomStringConvertible {
    let description: String
}

/// Library errors worded for the command line: where the library says what to do in general terms,
/// this names the flag or command that does it.
enum CLIWording {
    static func describe(_ error: VisageError) -> String {
        switch error {
        case .licenseNotAccepted(let id, let license):
            return "model '\(id)' is under a licence you must accept first (\(license)); rerun with --accept-license or set VISAGE_ACCEPT_LICENSES=1"
        case .modelNotInstalled(let id, let hint) where hint == "install it before running this":
            return "model '\(id)' is not installed: run `visage models install \(id)`"
        case .checksumMismatch:
            let id = ModelCatalog.all.first { "\(error)".contains("/\($0.id)/") }?.id ?? "ID"
            return "\(error.description); reinstall it with `visage models install --force \(id)`"
        default:
            return error.description
        }
    }

    static func describe(_ error: LiveError) -> String {
        switch error {
        case .cameraNotFound:
            return error.description + "; see `visage live --list-cameras`"
        case .portInUse(let port, _):
            return error.description + " (e.g. --stream :\(port + 1))"
        case .outputUnavailable(let what, _) where what == "preview window" || what.hasPrefix("virtual camera"):
            return error.description + " (--stream :8090, then open http://localhost:8090/)"
        default:
            return error.description
        }
    }
}
