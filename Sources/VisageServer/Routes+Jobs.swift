import Foundation
import Hummingbird
import NIOCore
import VisageCore
import VisageJobs

/// A page of jobs.
struct JobList: Encodable, Sendable {
    var jobs: [JobStatus]
    var total: Int
    var nextOffset: Int?
    enum CodingKeys: String, CodingKey { case jobs, total; case nextOffset = "next_offset" }
}

extension APIServer {
    func addJobRoutes(_ router: Router<ServerContext>) {
        router.post("/v1/jobs") { request, context in
            let body = try await self.jsonBody(request)
            let jobRequest: JobRequest
            do { jobRequest = try JSONDecoder().decode(JobRequest.self, from: body) } catch let error as DecodingError {
                throw Self.describe(error)
            }
            let client = context.client
            let record = try await self.offLoop { try self.scheduler.submit(jobRequest, client: client) }
            return try self.json(JobStatus(record, files: self.files, position: self.scheduler.position(of: record.id)), status: .created,
                                 headers: [.location: "/v1/jobs/\(record.id)"])
        }
        router.get("/v1/jobs") { request, _ in
            let query = request.uri.queryParameters
            let state = try query.get("state").map { text -> JobState in
                guard let state = JobState(rawValue: text) else {
                    throw APIError.badRequest("state must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))", field: "state")
                }
                return state
            }
            let limit = try Self.intParameter(query.get("limit"), name: "limit", default: 50, range: 1...500)
            let offset = try Self.intParameter(query.get("offset"), name: "offset", default: 0, range: 0...Int(Int32.max))
            let page = try self.store.jobs(state: state, limit: limit, offset: offset)
            let jobs = page.jobs.map { JobStatus($0, files: self.files, position: $0.state == .queued ? self.scheduler.position(of: $0.id) : nil) }
            return try self.json(JobList(jobs: jobs, total: page.total, nextOffset: offset + jobs.count < page.total ? offset + jobs.count : nil))
        }
        router.get("/v1/jobs/:id") { _, context in
            let record = try self.job(context)
            return try self.json(JobStatus(record, files: self.files, position: record.state == .queued ? self.scheduler.position(of: record.id) : nil))
        }
        router.delete("/v1/jobs/:id") { request, context in
            let record = try self.job(context)
            if record.state.isFinal {
                // A finished job is removed with its results when asked for (?remove=true); the job's
                // uploads stay (other jobs may use them; retention removes them).
                guard request.uri.queryParameters.get("remove") == "true" else {
                    throw APIError(.conflict, "already_finished",
                                   "job \(record.id) has already \(record.state.rawValue); nothing to cancel (DELETE ?remove=true removes it and its results)")
                }
                let client = context.client
                try await self.offLoop {
                    guard try self.store.deleteFinished(record.id) else { return }
                    try? FileManager.default.removeItem(at: self.files.resultDirectory(job: record.id))
                    self.logger.info("server: job \(record.id) and its results removed by \(client)")
                }
                return Response(status: .noContent)
            }
            let updated = try await self.offLoop { try self.scheduler.cancel(record.id) } ?? record
            return try self.json(JobStatus(updated, files: self.files, position: nil), status: .accepted)
        }
        router.get("/v1/jobs/:id/events") { _, context in try self.events(try self.job(context)) }
        router.get("/v1/jobs/:id/results/:name") { request, context in
            let record = try self.job(context)
            let name = try context.parameters.require("name")
            guard FileStore.isResultName(Substring(name)), record.outputNames.contains(name) else { throw APIError.notFound("result '\(name.prefix(40))'") }
            guard !record.resultsRemoved else { throw APIError(.gone, "removed", "the results of job \(record.id) were removed by retention") }
            return try await self.download(self.files.resultDirectory(job: record.id).appendingPathComponent(name), name: name, job: record.id,
                                           request: request, context: context)
        }
    }

    func job(_ context: ServerContext) throws -> JobRecord {
        let id = try context.parameters.require("id")
        guard FileStore.isJobID(Substring(id)), let record = try store.job(id) else { throw APIError.notFound("job") }
        return record
    }

