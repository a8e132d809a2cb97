import Foundation

/// Whether a path names an image or a video, by its extension (what every command decides first).
public enum MediaKind: String, Sendable, Codable {
    case image, video

    public static let videoExtensions: Set<String> = ["mp4", "mov", "avi", "wmv", "mkv", "webm", "m4v", "mpg", "mpeg", "flv"]
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "bmp", "tif", "tiff", "webp", "ppm", "pgm"]

    public static func isVideo(_ path: String) -> Bool { videoExtensions.contains(URL(fileURLWithPath: path).pathExtension.lowercased()) }
    public static func isImage(_ path: String) -> Bool { imageExtensions.contains(URL(fileURLWithPath: path).pathExtension.lowercased()) }

    /// The kind of `path`, nil for an extension that is neither.
    public static func of(_ path: String) -> MediaKind? {
        isVideo(path) ? .video : isImage(path) ? .image : nil
    }
}
