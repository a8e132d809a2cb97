import Foundation
import VisageCore
import VisageFace
import VisageRuntime

/// One frame on its way through the pipeline, with what each stage added and spent.
public struct LiveFrame: @unchecked Sendable {
    /// Position in the source (0-based; counts every frame the source delivered, dropped or not).
    public let number: Int
    /// Uptime (ns) when capture finished reading it: latency is measured from here to output.
    public let capturedAt: UInt64
    /// Seconds since the start of the source (file time for files, wall time for live sources).
    public let timestamp: Double
    /// A pooled buffer at the processing size.
    public var image: Image
    public var settings: QualitySettings
    public var faces: [AnalyzedFace] = []
    public var captureMs = 0.0, detectMs = 0.0, processMs = 0.0

    public init(number: Int, capturedAt: UInt64, timestamp: Double, image: Image, settings: QualitySettings) {
        self.number = number
        self.capturedAt = capturedAt
        self.timestamp = timestamp
        self.image = image
        self.settings = settings
    }
}

/// The per-frame work of the pipeline, split where the stages split: `analyze` runs on the
/// detect thread (frame N+1) while `process` runs on the process thread (frame N).
public protocol LiveWork: AnyObject {
    /// Human-readable name for stats and benchmarks ("landmark swap").
    var name: String { get }
    func analyze(_ frame: inout LiveFrame) throws
    func process(_ frame: inout LiveFrame) throws
    /// End of the run: finalise files (CSV).
    func finish() throws
    /// The run failed: discard partial files.
    func abandon()
}

/// A face detector that can change its input size between frames: one detector per size,
/// made on first use, so the controller's "smaller detector input" costs one model load once.
public final class SwitchableDetector: FaceDetector, @unchecked Sendable {
    private let make: (Int) throws -> FaceDetector
    private var bySide: [Int: FaceDetector] = [:]
    private var current: FaceDetector
    public private(set) var side: Int

    public init(side: Int, make: @escaping (Int) throws -> FaceDetector) throws {
        self.make = make
        self.side = side
        current = try make(side)
        bySide[side] = current
    }

    /// Switches to `side` (called on the detect thread, between frames).
    public func use(side newSide: Int) throws {
        guard newSide != side else { return }
        if bySide[newSide] == nil { bySide[newSide] = try make(newSide) }
        current = bySide[newSide]!
        side = newSide
    }

    public var modelID: String { current.modelID }
    public var options: DetectionOptions { current.options }
    public var session: InferenceSession { current.session }
    public func inputSize(forFrameWidth width: Int, height: Int) -> (width: Int, height: Int) { current.inputSize(forFrameWidth: width, height: height) }
    public func detectTimed(_ image: Image) throws -> (faces: [DetectedFace], timings: DetectionTimings) { try current.detectTimed(image) }
}
