import Foundation
import Hummingbird
import NIOCore
import VisageCore
import VisageMedia

/// An uploaded file as the API shows it.
struct FileInfo: Encodable, Sendable {
    var id: String
    var kind: String
    var format: String
    var size: Int64
    var width: Int
    var height: Int
    /// The client's file name: metadata only.
    var name: String
    var createdAt: String
    enum CodingKeys: String, CodingKey { case id, kind, format, size, width, height, name; case createdAt = "created_at" }

    init(_ file: FileRecord) {
        id = file.id; kind = file.kind; format = file.format; size = file.size; width = file.width; height = file.height; name = file.name
        createdAt = JobStatus.time(file.createdAt)
    }
}

extension APIServer {
    func addFileRoutes(_ router: Router<ServerContext>) {
        router.post("/v1/files") { request, context in try await self.upload(request, context: context) }
        router.get("/v1/files/:id") { _, context in
            let id = try context.parameters.require("id")
            guard FileStore.isFileID(Substring(id)), let file = try self.store.file(id) else { throw APIError.notFound("file") }
            return try self.json(FileInfo(file))
        }
    }

    /// `POST /v1/files?kind=image|video&name=NAME`, the bytes as the body. The declared length is
    /// checked against the kind's limit before anything is read (413); the body is streamed to a
    /// temporary file while it is hashed; the content is checked (422) before it is stored as
    /// files/<sha256>.<ext>. The same content uploaded twice is stored once.
    func upload(_ request: Request, context: ServerContext) async throws -> Response {
        let query = request.uri.queryParameters
        let name = ContentCheck.displayName(query.get("name") ?? request.headers[.init("X-File-Name")!])
        let type = request.headers[.contentType]?.lowercased() ?? ""
        let kindText = query.get("kind")?.lowercased()
            ?? (type.hasPrefix("image/") ? "image" : type.hasPrefix("video/") ? "video" : MediaKind.of(name)?.rawValue)
        guard let kindText, let kind = MediaKind(rawValue: kindText) else {
            throw APIError.badRequest("say what the upload is: ?kind=image or ?kind=video (or an image/* or video/* Content-Type)", field: "kind")
        }
        let limit = kind == .image ? configuration.maxImageUpload : configuration.maxVideoUpload
        if let declared = request.headers[.contentLength].flatMap({ Int64($0) }), declared > limit {
            throw Self.tooLarge(kind: kind, limit: limit)
        }
        let writer = try UploadWriter(directory: files.temporary, limit: limit)
        do {
            try await Self.withTimeout(configuration.uploadTimeout, what: "the upload") {
                for try await chunk in request.body {
                    let accepted = try chunk.withUnsafeReadableBytes { try writer.append($0) }
                    if !accepted { throw Self.tooLarge(kind: kind, limit: limit) }
                }
            }
            guard writer.size > 0 else { throw APIError(.unprocessableContent, "invalid_file", "the upload is empty") }
            let sha = try writer.finish()
            let head = writer.head
            let url = writer.url
            let checked = try await self.offLoop {
                kind == .image ? try ContentCheck.image(at: url, head: head) : try ContentCheck.video(at: url, name: name)
            }
            let now = Date().timeIntervalSince1970
            var record = FileRecord(id: sha, kind: kind.rawValue, ext: checked.ext, size: writer.size, name: name, format: checked.format,
                                    width: checked.width, height: checked.height, createdAt: now, lastUsed: now)
            let destination = files.path(of: record)
            if let existing = try store.file(sha), FileManager.default.fileExists(atPath: files.path(of: existing).path) {
                writer.discard()
                record = existing
                record.lastUsed = now
                try store.touch(sha, at: now)
            } else {
                try? FileManager.default.removeItem(at: destination)
                do { try FileManager.default.moveItem(at: url, to: destination) } catch {
                    throw VisageError.writeFailed(path: destination.path, reason: AtomicFile.describe(error))
                }
                try store.save(record)
                logger.info("server: stored upload \(sha.prefix(12)) (\(kind.rawValue), \(record.size) bytes) for \(context.client)")
            }
            return try json(FileInfo(record), status: .created, headers: [.location: "/v1/files/\(sha)"])
        } catch {
            writer.discard()
            throw error
        }
    }

    static func tooLarge(kind: MediaKind, limit: Int64) -> APIError {
        APIError(.contentTooLarge, "too_large", "\(kind.rawValue) uploads are limited to \(limit / 1_048_576) MB on this server (--max-upload)")
    }

    /// Runs `body`, giving up with 408 after `seconds` (a client that sends too slowly).
    static func withTimeout(_ seconds: Double, what: String, _ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await body(); return true }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                return false
            }
            let first = try await group.next()!
            group.cancelAll()
            if !first { throw APIError(.requestTimeout, "timeout", "\(what) did not arrive within \(Int(seconds)) s") }
        }
    }
}
