import Foundation
import VisageCore

/// Files named by a shell-style pattern: `*`, `?` and `[...]` within a name, `**` for any number of folders
/// (`videos/**/*.mp4`). A pattern without wildcards names one file.
public enum BatchGlob {
    /// The matching files (not folders), sorted; hidden names only when the pattern spells the dot.
    public static func files(matching pattern: String) throws -> [String] {
        guard !pattern.isEmpty else { throw VisageError.invalidArgument("the input pattern is empty") }
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let firstWild = parts.firstIndex(where: hasWildcard)
        guard let firstWild else {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: pattern, isDirectory: &isDir) else { throw VisageError.fileNotFound(path: pattern) }
            if isDir.boolValue {
                throw VisageError.invalidArgument("\(pattern) is a folder; give a pattern for its files, e.g. '\(pattern)/*.mp4' or '\(pattern)/**/*.mp4'")
            }
            return [pattern]
        }
        let root = parts[..<firstWild].joined(separator: "/")
        let rest = Array(parts[firstWild...])
        var found: [String] = []
        walk(root.isEmpty ? (pattern.hasPrefix("/") ? "/" : "") : root, rest, into: &found)
        return found.sorted()
    }

    /// The folder part of a pattern before its first wildcard (`videos` for `videos/**/*.mp4`): `{dir}` in an
    /// output template is an input's folder below it.
    public static func root(of pattern: String) -> String {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let firstWild = parts.firstIndex(where: hasWildcard) else { return URL(fileURLWithPath: pattern).deletingLastPathComponent().relativePath }
        return parts[..<firstWild].joined(separator: "/")
    }

    static func hasWildcard(_ part: String) -> Bool { part.contains { "*?[".contains($0) } }

    private static func walk(_ base: String, _ parts: [String], into found: inout [String]) {
        guard let part = parts.first else { return }
        let rest = Array(parts.dropFirst())
        let folder = base.isEmpty ? "." : base
        func join(_ name: String) -> String { base.isEmpty ? name : (base.hasSuffix("/") ? base + name : base + "/" + name) }
        if part == "**" {
            // Zero folders, then every folder below (not hidden ones).
            walk(base, rest, into: &found)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where !name.hasPrefix(".") && isFolder(join(name)) {
                walk(join(name), parts, into: &found)
            }
            return
        }
        let names = hasWildcard(part) ? ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []) : [part]
        for name in names where matches(name, part) {
            let path = join(name)
            if rest.isEmpty {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue { found.append(path) }
            } else if isFolder(path) {
                walk(path, rest, into: &found)
            }
        }
    }

    private static func isFolder(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    /// fnmatch(3) on one name; a leading dot must be matched by a dot in the pattern.
    static func matches(_ name: String, _ pattern: String) -> Bool {
        fnmatch(pattern, name, FNM_PERIOD) == 0
    }
}

/// An output path with placeholders, filled per item: `csv/{stem}.csv`, `out/{source_name}-{target_name}{ext}`.
///
/// - `{stem}` the input's name without extension, `{name}` with it, `{ext}` its extension with the dot,
///   `{extension}` without it, `{dir}` its folder below the pattern's fixed part (`a/b` for
///   `videos/a/b/x.mp4` and `videos/**/*.mp4`; empty for a file directly in it), `{index}` the item's number
///   from 0.
/// - Swap items: `{source_name}` and `{target_name}` (names without extension, as FaceFusion's batch-run
///   spells them), `{target_extension}`; the plain ones above describe the target.
public struct BatchOutputTemplate: Sendable, Equatable {
    public let template: String
    public static let placeholders = ["stem", "name", "ext", "extension", "dir", "index", "source_name", "target_name", "target_extension"]

