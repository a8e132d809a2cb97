import Foundation
import VisageCore

/// A helper program (ffmpeg encoding a file or feeding a virtual camera, ffplay showing a window) that
/// reads raw frames on its standard input. Its standard error is kept for messages; a helper that
/// stops reading turns into a write error, never a SIGPIPE that kills us.
public final class RawFramePipe: @unchecked Sendable {
    private let process = Process()
    private let input: FileHandle
    private let errors = Pipe()
    private var broken = false

    public init(program: String, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        input = stdin.fileHandleForWriting
        signal(SIGPIPE, SIG_IGN)
        try process.run()
    }

    /// Writes the frame's rows (`rowBytes` each) straight from its memory: one write when the rows are
    /// contiguous, one per row otherwise. Once the helper has stopped reading, this and every later
    /// call throw. One writer at a time.
    public func write(_ frame: Image) throws {
        guard !broken else { throw VisageError.writeFailed(path: programName, reason: "it stopped reading frames") }
        do {
            if frame.stride == frame.rowBytes {
                try input.write(contentsOf: Data(bytesNoCopy: frame.baseAddress, count: frame.rowBytes * frame.height, deallocator: .none))
            } else {
                for y in 0..<frame.height {
                    try input.write(contentsOf: Data(bytesNoCopy: frame.baseAddress.advanced(by: y * frame.stride), count: frame.rowBytes,
                                                     deallocator: .none))
                }
            }
        } catch {
            broken = true
            throw VisageError.writeFailed(path: programName, reason: "it stopped reading frames")
        }
    }

    /// The last `lines` lines the helper wrote to its standard error so far, joined by " / ".
    public func lastErrors(lines: Int = 3) -> String {
        String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self).split(separator: "\n").suffix(lines).joined(separator: " / ")
    }

    /// Ends the stream (closes the helper's input), waits for the helper and returns its exit status.
    @discardableResult
    public func finish() -> Int32 {
        try? input.close()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Stops the helper without letting it finish its output.
    public func terminate() {
        try? input.close()
        process.terminate()
        process.waitUntilExit()
    }

    private var programName: String { process.executableURL?.lastPathComponent ?? "helper" }
}
