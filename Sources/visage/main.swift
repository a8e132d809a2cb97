import ArgumentParser
import Foundation
import VisageCore

// Errors a user can cause print as one line on stderr with a non-zero exit; argument errors
// keep ArgumentParser's usage text.
VisageLog.bootstrap()
Interrupt.install()
do {
    var command = try Visage.parseAsRoot()
    try command.run()
} catch let error as VisageError {
    FileHandle.standardError.write(Data("visage: error: \(error)\n".utf8))
    exit(error == .interrupted ? 130 : 1)
} catch {
    Visage.exit(withError: error)
}
