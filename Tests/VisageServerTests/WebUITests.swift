import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
@testable import VisageServer

/// The web UI's files: served from the binary, same-origin only, no way out of the asset table, and
/// public on a tokened server while the API behind them still needs the token.
@Suite struct WebUITests {
    @Test func servesThePagesFromTheBinaryWithAStrictPolicy() async throws {
        let server = try ServerFixtures.server()
        defer { server.stop() }
        try await server.application().test(.router) { client in
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok && page.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(page.text.contains("<script type=\"module\" src=\"/ui/app.js\">"))
            let policy = try #require(page.headers[HTTPField.Name("Content-Security-Policy")!])
            #expect(policy.contains("default-src 'self'") && !policy.contains("unsafe-inline"))
            #expect(page.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            // Every module the pages import is served, as JavaScript.
            for name in ["app.js", "api.js", "swap.js", "au.js", "live.js", "jobs.js", "system.js"] {
                let r = try await client.execute(uri: "/ui/\(name)", method: .get)
                #expect(r.status == .ok && r.headers[.contentType]?.hasPrefix("text/javascript") == true, "\(name)")
                for imported in r.text.matches(of: /from '\.\/([a-z]+\.js)'/).map({ String($0.1) }) {
                    #expect(WebUI.assets[imported] != nil, "\(name) imports \(imported), which is not served")
                }
            }
            #expect(try await client.execute(uri: "/ui/app.css", method: .get).headers[.contentType]?.hasPrefix("text/css") == true)
            // Only the table's names: no files, no listings, no way up.
            for uri in ["/ui/", "/ui/..%2F..%2Fetc%2Fpasswd", "/ui/missing.js", "/ui/WebUI.swift"] {
                let r = try await client.execute(uri: uri, method: .get)
                #expect(r.status == .notFound, "\(uri) → \(r.status)")
                #expect(!r.text.contains("root:"))
            }
        }
    }

    @Test func aTokenedServerServesThePagesButNotTheAPIWithoutIt() async throws {
        let token = "web-ui-token-0123456789"
        let server = try ServerFixtures.server { $0.clients = [ServerConfiguration.Client(name: "browser", token: token)] }
        defer { server.stop() }
        try await server.application().test(.router) { client in
            #expect(try await client.execute(uri: "/", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/ui/api.js", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/v1/jobs", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/v1/jobs?access_token=\(token)", method: .get).status == .unauthorized,
                    "the query token is only for what a browser cannot send headers for")
            #expect(try await client.execute(uri: "/", method: .post).status != .ok)
            // Result downloads take the token in the query (an <img> or <video> sends no header).
            let auth: HTTPFields = [.authorization: "Bearer \(token)"]
            let file = try #require(try await client.upload(ServerFixtures.sample("obama.jpg"), kind: "image", headers: auth).json["id"] as? String)
            let job = try #require(try await client.postJSON("/v1/jobs", ["kind": "analyze", "inputs": ["input": file], "options": ["draw": true]],
                                                             headers: auth).json["id"] as? String)
            _ = try await client.waitForJob(job, headers: auth)
            let url = "/v1/jobs/\(job)/results/draw.png"
            #expect(try await client.execute(uri: url, method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "\(url)?access_token=wrong-token-0123456789", method: .get).status == .unauthorized)
            let image = try await client.execute(uri: "\(url)?access_token=\(token)", method: .get)
            #expect(image.status == .ok && image.headers[.contentType] == "image/png")
        }
    }
}
