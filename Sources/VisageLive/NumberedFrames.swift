import Foundation
import VisageCore

/// Frame numbers written into the pixels as a row of black/white blocks (24 bits, most
/// significant first), big enough to survive JPEG and H.264: tests read them back from the
/// output to prove the pipeline never reorders or duplicates frames.
public enum FrameStamp {
    public static let bits = 24

    static func block(width: Int) -> Int { max(4, width / (bits + 8)) }

    public static func write(_ number: Int, into frame: Image) {
        let b = block(width: frame.width)
        for k in 0..<bits {
            let on = (number >> (bits - 1 - k)) & 1 == 1
            for y in 0..<min(b, frame.height) {
                let row = frame.baseAddress.advanced(by: y * frame.stride).assumingMemoryBound(to: UInt8.self)
                let x0 = (k + 1) * b
                for x in x0..<min(x0 + b, frame.width) { for c in 0..<frame.channels { row[x * frame.channels + c] = on ? 255 : 0 } }
            }
        }
    }

    /// The number in `frame`, read at the centre of each block.
    public static func read(from frame: Image) -> Int {
        let b = block(width: frame.width)
        var number = 0
        for k in 0..<bits {
            let x = (k + 1) * b + b / 2, y = b / 2
            number = number << 1 | (frame.byte(x: min(x, frame.width - 1), y: min(y, frame.height - 1), channel: 1) > 127 ? 1 : 0)
        }
        return number
    }
}

/// Synthetic frames numbered 0, 1, 2… (FrameStamp) over a moving gradient: a source for tests
/// and benchmarks that need no camera and no media file.
public final class NumberedFrameSource: LiveSource {
    public let width: Int
    public let height: Int
    public let fps: Double
    public let isLive: Bool
    public let count: Int?
    public var name: String { "numbered frames \(width)x\(height)" }
    private var next = 0
    private var pacer: RealtimePacer?

    public init(width: Int = 640, height: Int = 480, fps: Double = 30, count: Int? = nil, realtime: Bool) {
        self.width = width
        self.height = height
        self.fps = fps
        self.count = count
        isLive = realtime
        pacer = realtime ? RealtimePacer(fps: fps) : nil
    }

    public func waitForNextFrame() { pacer?.wait() }

    public func read(into frame: Image) throws -> Bool {
        if let count, next >= count { return false }
        let shift = next * 3
        for y in 0..<frame.height {
            let row = frame.baseAddress.advanced(by: y * frame.stride).assumingMemoryBound(to: UInt8.self)
            for x in 0..<frame.width {
                let v = UInt8(truncatingIfNeeded: (x + y + shift) / 4)
                row[3 * x] = v; row[3 * x + 1] = 96; row[3 * x + 2] = 255 &- v
            }
        }
        FrameStamp.write(next, into: frame)
        next += 1
        return true
    }
}
