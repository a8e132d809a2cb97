import Foundation
import VisageCore
import VisageMedia

/// AU intensity over time as a picture: one strip per AU (small multiples read better than 17
/// overlapping lines), 0–5 scale, time in seconds, one colour per face. Frames where the face
/// was not tracked leave a gap instead of a line to zero.
public enum AUPlot {
    public struct Series: Sendable {
        public var faceID: Int
        public var timestamps: [Double]
        /// [AU][frame], in `names` order.
        public var intensities: [[Double]]
        public var success: [Bool]
        public init(faceID: Int, timestamps: [Double], intensities: [[Double]], success: [Bool]) {
            self.faceID = faceID
            self.timestamps = timestamps
            self.intensities = intensities
            self.success = success
        }
    }

    static let palette: [Color] = [
        Color(b: 180, g: 119, r: 31), Color(b: 14, g: 127, r: 255), Color(b: 44, g: 160, r: 44),
        Color(b: 40, g: 39, r: 214), Color(b: 189, g: 103, r: 148), Color(b: 75, g: 86, r: 140),
    ]

    public static func render(names: [String], series: [Series], width: Int = 1400, stripHeight: Int = 56) -> Image {
        let left = 90, right = 20, top = 40, bottom = 50
        let height = top + bottom + stripHeight * max(names.count, 1)
        let image = Image(width: width, height: height, channels: 3)
        image.baseAddress.initializeMemory(as: UInt8.self, repeating: 255, count: image.stride * height)
        let grey = Color(b: 200, g: 200, r: 200), dark = Color(b: 60, g: 60, r: 60)
        let tMax = max(series.compactMap { $0.timestamps.last }.max() ?? 1, 1e-3)
        let plotWidth = Double(width - left - right)
        func x(_ t: Double) -> Float { Float(Double(left) + t / tMax * plotWidth) }

        Drawing.text(image, "AU intensity (0-5) over time" + (series.count > 1 ? " - one colour per face_id" : ""),
                     at: Point(Float(left), 26), scale: 0.6, color: dark, thickness: 1)
        for (k, s) in series.enumerated() where series.count > 1 {
            Drawing.text(image, "face_id \(s.faceID)", at: Point(Float(width - right - 110 * (series.count - k)), 26), scale: 0.55,
                         color: palette[s.faceID % palette.count], thickness: 2)
        }
        for (row, name) in names.enumerated() {
            let y0 = top + row * stripHeight, base = Float(y0 + stripHeight - 6)
            let scale = Float(stripHeight - 12) / 5
            Drawing.line(image, from: Point(Float(left), base), to: Point(Float(width - right), base), color: grey)
            Drawing.line(image, from: Point(Float(left), base - 5 * scale), to: Point(Float(width - right), base - 5 * scale),
                         color: Color(b: 235, g: 235, r: 235))
            Drawing.text(image, name, at: Point(8, base - Float(stripHeight) / 2 + 8), scale: 0.55, color: dark, thickness: 1)
            Drawing.text(image, "5", at: Point(Float(left - 14), base - 5 * scale + 5), scale: 0.35, color: grey)
            Drawing.text(image, "0", at: Point(Float(left - 14), base + 4), scale: 0.35, color: grey)
            for s in series {
                let colour = palette[s.faceID % palette.count]
                guard row < s.intensities.count else { continue }
                let values = s.intensities[row]
                var previous: Point?
                for i in values.indices {
                    guard i < s.timestamps.count, i < s.success.count, s.success[i] else { previous = nil; continue }
                    let p = Point(x(s.timestamps[i]), base - Float(min(max(values[i], 0), 5)) * scale)
                    if let q = previous { Drawing.line(image, from: q, to: p, color: colour, thickness: series.count > 1 ? 1 : 2) }
                    previous = p
                }
            }
        }
        let axisY = Float(height - bottom + 18)
        let step = niceStep(tMax / 10)
        var t = 0.0
        while t <= tMax + 1e-9 {
            Drawing.line(image, from: Point(x(t), axisY - 14), to: Point(x(t), axisY - 8), color: dark)
            Drawing.text(image, step < 1 ? String(format: "%.1f", t) : String(Int(t.rounded())), at: Point(x(t) - 8, axisY + 8),
                         scale: 0.45, color: dark)
            t += step
        }
        // Under the AU names, where no tick label can run into it.
        Drawing.text(image, "time (s)", at: Point(8, axisY + 8), scale: 0.45, color: dark)
        return image
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(raw)))
        for m in [1.0, 2, 5, 10] where m * magnitude >= raw { return m * magnitude }
        return 10 * magnitude
    }
}
