/// The named performance modes of `visage live --mode`: each is one row of the table below (the
/// same table is in docs/LIVE.md). The adaptive controller starts from the row and degrades or
/// restores quality around it.
public struct LiveMode: Sendable, Equatable {
    public let name: String
    /// Frames larger than this are scaled down once at capture (aspect kept).
    public let maxWidth: Int
    public let maxHeight: Int
    public let targetFPS: Double
    /// Run the face detector every N frames; landmark tracking carries faces in between.
    public let detectEvery: Int
    /// Longest side of the detector's input.
    public let detectorSide: Int
    /// ONNX Runtime threads per model (0: one per core).
    public let threads: Int
    /// Sharpen the swapped face (the cheap enhancer; a restoration model would slot in here).
    public let enhancer: Bool
    /// Whether a GPU / Neural Engine execution provider may be used (battery: CPU only).
    public let acceleratorAllowed: Bool

    public static let performance = LiveMode(name: "performance", maxWidth: 640, maxHeight: 480, targetFPS: 60, detectEvery: 8,
                                             detectorSide: 320, threads: 0, enhancer: false, acceleratorAllowed: true)
    public static let balanced = LiveMode(name: "balanced", maxWidth: 960, maxHeight: 540, targetFPS: 30, detectEvery: 5,
                                          detectorSide: 480, threads: 0, enhancer: false, acceleratorAllowed: true)
    public static let quality = LiveMode(name: "quality", maxWidth: 1280, maxHeight: 720, targetFPS: 24, detectEvery: 3,
                                         detectorSide: 640, threads: 0, enhancer: true, acceleratorAllowed: true)
    public static let battery = LiveMode(name: "battery", maxWidth: 640, maxHeight: 360, targetFPS: 15, detectEvery: 10,
                                         detectorSide: 320, threads: 1, enhancer: false, acceleratorAllowed: false)

    public static let all: [LiveMode] = [.performance, .balanced, .quality, .battery]

    public static func named(_ name: String) throws -> LiveMode {
        guard let mode = all.first(where: { $0.name == name.lowercased() }) else {
            throw LiveError.badArgument("--mode \(name) is not one of \(all.map(\.name).joined(separator: ", "))")
        }
        return mode
    }

    /// The processing size for a source: the source's own size, scaled down (never up) to fit the
    /// mode's maximum, rounded to even numbers (video encoders want them).
    public func processingSize(sourceWidth: Int, sourceHeight: Int) -> (width: Int, height: Int) {
        let scale = min(1, Double(maxWidth) / Double(sourceWidth), Double(maxHeight) / Double(sourceHeight))
        guard scale < 1 else { return (sourceWidth, sourceHeight) }
        return (max(2, Int(Double(sourceWidth) * scale) / 2 * 2), max(2, Int(Double(sourceHeight) * scale) / 2 * 2))
    }
}
