import Foundation
import VisageCore

/// What the `ffmpeg` on PATH is and which hardware encoders it was built with.
public struct FFmpegInfo: Codable, Sendable {
    public var available: Bool
    public var path: String?
    public var version: String?
    /// Hardware encoders that passed a one-frame test encode here.
    public var hardwareEncoders: [String]?
    /// Hardware encoders ffmpeg lists that cannot start here, with the reason.
    public var hardwareEncodersNotWorking: [String: String]?

    enum CodingKeys: String, CodingKey {
        case available, path, version
        case hardwareEncoders = "hardware_encoders", hardwareEncodersNotWorking = "hardware_encoders_not_working"
    }

    public static func probe() -> FFmpegInfo {
        guard let path = VideoWriter.tool("ffmpeg"), let versionText = ProcessOutput.run(path, ["-hide_banner", "-version"]) else {
            return FFmpegInfo(available: false)
        }
        let version = versionText.split(separator: "\n").first.map { line -> String in
            let parts = line.split(separator: " ")
            return parts.count > 2 ? String(parts[2]) : String(line)
        } ?? "unknown"
        // Listed is not working: nvenc is compiled into Debian's ffmpeg whether or not there is a GPU.
        var working: [String] = [], failing: [String: String] = [:]
        for encoder in EncoderProbe.hardwareCandidates() {
            switch EncoderProbe.status(of: encoder) {
            case .works: working.append(encoder)
            case .fails(let reason): failing[encoder] = reason
            case .notListed, .noFFmpeg: break
            }
        }
        return FFmpegInfo(available: true, path: path, version: version, hardwareEncoders: working,
                          hardwareEncodersNotWorking: failing)
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
        let exit = ProcessExit(watching: process)
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        exit.wait()
        return String(decoding: data, as: UTF8.self)
    }
}
