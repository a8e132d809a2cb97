import Foundation
import VisageCore

/// A helper program (ffmpeg feeding a virtual camera, ffplay showing a window) that reads raw
/// frames on its standard input. Its standard error is drained on a thread and kept for messages;
/// a helper that stops reading turns into a write error, never a SIGPIPE that kills us.
public final class RawFramePipe: @unchecked Sendable {
    private let process: ToolProcess
    private var broken = false

    public init(program: String, arguments: [String]) throws {
        process = try ToolProcess(program: program, arguments: arguments, takesInput: true, givesOutput: false)
    }

    /// Writes the frame's rows (`rowBytes` each) straight from its memory: one write when the rows are
    /// contiguous, one per row otherwise. Once the helper has stopped reading, this and every later
    /// call throw. One writer at a time.
    public func write(_ frame: Image) throws {
        guard !broken else { throw VisageError.writeFailed(path: programName, reason: "it stopped reading frames") }
        var ok: Bool
        if frame.stride == frame.rowBytes {
            ok = process.writeInput(frame.baseAddress, count: frame.rowBytes * frame.height)
        } else {
            ok = true
            for y in 0..<frame.height where ok {
                ok = process.writeInput(frame.baseAddress + y * frame.stride, count: frame.rowBytes)
            }
        }
        guard ok else {
            broken = true
            throw VisageError.writeFailed(path: programName, reason: "it stopped reading frames")
        }
    }

    /// The last `lines` lines the helper wrote to its standard error so far, joined by " / ".
    public func lastErrors(lines: Int = 3) -> String {
        process.stderrTail.suffix(lines).joined(separator: " / ")
    }

    /// Ends the stream (closes the helper's input), waits for the helper and returns its exit status.
    @discardableResult
    public func finish() -> Int32 {
        process.closeInput()
        return process.wait()
    }

    /// Stops the helper without letting it finish its output.
    public func terminate() {
        process.stop()
    }

    private var programName: String { URL(fileURLWithPath: process.program).lastPathComponent }
}
