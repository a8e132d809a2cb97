import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
@testable import VisageServer

@Suite struct OpenAPITests {
    /// The router's routes are exactly the document's operations (paths as OpenAPI writes them).
    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() throws {
        let server = try ServerFixtures.server()
        defer { server.stop() }
        let routes = Set(server.router().routes.map { route -> String in
            let path = "\(route.path)".split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            return "\(route.method.rawValue) /\(path)"
        })
        let documented = Set(OpenAPIDocument.operations().map { "\($0.method.uppercased()) \($0.path)" })
        #expect(routes.count >= 19, "\(routes.sorted())")
        #expect(routes.subtracting(documented).isEmpty, "routes missing from the document: \(routes.subtracting(documented).sorted())")
        #expect(documented.subtracting(routes).isEmpty, "documented but not routed: \(documented.subtracting(routes).sorted())")
        #expect(OpenAPIDocument.operations().allSatisfy { !$0.summary.isEmpty })
        #expect(try OpenAPIDocument.text().hasPrefix("openapi: 3.1.0"))
    }

    /// Every documented operation answers — with its data or its own error, never "no such route".
    @Test func everyDocumentedOperationAnswers() async throws {
        let server = try ServerFixtures.server()
        defer { server.stop() }
        try await server.application().test(.router) { client in
            let file = try #require(try await client.upload(ServerFixtures.sample("obama.jpg"), kind: "image").json["id"] as? String)
            let job = try #require(try await client.postJSON("/v1/jobs", ["kind": "analyze", "inputs": ["input": file]]).json["id"] as? String)
            _ = try await client.waitForJob(job)
            let ids = ["{id}": job]
            for operation in OpenAPIDocument.operations() {
                var uri = operation.path.replacingOccurrences(of: "{name}", with: "draw.png")
                uri = uri.hasPrefix("/v1/files/") ? uri.replacingOccurrences(of: "{id}", with: file)
                    : uri.hasPrefix("/v1/models/") ? uri.replacingOccurrences(of: "{id}", with: "yunet-2023mar")
                    : uri.replacingOccurrences(of: "{id}", with: ids["{id}"]!)
                let method = HTTPRequest.Method(operation.method.uppercased())!
                let body: ByteBuffer? = method == .put ? ByteBuffer(string: "{\"mode\":\"balanced\"}") : method == .post ? ByteBuffer(string: "{}") : nil
                let r = try await client.execute(uri: uri, method: method, headers: [.contentType: "application/json"], body: body)
                #expect(r.errorCode != "no_route", "\(operation) → \(r.status)")
                #expect(r.status.code < 500, "\(operation) → \(r.status) \(r.text)")
            }
            let unknown = try await client.execute(uri: "/v2/nothing", method: .get)
            #expect(unknown.status == .notFound && unknown.errorCode == "no_route")
            let page = try await client.execute(uri: "/docs", method: .get)
            #expect(page.text.contains("/v1/jobs/{id}/events") && page.text.contains("<table>"))
        }
    }
}
