import Foundation

/// The API's contract: an OpenAPI 3.1 document written by hand (`OpenAPIDocument+Text.swift`), served
/// at `/openapi.yaml` and as a readable page at `/docs`. A test checks it against the router both ways:
/// every route is documented, and every documented operation answers.
///
/// Hand-written rather than generated: the generator's build plugin would add minutes to every clean
/// build, and the routes that matter most here (streamed uploads, Range downloads, server-sent events,
/// the WebSocket, MJPEG) are streams its typed handlers model awkwardly. The test keeps it honest.
public enum OpenAPIDocument {
    /// One documented operation.
    public struct Operation: Sendable, Equatable, CustomStringConvertible {
        public var method: String
        /// As OpenAPI writes it: /v1/jobs/{id}.
        public var path: String
        public var summary: String
        public var description: String { "\(method.uppercased()) \(path)" }
    }

    public static func text() throws -> String { yaml }

    /// The operations under `paths:` (a small reader of this document's own layout: paths indented two
    /// spaces, methods four, their `summary:` six).
    public static func operations() -> [Operation] { operations(in: yaml) }

    public static func operations(in text: String) -> [Operation] {
        var operations: [Operation] = []
        var inPaths = false
        var path: String?
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if !line.hasPrefix(" ") && !line.isEmpty { inPaths = line == "paths:"; continue }
            guard inPaths else { continue }
            let indent = line.prefix { $0 == " " }.count
            let content = line.trimmingCharacters(in: .whitespaces)
            if indent == 2, content.hasPrefix("/"), content.hasSuffix(":") {
                path = String(content.dropLast())
            } else if indent == 4, let path, content.hasSuffix(":"), methods.contains(String(content.dropLast())) {
                operations.append(Operation(method: String(content.dropLast()), path: path, summary: ""))
            } else if indent == 6, content.hasPrefix("summary:"), !operations.isEmpty {
                operations[operations.count - 1].summary = content.dropFirst("summary:".count).trimmingCharacters(in: .whitespaces)
            }
        }
        return operations
    }

    /// A readable page: the operations with their summaries, and the document itself.
    public static func page() throws -> String {
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        let rows = operations().map {
            "<tr><td><code>\($0.method.uppercased())</code></td><td><code>\(escape($0.path))</code></td><td>\(escape($0.summary))</td></tr>"
        }.joined(separator: "\n")
        return """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Visage API</title>
        <style>body{font:15px/1.5 system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em}td{padding:.2em .8em;vertical-align:top}
        pre{background:#f4f4f4;padding:1em;overflow:auto}code{font-size:90%}</style></head><body>
        <h1>Visage API</h1><p>The contract is the OpenAPI 3.1 document <a href="/openapi.yaml">/openapi.yaml</a> (below in full).
        Every output that alters a face carries a synthetic-media label.</p>
        <table>\(rows)</table><h2>Document</h2><pre>\(escape(yaml))</pre></body></html>
        """
    }
}
