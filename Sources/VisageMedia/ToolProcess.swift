import Foundation
import VisageCore

/// One run of a helper program (ffmpeg, ffprobe) with raw pipes: frames go in or come out through
/// plain file descriptors, and its standard error is drained on a thread of its own, line by line,
/// so the helper never blocks on a full stderr pipe while we block on its stdout (or stdin).
/// Stopping closes our ends first (a helper blocked writing to us gets EPIPE), then asks politely
/// (SIGTERM) and finally insists (SIGKILL); the process is always waited for, so none is left as
/// a zombie.
final class ToolProcess: @unchecked Sendable {
    private let process = Process()
    private let exitSignal: ProcessExit
    private var input: FileHandle?
    private var output: FileHandle?
    private let errorPipe = Pipe()
    private let errors = StderrLines()
    private let lock = NSLock()
    private var reaped = false
    let program: String

    /// Starts `program`. `onStderrLine` is called on the stderr thread for every line it writes,
    /// `onStderrEnd` once its stderr has ended.
    init(program: String, arguments: [String], takesInput: Bool, givesOutput: Bool,
         onStderrLine: (@Sendable (Substring) -> Void)? = nil, onStderrEnd: (@Sendable () -> Void)? = nil) throws {
        self.program = program
        exitSignal = ProcessExit(watching: process)
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let stdin = takesInput ? Pipe() : nil
        let stdout = givesOutput ? Pipe() : nil
        process.standardInput = stdin ?? FileHandle.nullDevice
        process.standardOutput = stdout ?? FileHandle.nullDevice
        process.standardError = errorPipe
        // A helper that stops reading must turn into a write error here, never a signal that kills us.
        signal(SIGPIPE, SIG_IGN)
        do { try process.run() } catch {
            reaped = true   // nothing to stop or wait for
            throw VisageError.invalidArgument("cannot start \(program): \(AtomicFile.describe(error))")
        }
        input = stdin?.fileHandleForWriting
        output = stdout?.fileHandleForReading
        // The thread holds the line store, not `self`: dropping a ToolProcess still stops the helper.
        let fd = errorPipe.fileHandleForReading.fileDescriptor
        let lines = errors
        let thread = Thread {
            lines.drain(fd: fd, onLine: onStderrLine)
            onStderrEnd?()
        }
        thread.name = "visage.\(URL(fileURLWithPath: program).lastPathComponent)-stderr"
        thread.start()
    }

    /// The last lines the helper wrote to its standard error (at most 40).
    var stderrTail: [String] { errors.tail }

    /// Reads up to `count` bytes of the helper's standard output; 0 at its end.
    func readOutput(into buffer: UnsafeMutableRawPointer, count: Int) -> Int {
        guard let fd = output?.fileDescriptor else { return 0 }
        while true {
            let n = read(fd, buffer, count)
            if n < 0 && errno == EINTR { continue }
            return max(n, 0)
        }
    }

    /// Reads exactly `count` bytes unless the output ends first; returns how many arrived.
    func readFully(into buffer: UnsafeMutableRawPointer, count: Int) -> Int {
        var done = 0
        while done < count {
            let n = readOutput(into: buffer + done, count: count - done)
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all `count` bytes to the helper's standard input; false once it has stopped reading.
    func writeInput(_ bytes: UnsafeRawPointer, count: Int) -> Bool {
        guard let fd = input?.fileDescriptor else { return false }
        var done = 0
        while done < count {
            let n = write(fd, bytes + done, count - done)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    /// Ends the helper's input (it sees end of file).
    func closeInput() {
        lock.lock(); let handle = input; input = nil; lock.unlock()
        try? handle?.close()
    }

    /// Stops reading the helper's output (its next write fails with EPIPE).
    func closeOutput() {
        lock.lock(); let handle = output; output = nil; lock.unlock()
        try? handle?.close()
    }

    var isRunning: Bool { process.isRunning }
    var processID: Int32 { process.processIdentifier }

    /// Waits for the helper to end on its own and for its stderr to be drained; its exit status,
    /// or 128 + the signal that ended it.
    @discardableResult
    func wait() -> Int32 {
        exitSignal.wait()
        errors.waitDrained()
        lock.lock(); reaped = true; lock.unlock()
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    /// Ends the helper now: our pipe ends closed, SIGTERM, and SIGKILL after `grace` seconds.
    @discardableResult
    func stop(grace: Double = 2) -> Int32 {
        closeInput()
        closeOutput()
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(grace)
            while process.isRunning && Date() < deadline { usleep(2000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        return wait()
    }

    deinit {
        lock.lock(); let done = reaped; lock.unlock()
        if !done { stop(grace: 1) }
    }
}

/// A helper's standard error, read to its end on a thread: every line goes to a callback and the
/// last 40 are kept for error messages.
private final class StderrLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    private let drained = DispatchSemaphore(value: 0)

    var tail: [String] { lock.lock(); defer { lock.unlock() }; return lines }

    func drain(fd: Int32, onLine: (@Sendable (Substring) -> Void)?) {
        var pending = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        func emit(_ bytes: ArraySlice<UInt8>) {
            let line = String(decoding: bytes, as: UTF8.self)
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : Substring(line)
            guard !trimmed.isEmpty else { return }
            onLine?(trimmed)
            lock.lock()
            lines.append(String(trimmed))
            if lines.count > 40 { lines.removeFirst(lines.count - 40) }
            lock.unlock()
        }
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            pending.append(contentsOf: buffer[0..<n])
            var start = pending.startIndex
            while let newline = pending[start...].firstIndex(of: 10) {
                emit(pending[start..<newline])
                start = newline + 1
            }
            pending.removeSubrange(pending.startIndex..<start)
        }
        if !pending.isEmpty { emit(pending[...]) }
        drained.signal()
    }

    /// Returns once the helper's stderr has ended (at once on later calls).
    func waitDrained() {
        drained.wait()
        drained.signal()
    }
}

/// Runs a helper to completion (ffprobe, a test encode) and returns what it printed.
enum ToolRun {
    struct Result {
        var status: Int32
        var output: Data
        var errors: [String]
    }

    /// `timeout` seconds at most; a helper still running then is stopped and reported as status 124.
    static func run(_ program: String, _ arguments: [String], timeout: Double = 60) throws -> Result {
        let process = try ToolProcess(program: program, arguments: arguments, takesInput: false, givesOutput: true)
        let collected = CollectedOutput()
        let reader = Thread {
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = chunk.withUnsafeMutableBytes { process.readOutput(into: $0.baseAddress!, count: $0.count) }
                if n == 0 { break }
                collected.append(chunk[0..<n])
            }
            collected.finish()
        }
        reader.start()
        let finishedInTime = collected.waitFinished(timeout: timeout)
        let status = finishedInTime ? process.wait() : { process.stop(); return Int32(124) }()
        if !finishedInTime { _ = collected.waitFinished(timeout: 5) }
        return Result(status: status, output: collected.data, errors: process.stderrTail)
    }

    private final class CollectedOutput: @unchecked Sendable {
        private let condition = NSCondition()
        private var bytes = Data()
        private var finished = false
        func append(_ chunk: ArraySlice<UInt8>) { condition.lock(); bytes.append(contentsOf: chunk); condition.unlock() }
        func finish() { condition.lock(); finished = true; condition.broadcast(); condition.unlock() }
        func waitFinished(timeout: Double) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            condition.lock(); defer { condition.unlock() }
            while !finished { if !condition.wait(until: deadline) { return finished } }
            return true
        }
        var data: Data { condition.lock(); defer { condition.unlock() }; return bytes }
    }
}
