import Foundation
import VisageCore
import VisageJobs
import VisageMedia

/// Everything `visage serve` is started with. Checked once at start-up (`validate`): an address other
/// than loopback without a token is refused there, before anything listens.
public struct ServerConfiguration: Sendable {
    /// One client that may call the API: a name (for logs, metrics and fairness) and its bearer token.
    public struct Client: Sendable, Equatable {
        public var name: String
        public var token: String
        public init(name: String, token: String) { self.name = name; self.token = token }
    }

    public var host = "127.0.0.1"
    /// 0: the OS chooses (the bound port is logged and handed to `onListening`).
    public var port = 8090
    public var dataDirectory: URL
    /// Empty: no authentication (allowed on loopback only).
    public var clients: [Client] = []
    /// Jobs run at once (each on its own thread).
    public var maxJobs: Int
    /// Jobs that may wait; one more is answered 429 with Retry-After.
    public var maxQueue = 100
    public var maxImageUpload: Int64 = 50 << 20
    public var maxVideoUpload: Int64 = 2 << 30
    /// JSON request bodies.
    public var maxJSONBody = 1 << 20
    /// A whole upload must arrive within this many seconds (slow clients are cut off).
    public var uploadTimeout: Double = 600
    /// Seconds a connection may sit idle between requests.
    public var idleTimeout: Double = 60
    /// nil: the mode stored from the last run, else balanced.
    public var mode: LiveModeName?
    /// Uploaded files and results older than this are removed (seconds).
    public var keep: Double = 24 * 3600
    /// Uploads + results above this many bytes: the oldest are removed first (nil: no quota).
    public var quota: Int64?
    /// An origin allowed to call the API from a browser (CORS off when nil).
    public var corsOrigin: String?
    /// Live WebSocket sessions at once.
    public var maxLiveSessions = 2
    /// How often retention runs (seconds).
    public var sweepInterval: Double = 60

    public init(dataDirectory: URL = ServerConfiguration.defaultDataDirectory, maxJobs: Int = ServerConfiguration.defaultMaxJobs) {
        self.dataDirectory = dataDirectory
        self.maxJobs = maxJobs
    }

    /// One heavy job at a time up to 4 cores, then one more per 4 cores.
    public static var defaultMaxJobs: Int { max(1, Platform.logicalCores / 4) }

    /// `visage/` under the user's data directory (~/.local/share on Linux, ~/Library/Application Support on macOS).
    public static var defaultDataDirectory: URL {
        let base = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask).first
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/share")
        return base.appendingPathComponent("visage", isDirectory: true)
    }

    public var isLoopback: Bool { Self.isLoopback(host) }

    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Refuses what must not start: a non-loopback address without a token, numbers out of range.
    public func validate() throws {
        if !isLoopback && clients.isEmpty {
            throw VisageError.invalidArgument("refusing to listen on \(host) without a token: anyone who can reach this machine could run jobs and read results. Give --token (or VISAGE_TOKEN), or listen on 127.0.0.1 and put a reverse proxy in front")
        }
        try OptionRules.check("port", port, in: 0...65535)
        try OptionRules.check("max-jobs", maxJobs, in: 1...256)
        try OptionRules.check("max-queue", maxQueue, in: 0...100_000)
        try OptionRules.check("max-live", maxLiveSessions, in: 0...64)
        if maxImageUpload <= 0 || maxVideoUpload <= 0 { throw VisageError.invalidArgument("max-upload must be more than 0 bytes") }
        if keep <= 0 { throw VisageError.invalidArgument("keep must be a positive duration, e.g. 24h") }
        for client in clients where client.token.count < 16 {
            throw VisageError.invalidArgument("the token of \(client.name) is \(client.token.count) characters; use at least 16 (e.g. `openssl rand -hex 32`)")
        }
        if Set(clients.map(\.token)).count != clients.count { throw VisageError.invalidArgument("two clients have the same token") }
    }

    /// "24h", "30m", "7d", "90s" or seconds.
    public static func duration(_ text: String) throws -> Double {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if let last = t.last, let unit = units[last], let n = Double(t.dropLast()), n > 0 { return n * unit }
        if let n = Double(t), n > 0 { return n }
        throw VisageError.invalidArgument("\(text) is not a duration: use e.g. 90s, 30m, 24h or 7d")
    }

    /// "50MB", "2GB", "512KiB", or bytes.
    public static func size(_ text: String) throws -> Int64 {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased().replacingOccurrences(of: "IB", with: "B")
        let units: [(String, Int64)] = [("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("B", 1)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            if let n = Double(t.dropLast(suffix.count)), n > 0 { return Int64(n * Double(factor)) }
        }
        if let n = Int64(t), n > 0 { return n }
        throw VisageError.invalidArgument("\(text) is not a size: use e.g. 50MB, 2GB or a number of bytes")
    }

    /// Clients from a tokens file: one per line, "NAME TOKEN" or just "TOKEN"; # starts a comment.
    public static func clients(fromFile path: String) throws -> [Client] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw VisageError.unreadable(path: path, reason: AtomicFile.describe(error))
        }
        var clients: [Client] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0].split(separator: " ", omittingEmptySubsequences: true)
            switch fields.count {
            case 0: continue
            case 1: clients.append(Client(name: "client-\(clients.count + 1)", token: String(fields[0])))
            default: clients.append(Client(name: String(fields[0]), token: String(fields[1])))
            }
        }
        return clients
    }
}
