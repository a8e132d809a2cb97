import Foundation
import VisageCore

/// Decodes the next frames of a video on its own thread while the caller processes the current
/// one (decode ∥ process), keeping at most `depth` decoded frames in memory.
public final class FramePrefetcher: @unchecked Sendable {
    private let reader: VideoReader
    private let lock = NSCondition()
    private var buffer: [Image] = []
    private var finished = false
    private var failure: Error?
    private var stopped = false
    private let depth: Int

    public init(_ reader: VideoReader, depth: Int = 4) {
        self.reader = reader
        self.depth = max(1, depth)
        let thread = Thread { [self] in run() }
        thread.name = "visage.decode"
        thread.start()
    }

    private func run() {
        while true {
            lock.lock()
            while buffer.count >= depth && !stopped { lock.wait() }
            if stopped { lock.unlock(); return }
            lock.unlock()
            let frame: Image?
            do { frame = try reader.read() } catch {
                lock.lock(); failure = error; finished = true; lock.broadcast(); lock.unlock()
                return
            }
            lock.lock()
            if let frame { buffer.append(frame) } else { finished = true }
            lock.broadcast()
            lock.unlock()
            if frame == nil { return }
        }
    }

    /// The next frame in order, nil at the end of the video.
    public func next() throws -> Image? {
        lock.lock(); defer { lock.unlock() }
        while buffer.isEmpty && !finished { lock.wait() }
        if !buffer.isEmpty {
            let frame = buffer.removeFirst()
            lock.broadcast()
            return frame
        }
        if let failure { throw failure }
        return nil
    }

    /// Stops decoding early (the thread exits at its next frame).
    public func stop() {
        lock.lock(); stopped = true; lock.broadcast(); lock.unlock()
    }

    deinit { stop() }
}