    public init(_ template: String, allowed: [String] = BatchOutputTemplate.placeholders) throws {
        guard !template.isEmpty else { throw VisageError.invalidArgument("the output template is empty") }
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw VisageError.invalidArgument("the output template \(template) has a '{' without its '}'")
            }
            let name = String(rest[rest.index(after: open)..<close])
            guard allowed.contains(name) else {
                throw VisageError.invalidArgument("the output template \(template) names {\(name)}; known: \(allowed.map { "{\($0)}" }.joined(separator: ", "))")
            }
            rest = rest[rest.index(after: close)...]
        }
        self.template = template
    }

    /// Whether the template names anything that differs from input to input.
    public var isPerInput: Bool { Self.placeholders.contains { template.contains("{\($0)}") } }

    public func render(_ values: [String: String]) -> String {
        var out = template
        for (key, value) in values { out = out.replacingOccurrences(of: "{\(key)}", with: value) }
        // An empty {dir} leaves "csv//x.csv": one folder, as meant.
        while out.contains("//") { out = out.replacingOccurrences(of: "//", with: "/") }
        return out
    }

    /// The placeholders of one input file found under `root`.
    public static func values(for path: String, root: String, index: Int) -> [String: String] {
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension
        let folder = url.deletingLastPathComponent().standardizedFileURL.path
        let base = URL(fileURLWithPath: root.isEmpty ? "." : root).standardizedFileURL.path
        var dir = folder.hasPrefix(base) ? String(folder.dropFirst(base.count)) : ""
        while dir.hasPrefix("/") { dir.removeFirst() }
        return ["stem": url.deletingPathExtension().lastPathComponent, "name": url.lastPathComponent, "ext": ext.isEmpty ? "" : "." + ext,
                "extension": ext, "dir": dir, "index": String(index)]
    }
}

/// Builds manifests from patterns: every input a pattern names becomes an item of one kind with the same
/// options, and its output path comes from a template. Two items that would write one file are refused.
public enum BatchManifestBuilder {
    /// `kind` items for each file of `inputs`; `make` gives the job of one input and its output.
    public static func items(kind: String, inputs pattern: String, output template: BatchOutputTemplate,
                             make: (_ input: String, _ output: String) throws -> any BatchItemJob) throws -> [BatchItem] {
        let files = try BatchGlob.files(matching: pattern)
        guard !files.isEmpty else { throw VisageError.invalidArgument("no file matches \(pattern)") }
        let root = BatchGlob.root(of: pattern)
        var items: [BatchItem] = []
        for (k, file) in files.enumerated() {
            items.append(BatchItem(kind: kind, job: try make(file, template.render(BatchOutputTemplate.values(for: file, root: root, index: k)))))
        }
        try checkDistinct(items)
        return items
    }

    /// Swap items: every source photo onto every target (sources outer, targets inner).
    public static func swapItems(sources sourcePattern: String, targets targetPattern: String, output template: BatchOutputTemplate,
                                 make: (_ source: String, _ target: String, _ output: String) throws -> SwapJob) throws -> [BatchItem] {
        let sources = try BatchGlob.files(matching: sourcePattern)
        let targets = try BatchGlob.files(matching: targetPattern)
        guard !sources.isEmpty else { throw VisageError.invalidArgument("no file matches \(sourcePattern)") }
        guard !targets.isEmpty else { throw VisageError.invalidArgument("no file matches \(targetPattern)") }
        let root = BatchGlob.root(of: targetPattern)
        var items: [BatchItem] = []
        for source in sources {
            for target in targets {
                var values = BatchOutputTemplate.values(for: target, root: root, index: items.count)
                values["source_name"] = URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent
                values["target_name"] = values["stem"]
                values["target_extension"] = values["extension"]
                items.append(BatchItem(kind: "swap", job: try make(source, target, template.render(values))))
            }
        }
        try checkDistinct(items)
        return items
    }

    /// Refuses a template that sends two items to one output (it would be overwritten).
    static func checkDistinct(_ items: [BatchItem]) throws {
        var seen: [String: Int] = [:]
        for (k, item) in items.enumerated() {
            guard let output = item.job.batchOutputs.first else { continue }
            let key = URL(fileURLWithPath: output).standardizedFileURL.path
            if let first = seen[key] {
                throw VisageError.invalidArgument("items \(first + 1) and \(k + 1) would both write \(output) (\(item.job.batchInputs.first ?? "")); put {dir}, {stem} or {index} in the output template")
            }
            seen[key] = k
        }
    }

    /// `path` as a manifest in `manifestFolder` should hold it: relative to that folder when it lies below it,
    /// absolute otherwise (manifest paths are relative to the manifest's folder).
    public static func manifestPath(_ path: String, manifestFolder: URL) -> String {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let base = manifestFolder.standardizedFileURL.path
        let prefix = base.hasSuffix("/") ? base : base + "/"
        return absolute.hasPrefix(prefix) ? String(absolute.dropFirst(prefix.count)) : absolute
    }
}
