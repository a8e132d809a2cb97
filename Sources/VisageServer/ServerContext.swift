import Crypto
import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of every route: the client the bearer token named ("local" on a server without
/// tokens), and the WebSocket handler reference the live socket needs.
public struct ServerContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<ServerContext>
    public var client = "local"

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
    }
}

/// Bearer tokens, compared in constant time: the presented token and every known one are hashed
/// (SHA-256) and compared byte by byte over the whole digest, against every client, so neither the
/// length nor the first differing byte nor which client matched shows in the time taken.
struct TokenAuthMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    private let clients: [(name: String, digest: [UInt8])]

    init(clients: [ServerConfiguration.Client]) {
        self.clients = clients.map { ($0.name, Self.digest($0.token)) }
    }

    static func digest(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

    /// Equal byte arrays of the same length, in time independent of where they differ.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    /// The client a token belongs to (nil: none).
    func client(for token: String) -> String? {
        let presented = Self.digest(token)
        var found: String?
        for client in clients where Self.constantTimeEqual(presented, client.digest) { found = client.name }
        return found
    }

    /// /v1/jobs/{id}/results/{name}
    static func isResultPath(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        return parts.count == 5 && parts[0] == "v1" && parts[1] == "jobs" && parts[3] == "results"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !clients.isEmpty, request.method != .options else { return try await next(request, context) }
        // The web UI's static files hold no data; its pages then send the token with every API call.
        if request.method == .get, WebUI.isPublic(request.uri.path) { return try await next(request, context) }
        var token: String?
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") {
            token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else if request.method == .get, request.uri.path.hasPrefix("/v1/live/") || Self.isResultPath(request.uri.path) {
            // Browsers cannot set headers on a WebSocket, an <img> or a <video>: the live routes and result
            // downloads also take ?access_token= (a video then plays while it downloads, with Range).
            token = request.uri.queryParameters.get("access_token")
        }
        guard let token, let name = client(for: token) else {
            var error = APIError(.unauthorized, "unauthorized", token == nil
                ? "this server needs a bearer token: send Authorization: Bearer <token>"
                : "the bearer token is not one this server knows")
            error.headers[.wwwAuthenticate] = "Bearer realm=\"visage\""
            throw error
        }
        var context = context
        context.client = name
        return try await next(request, context)
    }
}

/// Request durations by method and status class, into the server's metrics.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let metrics: ServerMetrics

    /// /v1/jobs/{id}/results/{name}
    static func isResultPath(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        return parts.count == 5 && parts[0] == "v1" && parts[1] == "jobs" && parts[3] == "results"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.request(method: request.method.rawValue, status: response.status.code, seconds: (ContinuousClock.now - start).seconds)
            return response
        } catch {
            let status = (error as? HTTPResponseError)?.status.code ?? 500
            metrics.request(method: request.method.rawValue, status: status, seconds: (ContinuousClock.now - start).seconds)
            throw error
        }
    }
}

/// Errors the routes and Hummingbird throw, answered as the API's JSON errors with paths scrubbed.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let scrubber: PathScrubber

    /// /v1/jobs/{id}/results/{name}
    static func isResultPath(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        return parts.count == 5 && parts[0] == "v1" && parts[1] == "jobs" && parts[3] == "results"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return try Self.apiError(error, scrubber: scrubber).response(from: request, context: context)
        }
    }

    static func apiError(_ error: Error, scrubber: PathScrubber) -> APIError {
        switch error {
        case let error as HTTPError:
            // Hummingbird's own (no such route, body too large): the same JSON shape.
            if error.status == .notFound && error.body == nil { return APIError(.notFound, "no_route", "no such route") }
            let code = error.status == .contentTooLarge ? "too_large" : "http_error"
            var api = APIError(error.status, code, scrubber.scrub(error.body ?? error.status.reasonPhrase))
            api.headers = error.headers
            return api
        default:
            return APIError.from(error, scrubber: scrubber)
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
