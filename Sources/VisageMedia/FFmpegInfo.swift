import Foundation

/// What the `ffmpeg` on PATH is and which hardware encoders it was built with.
public struct FFmpegInfo: Codable, Sendable {
    public var available: Bool
    public var path: String?
    public var version: String?
    public var hardwareEncoders: [String]?

    enum CodingKeys: String, CodingKey {
        case available, path, version
        case hardwareEncoders = "hardware_encoders"
    }

    static let hardwareEncoderMarkers = ["nvenc", "videotoolbox", "vaapi", "qsv", "amf", "v4l2m2m"]

    public static func probe() -> FFmpegInfo {
        guard let path = VideoWriter.tool("ffmpeg"), let versionText = ProcessOutput.run(path, ["-hide_banner", "-version"]) else {
            return FFmpegInfo(available: false)
        }
        let version = versionText.split(separator: "\n").first.map { line -> String in
            let parts = line.split(separator: " ")
            return parts.count > 2 ? String(parts[2]) : String(line)
        } ?? "unknown"
        let encoders = ProcessOutput.run(path, ["-hide_banner", "-encoders"]) ?? ""
        let hardware = encoders.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, fields[0].first == "V" else { return nil }
            let name = String(fields[1])
            return hardwareEncoderMarkers.contains { name.contains($0) } ? name : nil
        }
        return FFmpegInfo(available: true, path: path, version: version, hardwareEncoders: hardware)
    }
}

/// The standard output of a short helper program, nil when it cannot start.
public enum ProcessOutput {
    public static func run(_ path: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
