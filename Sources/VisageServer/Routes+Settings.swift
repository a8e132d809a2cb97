import Foundation
import Hummingbird
import NIOCore
import VisageCore
import VisageJobs
import VisageLive
import VisageRuntime

/// `GET/PUT /v1/settings`.
struct SettingsBody: Codable, Sendable {
    var mode: LiveModeName
    /// What the mode means (read only).
    var modes: [String: String]?
}

/// `POST /v1/models/{id}/install`.
struct InstallBody: Decodable, Sendable {
    var acceptLicense = false
    enum CodingKeys: String, CodingKey { case acceptLicense = "accept_license" }
    init() {}
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        acceptLicense = try c.decodeIfPresent(Bool.self, forKey: .acceptLicense) ?? false
    }
}

extension APIServer {
    static let modeDescriptions: [String: String] = Dictionary(uniqueKeysWithValues: LiveMode.all.map { mode in
        (mode.name, "live: \(mode.maxWidth)x\(mode.maxHeight) at \(Int(mode.targetFPS)) fps, detect every \(mode.detectEvery) frames at \(mode.detectorSide) px\(mode.enhancer ? ", sharpened" : ""); jobs: \(mode.acceleratorAllowed ? "accelerator allowed" : "CPU only"), \(mode.threads == 0 ? "all cores" : "\(mode.threads) thread per model")")
    })

    func addSettingsAndModelRoutes(_ router: Router<ServerContext>) {
        router.get("/v1/settings") { _, _ in
            try self.json(SettingsBody(mode: self.settings.mode, modes: Self.modeDescriptions))
        }
        router.put("/v1/settings") { request, context in
            let data = try await self.jsonBody(request)
            let body: SettingsBody
            do { body = try JSONDecoder().decode(SettingsBody.self, from: data) } catch let error as DecodingError { throw Self.describe(error) }
            try await self.offLoop { try self.settings.setMode(body.mode) }
            self.live.follow(mode: body.mode)
            self.logger.info("server: performance mode set to \(body.mode.rawValue) by \(context.client); new jobs and live sessions follow it (\(self.live.count) session(s) restart in it)")
            return try self.json(SettingsBody(mode: self.settings.mode, modes: Self.modeDescriptions))
        }
        router.get("/v1/models") { _, _ in
            try self.json(try await self.offLoop { ModelListing.collect(store: self.modelStore) })
        }
        router.post("/v1/models/:id/install") { request, context in
            let id = try context.parameters.require("id")
            guard id.count <= 64, id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_" }) else {
                throw APIError.notFound("model")
            }
            let data = try await self.jsonBody(request)
            let body: InstallBody
            if data.isEmpty { body = InstallBody() } else {
                do { body = try JSONDecoder().decode(InstallBody.self, from: data) } catch let error as DecodingError { throw Self.describe(error) }
            }
            let entry = try ModelCatalog.entry(id)
            var store = self.modelStore
            if body.acceptLicense { store.acceptLicenses = true }
            if entry.requiresAcceptance && !store.acceptLicenses {
                throw APIError(.forbidden, "license_not_accepted",
                               "model '\(id)' is under a licence that must be accepted first: \(entry.license). Send {\"accept_license\": true} to accept it")
            }
            let client = context.client
            let installer = store
            try await self.offLoop {
                if entry.requiresAcceptance { self.logger.notice("server: licence of \(id) accepted by \(client): \(entry.license)") }
                try installer.install(entry, progress: false)
            }
            let listing = ModelListing.collect(store: self.modelStore).models.first { $0.id == id }
            return try self.json(listing)
        }
    }
}
