import Foundation
import Hummingbird
import NIOCore

/// The web UI: plain HTML, CSS and JavaScript modules under `Web/`, compiled into the binary
/// (SwiftPM `embedInCode` resources), so `visage serve` stays one file to copy and the portable
/// bundle needs nothing beside it. The pages call the public API only, with the same token rules.
enum WebUI {
    struct Asset: Sendable {
        var type: String
        var bytes: [UInt8]
    }

    /// Asset name (as `/ui/NAME` serves it) → content. A fixed table: nothing here reads the disk.
    static let assets: [String: Asset] = [
        "index.html": Asset(type: "text/html; charset=utf-8", bytes: PackageResources.index_html),
        "app.css": Asset(type: "text/css; charset=utf-8", bytes: PackageResources.app_css),
        "app.js": Asset(type: "text/javascript; charset=utf-8", bytes: PackageResources.app_js),
        "api.js": Asset(type: "text/javascript; charset=utf-8", bytes: PackageResources.api_js),
        "swap.js": Asset(type: "text/javascript; charset=utf-8", bytes: PackageResources.swap_js),
        "au.js": Asset(type: "text/javascript; charset=utf-8", bytes: PackageResources.au_js),
        "live.js": Asset(type: "text/javascript; charset=utf-8", bytes: PackageResources.live_js),
        "jobs.js": Asset(type: "text/javascript; charset=utf-8", bytes: PackageResources.jobs_js),
        "system.js": Asset(type: "text/javascript; charset=utf-8", bytes: PackageResources.system_js),
    ]

    /// Same-origin only: scripts and styles from this server, media from it or from the page's own
    /// blobs (previews, webcam frames), sockets back to it.
    static let headers: HTTPFields = [
        .init("Content-Security-Policy")!: "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        .init("X-Content-Type-Options")!: "nosniff",
        .init("Referrer-Policy")!: "no-referrer",
        .cacheControl: "no-cache",
    ]

    static func response(_ name: String) throws -> Response {
        guard let asset = assets[name] else { throw APIError.notFound("page") }
        var headers = Self.headers
        headers[.contentType] = asset.type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }

    /// Paths the UI is served from; they hold no data, so a tokened server serves them without a
    /// token (the pages then ask for one and send it with every API call).
    static func isPublic(_ path: String) -> Bool { path == "/" || path.hasPrefix("/ui/") }
}

extension APIServer {
    func addWebRoutes(_ router: Router<ServerContext>) {
        router.get("/") { _, _ in try WebUI.response("index.html") }
        router.get("/ui/:asset") { _, context in try WebUI.response(try context.parameters.require("asset")) }
    }
}
