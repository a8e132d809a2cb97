import Foundation
import VisageCore

/// Where the `ffmpeg` and `ffprobe` programs are. Video files are decoded and encoded by them;
/// a machine without them (a portable bundle on a GPU box) decodes with OpenCV's capture instead.
public enum MediaTools {
    /// The executable `name` found on PATH, nil when there is none.
    public static func path(of name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    public static var ffmpeg: String? { path(of: "ffmpeg") }
    public static var ffprobe: String? { path(of: "ffprobe") }

    /// What to tell a user whose machine lacks ffmpeg.
    static let installHint = "install ffmpeg (apt install ffmpeg / brew install ffmpeg) so that ffmpeg and ffprobe are on PATH"
}
