import ArgumentParser
import Foundation
import VisageCore
import VisageJobs
import VisageServer

/// `visage serve`: options → `ServerConfiguration` → `APIServer` (all of it in VisageServer).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "HTTP API: upload files, run swap/au/analyze jobs (they survive restarts), live sessions over WebSocket, /health, /metrics.",
        discussion: """
        Listens on 127.0.0.1 unless --host says otherwise; any other address needs a token (--token, VISAGE_TOKEN or
        --tokens-file). The contract is served at /openapi.yaml (readable at /docs). See docs/SERVER.md.
        """)

    @Option(help: "Address to listen on (127.0.0.1: this machine only).") var host = "127.0.0.1"
    @Option(help: "Port (0: any free port; the one chosen is printed).") var port = 8090
    @Option(help: "Where jobs, uploads and results live (default: visage/ under the user's data directory).") var dataDir: String?
    @Option(help: "A bearer token clients must send (repeat for several clients; also $VISAGE_TOKEN).") var token: [String] = []
    @Option(help: "A file of tokens, one client per line: NAME TOKEN (or TOKEN).") var tokensFile: String?
    @Option(help: "Jobs that run at once (default: 1 up to 4 cores, one more per 4 cores).") var maxJobs: Int?
    @Option(help: "Jobs that may wait; one more is answered 429 with Retry-After.") var maxQueue = 100
    @Option(help: "Largest video upload, e.g. 2GB.") var maxUpload = "2GB"
    @Option(help: "Largest image upload, e.g. 50MB.") var maxImageUpload = "50MB"
    @Option(help: "Performance mode: performance | balanced | quality | battery (default: the last one set, else balanced).")
    var mode: LiveModeName?
    @Option(help: "Remove uploads and results older than this (e.g. 24h, 7d).") var keep = "24h"
    @Option(help: "Remove the oldest uploads and results while they take more than this (e.g. 20GB).") var quota: String?
    @Option(help: "Allow this origin to call the API from a browser (CORS); off otherwise.") var cors: String?
    @Option(help: "Live WebSocket sessions at once.") var maxLive = 2
    @Flag(name: .shortAndLong, help: "Log every decision (debug level).") var verbose = false

    func configurationValue() throws -> ServerConfiguration {
        var config = ServerConfiguration(dataDirectory: dataDir.map { URL(fileURLWithPath: $0) } ?? ServerConfiguration.defaultDataDirectory,
                                         maxJobs: maxJobs ?? ServerConfiguration.defaultMaxJobs)
        config.host = host
        config.port = port
        var tokens = token
        if let env = ProcessInfo.processInfo.environment["VISAGE_TOKEN"], !env.isEmpty { tokens.append(env) }
        config.clients = tokens.enumerated().map { ServerConfiguration.Client(name: "client-\($0.offset + 1)", token: $0.element) }
        if let tokensFile { config.clients += try ServerConfiguration.clients(fromFile: tokensFile) }
        config.maxQueue = maxQueue
        config.maxVideoUpload = try ServerConfiguration.size(maxUpload)
        config.maxImageUpload = try ServerConfiguration.size(maxImageUpload)
        config.mode = mode
        config.keep = try ServerConfiguration.duration(keep)
        config.quota = try quota.map(ServerConfiguration.size)
        config.corsOrigin = cors
        config.maxLiveSessions = maxLive
        return config
    }

    func validate() throws { try parseCheck { try configurationValue().validate() } }

    func run() throws {
        if verbose { VisageLog.setLevel(.debug) }
        let config = try configurationValue()
        let server = try APIServer(configuration: config)
        let host = config.host
        try server.run(until: SignalCancellation.token) { port in
            let shown = host.contains(":") ? "[\(host)]" : host
            FileHandle.standardError.write(Data("visage serve: listening on http://\(shown):\(port) (data: \(config.dataDirectory.path), \(config.maxJobs) job(s) at once, mode \(server.settings.mode.rawValue)\(config.clients.isEmpty ? "" : ", \(config.clients.count) token(s)"))\n".utf8))
        }
        FileHandle.standardError.write(Data("visage serve: stopped; queued and running jobs continue at the next start\n".utf8))
    }
}
