import Foundation
import Hummingbird
import NIOCore
import VisageCore
import VisageJobs

/// An error the API answers with: a status and `{"error": {"code", "message", "field"?, "models"?}}`.
/// Messages never carry a file-system path outside the data directory (`PathScrubber`).
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var field: String?
    /// Models a job needs that are not installed.
    public var models: [String]?
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, field: String? = nil, models: [String]? = nil) {
        self.status = status; self.code = code; self.message = message; self.field = field; self.models = models
    }

    static func notFound(_ what: String) -> APIError { APIError(.notFound, "not_found", "\(what) not found") }
    static func badRequest(_ message: String, field: String? = nil) -> APIError { APIError(.badRequest, "bad_request", message, field: field) }

    struct Body: Encodable {
        struct Inner: Encodable {
            var code: String
            var message: String
            var field: String?
            var models: [String]?
        }
        var error: Inner
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = try JobJSON.data(Body(error: .init(code: code, message: message, field: field, models: models)), pretty: false)
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body + Data("\n".utf8))))
    }

    /// A library error as the API reports it: bad input 422 (400 for option values), missing models 409,
    /// anything else 500 — with paths outside `scrubber`'s data directory removed.
    static func from(_ error: Error, scrubber: PathScrubber) -> APIError {
        switch error {
        case let api as APIError:
            var copy = api
            copy.message = scrubber.scrub(api.message)
            return copy
        case let request as JobRequestError:
            return APIError(.badRequest, "invalid_field", scrubber.scrub(request.message), field: request.field)
        case let visage as VisageError:
            let text = scrubber.scrub(visage.description)
            switch visage {
            case .invalidArgument: return APIError(.badRequest, "invalid_option", text)
            case .fileNotFound, .notAFile, .emptyFile, .unreadable, .invalidImage, .imageTooLarge, .invalidVideo:
                return APIError(.unprocessableContent, "invalid_file", text)
            case .modelNotInstalled(let id, _): return APIError(.conflict, "models_missing", text, models: [id])
            case .licenseNotAccepted: return APIError(.forbidden, "license_not_accepted", text)
            case .unknownModel: return APIError(.notFound, "unknown_model", text)
            case .cancelled, .interrupted: return APIError(.conflict, "cancelled", text)
            default: return APIError(.internalServerError, "internal", text)
            }
        default:
            return APIError(.internalServerError, "internal", scrubber.scrub("\(error)"))
        }
    }
}

/// Removes file-system paths from texts that leave the server: paths inside the data directory become
/// relative to it ("files/ab12….jpg"), any other absolute path becomes its last component only.
public struct PathScrubber: Sendable {
    public let dataDirectory: String

    public init(dataDirectory: URL) { self.dataDirectory = dataDirectory.standardizedFileURL.path }

    /// Paths inside the data directory made relative to it (results as the API shows them).
    public func relative(_ text: String) -> String { text.replacingOccurrences(of: dataDirectory + "/", with: "") }

    public func scrub(_ text: String) -> String {
        var out = text.replacingOccurrences(of: dataDirectory + "/", with: "")
        out = out.replacingOccurrences(of: dataDirectory, with: ".")
        // Any absolute path left: keep only its last component.
        let pattern = try! NSRegularExpression(pattern: #"(?<![A-Za-z0-9:])/(?:[^\s/:'"`()]+/)+([^\s/:'"`()]*)"#)
        let range = NSRange(out.startIndex..., in: out)
        out = pattern.stringByReplacingMatches(in: out, range: range, withTemplate: "…/$1")
        return out
    }
}
