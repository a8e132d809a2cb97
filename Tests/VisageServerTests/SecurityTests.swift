import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VisageCore
@testable import VisageServer

@Suite struct SecurityTests {
    static let tokens = [ServerConfiguration.Client(name: "alice", token: "alice-token-0123456789"),
                         ServerConfiguration.Client(name: "bob", token: "bob-token-0123456789abc")]

    /// Another address than loopback without a token is refused at start-up, with the reason.
    @Test func refusesToListenBeyondLoopbackWithoutAToken() throws {
        var config = try ServerFixtures.configuration()
        config.host = "0.0.0.0"
        #expect(throws: VisageError.self) { try config.validate() }
        do { try config.validate() } catch { #expect("\(error)".contains("without a token") && "\(error)".contains("--token")) }
        config.clients = Self.tokens
        try config.validate()
        config.clients = [.init(name: "short", token: "abc")]
        #expect(throws: VisageError.self) { try config.validate() }
        for host in ["127.0.0.1", "localhost", "::1", "127.0.0.2"] { #expect(ServerConfiguration.isLoopback(host)) }
        #expect(!ServerConfiguration.isLoopback("192.168.1.5") && !ServerConfiguration.isLoopback("::"))
    }

    /// A tokened server answers 401 (with WWW-Authenticate) without a token or with a wrong one, and
    /// knows which client a right one belongs to.
    @Test func bearerTokensAreRequiredAndNameTheClient() async throws {
        let server = try ServerFixtures.server { $0.clients = Self.tokens }
        defer { server.stop() }
        try await server.application().test(.router) { client in
            let none = try await client.execute(uri: "/health", method: .get)
            #expect(none.status == .unauthorized && none.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true && none.errorCode == "unauthorized")
            let wrong = try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: "Bearer alice-token-0123456788"])
            #expect(wrong.status == .unauthorized)
            let basic = try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: "Basic YWxpY2U6eA=="])
            #expect(basic.status == .unauthorized)
            let query = try await client.execute(uri: "/v1/jobs?access_token=alice-token-0123456789", method: .get)
            #expect(query.status == .unauthorized, "query tokens only on the live routes and result downloads")
            let live = try await client.execute(uri: "/v1/live/\(UUID().uuidString.lowercased())/mjpeg?access_token=alice-token-0123456789", method: .get)
            #expect(live.status == .notFound, "authorised, then no such session")
            let bob: HTTPFields = [.authorization: "Bearer bob-token-0123456789abc"]
            let image = try #require(try await client.upload(ServerFixtures.sample("obama.jpg"), kind: "image", headers: bob).json["id"] as? String)
            let job = try await client.postJSON("/v1/jobs", ["kind": "analyze", "inputs": ["input": image]], headers: bob)
            #expect(job.status == .created && job.json["client"] as? String == "bob", "\(job.text)")
        }
    }

    @Test func tokensCompareInConstantTimeOverDigests() {
        let auth = TokenAuthMiddleware(clients: Self.tokens)
        #expect(auth.client(for: "alice-token-0123456789") == "alice")
        #expect(auth.client(for: "bob-token-0123456789abc") == "bob")
        #expect(auth.client(for: "alice-token-012345678") == nil)
        #expect(auth.client(for: "") == nil)
        #expect(TokenAuthMiddleware.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!TokenAuthMiddleware.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!TokenAuthMiddleware.constantTimeEqual([1, 2], [1, 2, 3]))
    }

    /// CORS is off unless an origin is given; then preflights and answers carry it.
    @Test func corsOnlyForTheOriginGiven() async throws {
        let closed = try ServerFixtures.server()
        defer { closed.stop() }
        try await closed.application().test(.router) { client in
            let r = try await client.execute(uri: "/health", method: .get, headers: [.origin: "https://evil.example"])
            #expect(r.headers[.accessControlAllowOrigin] == nil)
        }
        let open = try ServerFixtures.server { $0.corsOrigin = "https://ui.example" }
        defer { open.stop() }
        try await open.application().test(.router) { client in
            let preflight = try await client.execute(uri: "/v1/jobs", method: .options,
                                                     headers: [.origin: "https://ui.example", .accessControlRequestMethod: "POST"])
            #expect(preflight.headers[.accessControlAllowOrigin] == "https://ui.example", "\(preflight.headers)")
            let r = try await client.execute(uri: "/health", method: .get, headers: [.origin: "https://ui.example"])
            #expect(r.headers[.accessControlAllowOrigin] == "https://ui.example")
        }
    }

    /// Error texts never carry a path outside the data directory; paths inside it become relative.
    @Test func errorTextsCarryNoServerPaths() {
        let scrubber = PathScrubber(dataDirectory: URL(fileURLWithPath: "/srv/visage"))
        #expect(scrubber.scrub("cannot read /srv/visage/files/ab.jpg: truncated") == "cannot read files/ab.jpg: truncated")
        let scrubbed = scrubber.scrub("model '/home/alice/.cache/visage/models/x.onnx' is broken; see /usr/lib/libonnxruntime.so")
        #expect(!scrubbed.contains("/home/alice") && !scrubbed.contains("/usr/lib"), "\(scrubbed)")
        #expect(scrubbed.contains("x.onnx") && scrubbed.contains("libonnxruntime.so"), "\(scrubbed)")
        #expect(scrubber.scrub("detect-every must be from 1 to 100") == "detect-every must be from 1 to 100")
    }

    /// Range headers: the forms browsers send, and the ones that cannot be served.
    @Test func byteRanges() {
        #expect(APIServer.byteRange("bytes=0-99", size: 1000) == 0...99)
        #expect(APIServer.byteRange("bytes=900-", size: 1000) == 900...999)
        #expect(APIServer.byteRange("bytes=-100", size: 1000) == 900...999)
        #expect(APIServer.byteRange("bytes=990-2000", size: 1000) == 990...999)
        #expect(APIServer.byteRange("bytes=1000-", size: 1000) == nil)
        #expect(APIServer.byteRange("bytes=5-1", size: 1000) == nil)
        #expect(APIServer.byteRange("bytes=0-1,5-9", size: 1000) == nil)
        #expect(APIServer.byteRange("items=0-1", size: 1000) == nil)
    }
}
