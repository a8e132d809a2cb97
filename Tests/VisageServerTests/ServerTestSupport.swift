import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VisageCore
import VisageJobs
import VisageRuntime
@testable import VisageServer

/// Servers as tests make them: a data directory of their own, the suite's model store (fed from
/// VISAGE_MODEL_MIRROR as CI does) and one model registry for the whole suite (models load once).
enum ServerFixtures {
    static let repository: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { dir.deleteLastPathComponent() }
        return dir
    }()
    static func sample(_ name: String) -> URL { repository.appendingPathComponent("Samples/" + name) }
    static func media(_ relative: String) -> URL {
        repository.deletingLastPathComponent().appendingPathComponent("shared/media/" + relative)
    }

    static let modelStore: ModelStore = {
        var store = ModelStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("visage-server-models-\(ProcessInfo.processInfo.processIdentifier)"))
        store.acceptLicenses = false
        return store
    }()
    static let models = ModelRegistry()
    /// The models the analyze jobs of these tests need.
    static let analyzeModels = ["yunet-2023mar", "pfld-68", "sface-2021dec-int8bq"]

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("visage-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func configuration(_ change: (inout ServerConfiguration) -> Void = { _ in }) throws -> ServerConfiguration {
        var config = ServerConfiguration(dataDirectory: try temporaryDirectory().appendingPathComponent("data"), maxJobs: 1)
        config.port = 0
        change(&config)
        return config
    }

    /// A started server (workers running) with the analyze models installed.
    static func server(_ change: (inout ServerConfiguration) -> Void = { _ in }) throws -> APIServer {
        try RequiredModels.install(analyzeModels, store: modelStore, progress: false)
        let server = try APIServer(configuration: try configuration(change), modelStore: modelStore, models: models)
        try server.start()
        return server
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:] }
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorField: String? { (json["error"] as? [String: Any])?["field"] as? String }
    var errorMessage: String { (json["error"] as? [String: Any])?["message"] as? String ?? "" }
}

extension TestClientProtocol {
    /// Uploads `url`'s bytes; returns the response.
    func upload(_ url: URL, kind: String, name: String? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        let data = try Data(contentsOf: url)
        let query = "kind=\(kind)" + (name.map { "&name=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" } ?? "")
        return try await execute(uri: "/v1/files?\(query)", method: .post, headers: headers, body: ByteBuffer(bytes: data))
    }

    func postJSON(_ uri: String, _ object: Any, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: headers.merging([.contentType: "application/json"]),
                          body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object)))
    }

    /// Polls the job until it is in a final state (or `timeout` passes).
    func waitForJob(_ id: String, timeout: Double = 120, headers: HTTPFields = [:]) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let job = try await execute(uri: "/v1/jobs/\(id)", method: .get, headers: headers).json
            if let state = job["state"] as? String, ["succeeded", "failed", "cancelled"].contains(state) { return job }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("job \(id) did not finish within \(timeout) s")
        return [:]
    }
}

extension HTTPFields {
    func merging(_ other: HTTPFields) -> HTTPFields {
        var merged = self
        for field in other { merged[field.name] = field.value }
        return merged
    }
}

/// sha256 hex of a file, independently of the server (shasum).
func sha256Hex(_ url: URL) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["sha256sum", url.path]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    p.waitUntilExit()
    return String(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64))
}
