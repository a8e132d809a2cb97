/// Every failure a user can cause or meet, with a message that says what to do about it.
///
/// The CLI prints `description` as one line on stderr and exits non-zero; library callers can
/// switch on the case.
public enum VisageError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A path the user gave does not exist, is a directory, is empty or cannot be read.
    case fileNotFound(path: String)
    case notAFile(path: String)
    case emptyFile(path: String)
    case unreadable(path: String, reason: String)
    /// The bytes are not an image we can decode, or are truncated.
    case invalidImage(path: String, reason: String)
    /// The header claims a size we refuse to allocate.
    case imageTooLarge(path: String, width: Int, height: Int, limit: Int)
    case invalidVideo(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    /// Model store problems.
    case unknownModel(id: String, known: [String])
    case checksumMismatch(path: String, expected: String, actual: String)
    case invalidModel(path: String, reason: String)
    case modelNotInstalled(id: String, hint: String)
    case licenseNotAccepted(id: String, license: String)
    case downloadFailed(url: String, reason: String)
    /// ONNX Runtime could not be loaded or failed.
    case runtimeUnavailable(reason: String)
    case runtime(String)
    case invalidArgument(String)
    /// An error reported by OpenCV, turned into a Swift error at the bridge.
    case openCV(String)
    /// The user pressed Ctrl-C (or the process got SIGTERM); partial outputs were discarded.
    case interrupted
    /// The job was cancelled (by a client, or because the process is stopping); partial outputs were discarded.
    case cancelled

    public var description: String {
        switch self {
        case .fileNotFound(let path): return "file not found: \(path)"
        case .notAFile(let path): return "\(path) is a directory, not a file"
        case .emptyFile(let path): return "\(path) is empty (0 bytes)"
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .invalidImage(let path, let reason): return "\(path) is not a valid image: \(reason)"
        case .imageTooLarge(let path, let w, let h, let limit):
            return "\(path) claims \(w)x\(h) pixels, more than the \(limit)-pixel limit; refusing to decode it"
        case .invalidVideo(let path, let reason): return "\(path) is not a readable video: \(reason)"
        case .writeFailed(let path, let reason): return "cannot write \(path): \(reason)"
        case .unknownModel(let id, let known):
            return "unknown model '\(id)'; known models: \(known.joined(separator: ", ")) (see `visage models list`)"
        case .checksumMismatch(let path, let expected, let actual):
            return "checksum mismatch for \(path): expected sha256 \(expected), got \(actual); the file is corrupt or not the official model"
        case .invalidModel(let path, let reason): return "\(path) is not a usable ONNX model: \(reason)"
        case .modelNotInstalled(let id, let hint): return "model '\(id)' is not installed: \(hint)"
        case .licenseNotAccepted(let id, let license):
            return "model '\(id)' is under a licence you must accept first (\(license)); accept it when installing, or set VISAGE_ACCEPT_LICENSES=1"
        case .downloadFailed(let url, let reason): return "download of \(url) failed: \(reason)"
        case .runtimeUnavailable(let reason): return "ONNX Runtime is not available: \(reason)"
        case .runtime(let message): return "ONNX Runtime: \(message)"
        case .invalidArgument(let message): return message
        case .openCV(let message): return message
        case .interrupted: return "interrupted; no partial output was left behind"
        case .cancelled: return "cancelled; no partial output was left behind"
        }
    }
}
