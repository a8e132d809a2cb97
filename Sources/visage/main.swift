import ArgumentParser
import Foundation
import VisageCore
import VisageRuntime

// Errors a user can cause print as one line on stderr with a non-zero exit; argument errors keep
// ArgumentParser's usage text.
VisageLog.bootstrap()
SignalCancellation.install()
ORTLibrary.optOutOfTelemetry()
do {
    var command = try Visage.parseAsRoot()
    try command.run()
} catch let failures as PartialFailure {
    FileHandle.standardError.write(Data("visage: error: \(failures.description)\n".utf8))
    exit(failures.exitCode)
} catch let error as VisageError {
    FileHandle.standardError.write(Data("visage: error: \(CLIWording.describe(error))\n".utf8))
    exit(error == .interrupted || error == .cancelled ? 130 : 1)
} catch let error as LiveFailure {
    FileHandle.standardError.write(Data("visage: error: \(error.description)\n".utf8))
    exit(1)
} catch {
    // A bad option value is a failure like any other bad input: exit 1 with ArgumentParser's usage text.
    if Visage.exitCode(for: error) == .validationFailure {
        FileHandle.standardError.write(Data((Visage.fullMessage(for: error) + "\n").utf8))
        exit(1)
    }
    Visage.exit(withError: error)
}