    /// A JSON body, at most `maxJSONBody` bytes (413 beyond).
    func jsonBody(_ request: Request) async throws -> Data {
        let limit = configuration.maxJSONBody
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError(.contentTooLarge, "too_large", "JSON bodies are limited to \(limit / 1024) KB")
        }
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch {
            throw APIError(.contentTooLarge, "too_large", "JSON bodies are limited to \(limit / 1024) KB")
        }
        return Data(buffer.readableBytesView)
    }

    /// 400 naming the field; a body that is not JSON at all says so.
    static func describe(_ error: DecodingError) -> APIError {
        if case .dataCorrupted(let context) = error, context.codingPath.isEmpty {
            let detail = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? context.debugDescription
            return APIError(.badRequest, "invalid_json", "the request body is not valid JSON: \(detail)", field: "body")
        }
        let field = JobRequestError(error, prefix: "")
        return APIError(.badRequest, "invalid_field", field.message, field: field.field)
    }

    static func intParameter(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text else { return value }
        guard let n = Int(text), range.contains(n) else {
            throw APIError.badRequest("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)", field: name)
        }
        return n
    }

    /// Server-sent events: the job's state now, then its progress and state changes until it ends.
    func events(_ record: JobRecord) throws -> Response {
        let follow = scheduler.events.follow(record.id)
        // Read again after following, so a change between the first read and following is not missed.
        let now = try store.job(record.id) ?? record
        let first = try JobEvent(name: "state", json: JobJSON.data(JobStatus(now, files: files, position: scheduler.position(of: now.id)), pretty: false),
                                 isFinal: now.state.isFinal)
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        let task = Task {
            continuation.yield(ByteBuffer(string: "retry: 2000\n\n" + first.wire))
            if !first.isFinal {
                for await event in follow {
                    continuation.yield(ByteBuffer(string: event.wire))
                    if event.isFinal { break }
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: .init(asyncSequence: stream))
    }

    /// A result file, whole or the byte range asked for (206), so a browser plays a video while it downloads.
    func download(_ url: URL, name: String, job: String, request: Request, context: ServerContext) async throws -> Response {
        let size = Int(FileStore.diskSize(url))
        guard size > 0 else { throw APIError.notFound("result '\(name)'") }
        var headers: HTTPFields = [.contentType: Self.contentType(of: name), .acceptRanges: "bytes",
                                   .contentDisposition: "inline; filename=\"visage-\(job.prefix(8))-\(name)\""]
        let io = FileIO()
        if let header = request.headers[.range] {
            guard let range = Self.byteRange(header, size: size) else {
                var error = APIError(.rangeNotSatisfiable, "bad_range", "the range \(header.prefix(60)) is outside the file's \(size) bytes")
                error.headers[.contentRange] = "bytes */\(size)"
                throw error
            }
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
            headers[.contentLength] = String(range.count)
            return Response(status: .partialContent, headers: headers, body: try await io.loadFile(path: url.path, range: range, context: context))
        }
        headers[.contentLength] = String(size)
        return Response(status: .ok, headers: headers, body: try await io.loadFile(path: url.path, context: context))
    }

    /// "bytes=a-b", "bytes=a-", "bytes=-n" (one range) → the inclusive byte range; nil when unsatisfiable.
    static func byteRange(_ header: String, size: Int) -> ClosedRange<Int>? {
        let text = header.trimmingCharacters(in: .whitespaces).lowercased()
        guard text.hasPrefix("bytes="), !text.contains(",") else { return nil }
        let parts = text.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, size > 0 else { return nil }
        if parts[0].isEmpty {
            guard let n = Int(parts[1]), n > 0 else { return nil }
            return max(0, size - n)...(size - 1)
        }
        guard let start = Int(parts[0]), start >= 0, start < size else { return nil }
        if parts[1].isEmpty { return start...(size - 1) }
        guard let end = Int(parts[1]), end >= start else { return nil }
        return start...min(end, size - 1)
    }

    static func contentType(of name: String) -> String {
        switch URL(fileURLWithPath: name).pathExtension.lowercased() {
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "mp4", "m4v": return "video/mp4"
        case "mov": return "video/quicktime"
        case "mkv": return "video/x-matroska"
        case "webm": return "video/webm"
        case "csv": return "text/csv; charset=utf-8"
        case "json": return "application/json"
        default: return "application/octet-stream"
        }
    }
}
