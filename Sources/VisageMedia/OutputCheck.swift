import Foundation
import VisageCore

/// Checks an output path before any work starts, so a run never fails at its end (after minutes of
/// video) on something knowable at its start, and never overwrites what it reads.
public enum OutputCheck {
    /// What an output holds, which decides the extensions it may have.
    public enum Kind: Sendable {
        /// An image written through OpenCV (annotated or swapped frames, plots).
        case image
        /// A video written through ffmpeg.
        case video
        case csv
        /// A PNG plot.
        case plot
        /// A folder (one output per input).
        case folder

        var extensions: Set<String> {
            switch self {
            case .image: return ["png", "jpg", "jpeg", "bmp", "webp", "tif", "tiff"]
            case .video: return ["mp4", "mov", "mkv", "webm"]
            case .csv: return ["csv"]
            case .plot: return ["png"]
            case .folder: return []
            }
        }

        var noun: String {
            switch self {
            case .image: return "an image"
            case .video: return "a video"
            case .csv: return "a CSV file"
            case .plot: return "a PNG plot"
            case .folder: return "a folder"
            }
        }
    }

    /// The output as a URL once it passed every check: extension known for `kind`, parent folder exists
    /// and is writable, and it is none of `inputs` (compared after resolving links, and by device and
    /// inode, so a hard link or `./x` vs `x` is caught too). `role` names the option in messages
    /// ("output", "--draw"), the command line's own word for it.
    @discardableResult
    public static func validate(_ path: String, kind: Kind, inputs: [String], role: String = "output") throws -> URL {
        guard !path.isEmpty else { throw VisageError.invalidArgument("the \(role) path is empty") }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if kind != .folder {
            let ext = url.pathExtension.lowercased()
            guard kind.extensions.contains(ext) else {
                let known = kind.extensions.sorted().map { "." + $0 }.joined(separator: ", ")
                throw VisageError.invalidArgument("the \(role) \(path) must be \(kind.noun) (\(known))\(ext.isEmpty ? "" : ", not .\(ext)")")
            }
        }
        let folder = kind == .folder ? url : url.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDir), isDir.boolValue else {
            throw VisageError.writeFailed(path: path, reason: "the folder \(folder.path) does not exist")
        }
        guard access(folder.path, W_OK) == 0 else {
            throw VisageError.writeFailed(path: path, reason: "the folder \(folder.path) is not writable")
        }
        if kind != .folder {
            var existing: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &existing), existing.boolValue {
                throw VisageError.writeFailed(path: path, reason: "it is a folder; give a file name")
            }
        }
        for input in inputs where sameFile(url.path, input) {
            throw VisageError.invalidArgument("the \(role) \(path) is one of the inputs (\(input)); choose another path (nothing was written)")
        }
        return url
    }

    /// Whether two paths name the same file (links resolved; an output that does not exist yet is compared
    /// by its resolved path only).
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        let ra = URL(fileURLWithPath: a).standardizedFileURL.resolvingSymlinksInPath().path
        let rb = URL(fileURLWithPath: b).standardizedFileURL.resolvingSymlinksInPath().path
        if ra == rb { return true }
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}
