import VisageCore

/// Failures of the live pipeline a user can act on, in words that suit every front end (the command line
/// adds its flags to them).
public enum LiveError: Error, CustomStringConvertible, Equatable, Sendable {
    case badArgument(String)
    /// The camera index or device does not exist; `found` lists what does.
    case cameraNotFound(requested: String, found: [String])
    case portInUse(port: Int, reason: String)
    case outputUnavailable(what: String, reason: String)

    public var description: String {
        switch self {
        case .badArgument(let message): return message
        case .cameraNotFound(let requested, let found):
            let list = found.isEmpty ? "no cameras were found" : "cameras found: " + found.joined(separator: "; ")
            return "camera \(requested) does not exist (\(list))"
        case .portInUse(let port, let reason):
            return "cannot serve the stream on port \(port): \(reason); choose another port"
        case .outputUnavailable(let what, let reason): return "\(what): \(reason)"
        }
    }
}
