import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VisageJobs
import VisageLive
@testable import VisageServer

@Suite struct SettingsAndModelsTests {
    /// The mode changes at run time, is kept across restarts, and decides how new jobs run.
    @Test func performanceModeChangesAtRunTimeAndIsKept() async throws {
        let config = try ServerFixtures.configuration()
        let server = try APIServer(configuration: config, modelStore: ServerFixtures.modelStore, models: ServerFixtures.models)
        try server.start()
        try await server.application().test(.router) { client in
            let now = try await client.execute(uri: "/v1/settings", method: .get).json
            #expect(now["mode"] as? String == "balanced")
            #expect((now["modes"] as? [String: String])?["battery"]?.contains("CPU only") == true)
            let put = try await client.execute(uri: "/v1/settings", method: .put, headers: [.contentType: "application/json"],
                                               body: ByteBuffer(string: "{\"mode\": \"battery\"}"))
            #expect(put.status == .ok && put.json["mode"] as? String == "battery")
            let bad = try await client.execute(uri: "/v1/settings", method: .put, headers: [.contentType: "application/json"],
                                               body: ByteBuffer(string: "{\"mode\": \"turbo\"}"))
            #expect(bad.status == .badRequest && bad.errorField == "mode", "\(bad.text)")
        }
        #expect(server.settings.jobSession.accelerator == .cpu && server.settings.jobSession.intraOpThreads == 1)
        server.stop()
        let again = try APIServer(configuration: config, modelStore: ServerFixtures.modelStore, models: ServerFixtures.models)
        #expect(again.settings.mode == .battery, "kept in the database")
        var forced = config
        forced.mode = .performance
        #expect(try APIServer(configuration: forced, modelStore: ServerFixtures.modelStore, models: ServerFixtures.models).settings.mode == .performance)
        let shared = ServerSettings.jobSession(base: .init(), mode: LiveMode.balanced, maxJobs: 2)
        #expect(shared.intraOpThreads >= 1, "two jobs at once share the cores")
        #expect(ServerSettings.jobSession(base: .init(), mode: LiveMode.balanced, maxJobs: 1).intraOpThreads == 0, "one job: every core, as the CLI")
    }

    /// The model list, and installs: an unknown id is 404, a licence that must be accepted is 403 until it is.
    @Test func listsAndInstallsModels() async throws {
        let server = try ServerFixtures.server()
        defer { server.stop() }
        try await server.application().test(.router) { client in
            let list = try await client.execute(uri: "/v1/models", method: .get).json
            let models = try #require(list["models"] as? [[String: Any]])
            #expect(models.contains { $0["id"] as? String == "yunet-2023mar" && $0["installed"] as? Bool == true })
            let unknown = try await client.postJSON("/v1/models/no-such-model/install", [:])
            #expect(unknown.status == .notFound && unknown.errorCode == "unknown_model", "\(unknown.text)")
            let licensed = try await client.postJSON("/v1/models/openface-2.2.0/install", [:])
            #expect(licensed.status == .forbidden && licensed.errorCode == "license_not_accepted" && licensed.errorMessage.contains("accept_license"),
                    "\(licensed.text)")
            let installed = try await client.postJSON("/v1/models/yunet-2023mar/install", ["accept_license": false])
            #expect(installed.status == .ok && installed.json["installed"] as? Bool == true, "\(installed.text)")
        }
    }
}
