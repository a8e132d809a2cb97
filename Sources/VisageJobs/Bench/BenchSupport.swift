import Foundation
import VisageCore
import VisageMedia

/// Percentiles and rounding for benchmark results.
public enum Stats {
    /// Nearest-rank percentile.
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    /// To 0.001 (benchmark JSON).
    public static func r(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }

    /// min / median / p90 of a stage's samples.
    public static func summary(_ values: [Double]) -> StageSummary {
        StageSummary(min: r(values.min() ?? 0), median: r(percentile(values, 50)), p90: r(percentile(values, 90)))
    }
}

/// min / median / p90 milliseconds of one stage.
public struct StageSummary: Codable, Sendable, Equatable {
    public var min: Double
    public var median: Double
    public var p90: Double
}

/// The bundled public-domain sample photos.
public enum SampleFiles {
    public static func portraits() throws -> [String] {
        let first = try defaultImage()
        let dir = URL(fileURLWithPath: first).deletingLastPathComponent()
        return [first, dir.appendingPathComponent("biden.jpg").path].filter(FileManager.default.fileExists)
    }

    /// Samples/obama.jpg, found in the working directory or up to five folders above the executable.
    public static func defaultImage() throws -> String {
        var candidates = [FileManager.default.currentDirectoryPath + "/Samples/obama.jpg"]
        var dir = URL(fileURLWithPath: Platform.executablePath).deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(dir.appendingPathComponent("Samples/obama.jpg").path)
            dir = dir.deletingLastPathComponent()
        }
        if let found = candidates.first(where: FileManager.default.fileExists) { return found }
        throw VisageError.invalidArgument("no sample image found; give an image to benchmark on")
    }
}

/// Synthetic benchmark frames: portraits tiled in a grid on a grey background.
public enum BenchFrames {
    public static func grid(of portraits: [Image], count: Int, width: Int, height: Int) throws -> Image {
        let frame = Image(width: width, height: height, channels: 3)
        frame.baseAddress.initializeMemory(as: UInt8.self, repeating: 96, count: frame.stride * height)
        let columns = count == 1 ? 1 : 3, rows = (count + columns - 1) / columns
        let cellW = width / columns, cellH = height / rows
        for i in 0..<count {
            let portrait = portraits[i % portraits.count]
            let scale = min(Double(cellW) / Double(portrait.width), Double(cellH) / Double(portrait.height))
            let w = max(1, Int(Double(portrait.width) * scale)), h = max(1, Int(Double(portrait.height) * scale))
            let x = (i % columns) * cellW + (cellW - w) / 2, y = (i / columns) * cellH + (cellH - h) / 2
            try ImageOps.resize(portrait, into: frame.region(x: x, y: y, width: w, height: h)!, interpolation: .area)
        }
        return frame
    }
}
