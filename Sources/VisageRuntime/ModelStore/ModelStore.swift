import Crypto
import Foundation
import Logging
import VisageCore

enum VisageErrorBridge {
    static func unknownModel(_ id: String, known: [String]) -> VisageError { .unknownModel(id: id, known: known) }
}

/// Installs, verifies and locates model files in a per-user cache
/// ($VISAGE_MODEL_DIR, else $XDG_CACHE_HOME/visage/models or ~/Library/Caches/visage/models).
/// With VISAGE_MODEL_MIRROR=<dir> files are copied from a local folder laid out like shared/models
/// instead of being downloaded.
public struct ModelStore: Sendable {
    public var root: URL
    public var mirror: URL?
    public var acceptLicenses: Bool
    /// Install a missing model when it is asked for. Off everywhere but test fixtures: jobs never install
    /// (a missing model is `VisageError.modelNotInstalled`, which each front end words its own way), and
    /// the front ends install what a job needs before running it (`requiredModels`).
    public var installsMissing = false
    private static let logger = VisageLog.logger("models")

    public init(root: URL? = nil, mirror: URL? = nil, acceptLicenses: Bool? = nil) {
        let env = ProcessInfo.processInfo.environment
        self.root = root
            ?? env["VISAGE_MODEL_DIR"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0, isDirectory: true) }
            ?? Platform.userCacheDirectory.appendingPathComponent("visage/models", isDirectory: true)
        self.mirror = mirror ?? env["VISAGE_MODEL_MIRROR"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0, isDirectory: true) }
        self.acceptLicenses = acceptLicenses ?? ["1", "true", "yes"].contains((env["VISAGE_ACCEPT_LICENSES"] ?? "").lowercased())
    }

    /// Where rewritten copies of models (GraphRewrite) are cached.
    public var derivedDirectory: URL { root.appendingPathComponent(".derived", isDirectory: true) }

    public func directory(for entry: ModelEntry) -> URL { root.appendingPathComponent(entry.id, isDirectory: true) }
    public func location(of file: ModelFile, in entry: ModelEntry) -> URL { directory(for: entry).appendingPathComponent(file.path) }

    /// Installed means every file is present with the recorded size (hashes were checked at install;
    /// `verify` re-checks them). An unpinned file counts when its size matches the one recorded at install.
    public func isInstalled(_ entry: ModelEntry) -> Bool {
        entry.files.allSatisfy { file in
            // One stat() per file: FileManager's attributes also look up the owner's and group's names.
            let size = FileStat(path: location(of: file, in: entry).path)?.size
            if file.isPinned { return size == file.size }
            guard let recorded = recordedHash(of: file, in: entry) else { return false }
            return size == recorded.size
        }
    }

    /// Where the hash of an unpinned file's first installed copy is kept: `<file>.sha256` beside it,
    /// one line `<sha256> <bytes>`.
    public func recordLocation(of file: ModelFile, in entry: ModelEntry) -> URL {
        location(of: file, in: entry).appendingPathExtension("sha256")
    }

    /// The sha256 and size recorded when an unpinned file was first installed.
    public func recordedHash(of file: ModelFile, in entry: ModelEntry) -> (sha256: String, size: Int64)? {
        guard let text = try? String(contentsOf: recordLocation(of: file, in: entry), encoding: .utf8) else { return nil }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count >= 2, parts[0].count == 64, let size = Int64(parts[1]) else { return nil }
        return (String(parts[0]), size)
    }

    /// Refuses a model whose licence must be accepted (OpenFace, CodeFormer) unless it was, with the
    /// licence text in the error. Loaders call it even for installed copies: having the file is not consent.
    public func checkLicense(_ entry: ModelEntry) throws {
        if entry.requiresAcceptance && !acceptLicenses {
            throw VisageError.licenseNotAccepted(id: entry.id, license: entry.license)
        }
    }

    /// Path of the installed model's main file, its files checked against their sha256 (cached by size and
    /// modification time, so a model is hashed once, not on every load). Never downloads unless
    /// `installsMissing`; a missing model is `VisageError.modelNotInstalled`.
    public func path(for id: String) throws -> String {
        let entry = try ModelCatalog.entry(id)
        try requireInstalled(entry)
        return location(of: entry.primaryFile, in: entry).path
    }

    /// The folder of an installed model with several files (OpenFace), checked like `path(for:)`.
    public func installedDirectory(for id: String) throws -> URL {
        let entry = try ModelCatalog.entry(id)
        try requireInstalled(entry)
        return directory(for: entry)
    }

    private func requireInstalled(_ entry: ModelEntry) throws {
        if !isInstalled(entry) {
            guard installsMissing else {
                throw VisageError.modelNotInstalled(id: entry.id, hint: "install it before running this")
            }
            try install(entry, progress: false)
        }
        try IntegrityCache(root: root).check(entry, store: self)
    }

    /// Downloads (or copies from the mirror), checks sha256 and moves each file into place atomically.
    public func install(_ entry: ModelEntry, force: Bool = false, progress: Bool = true) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: root.path, isDirectory: &isDir), !isDir.boolValue {
            throw VisageError.writeFailed(path: root.path, reason: "it is a file; the model folder must be a writable folder (set VISAGE_MODEL_DIR to choose another)")
        }
        do { try installFiles(entry, force: force, progress: progress) } catch let error as VisageError { throw error } catch {
            // Foundation's own errors (the model folder is a file, is not writable, the disk is full) in one line.
            throw VisageError.writeFailed(path: root.path, reason: "\(AtomicFile.describe(error)); the model folder must be a writable folder (set VISAGE_MODEL_DIR to choose another)")
        }
    }

    private func installFiles(_ entry: ModelEntry, force: Bool, progress: Bool) throws {
        try checkLicense(entry)
        if !force && isInstalled(entry) {
            Self.logger.info("\(entry.id) already installed in \(directory(for: entry).path)")
            return
        }
        if entry.nonCommercial || entry.licenseNotice {
            Self.logger.warning("licence of \(entry.id): \(entry.license)")
        }
        let source = mirror.map { "mirror \($0.path)" } ?? "official URLs"
        let pinned = entry.files.allSatisfy(\.isPinned)
        let size = pinned ? ByteFormat.string(entry.totalSize) : "size not published"
        Self.logger.info("installing \(entry.id) (\(entry.files.count) file\(entry.files.count == 1 ? "" : "s"), \(size)) from \(source)")
        for file in entry.files {
            let destination = location(of: file, in: entry)
            if !force, file.isPinned, FileStat(path: destination.path)?.size == file.size { continue }
            try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            let staged = try stage(file, entry: entry, progress: progress)
            defer { try? FileManager.default.removeItem(at: staged) }
            let actual = try Self.sha256(of: staged)
            if file.isPinned {
                guard actual == file.sha256 else {
                    throw VisageError.checksumMismatch(path: file.path, expected: file.sha256, actual: actual)
                }
            } else if let recorded = recordedHash(of: file, in: entry), recorded.sha256 != actual {
                // A reinstall must bring the bytes the first install recorded, or a swapped file goes unnoticed.
                throw VisageError.checksumMismatch(path: file.path, expected: recorded.sha256 + " (recorded at first install in \(recordLocation(of: file, in: entry).path))", actual: actual)
            }
            try AtomicFile.write(to: destination) { temp in try FileManager.default.copyItem(at: staged, to: temp) }
            IntegrityCache(root: root).markGood([(destination, file.isPinned ? file.sha256 : actual)])
            if !file.isPinned {
                let size = (try FileManager.default.attributesOfItem(atPath: destination.path)[.size] as? NSNumber)?.int64Value ?? 0
                let record = recordLocation(of: file, in: entry)
                try AtomicFile.write(to: record) { temp in try Data("\(actual) \(size)\n".utf8).write(to: temp) }
                Self.logger.warning("\(entry.id)/\(file.path): no sha256 is published for this file; recorded sha256 \(actual) (\(size) bytes) in \(record.path). Compare it with the publisher's before trusting the model; later installs must match it")
            }
        }
        Self.logger.info("installed \(entry.id) in \(directory(for: entry).path) (\(pinned ? "sha256 verified" : "sha256 recorded, see the warning above"))")
    }

    /// Re-hashes every installed file. Returns one result per file.
    public func verify(_ entry: ModelEntry) -> [(file: ModelFile, status: VerifyStatus)] {
        entry.files.map { file in
            let url = location(of: file, in: entry)
            guard FileManager.default.fileExists(atPath: url.path) else { return (file, .missing) }
            guard let actual = try? Self.sha256(of: url) else { return (file, .missing) }
            // Unpinned files are checked against the hash recorded at their first install.
            guard let expected = file.isPinned ? file.sha256 : recordedHash(of: file, in: entry)?.sha256 else { return (file, .missing) }
            return (file, actual == expected ? .ok : .mismatch(actual: actual))
        }
    }

    public enum VerifyStatus: Equatable, Sendable {
        case ok, missing
        case mismatch(actual: String)
    }

    /// Puts the file's bytes in a temporary file (mirror copy, download, or zip extraction).
    private func stage(_ file: ModelFile, entry: ModelEntry, progress: Bool) throws -> URL {
        let staging = root.appendingPathComponent(".staging", isDirectory: true)
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        // Unique per install: two processes (or tests) may install the same model at once.
        let staged = staging.appendingPathComponent("\(entry.id)-\(UUID().uuidString.prefix(8))-\(URL(fileURLWithPath: file.path).lastPathComponent)")
        try? FileManager.default.removeItem(at: staged)
        if let mirror {
            let source = mirror.appendingPathComponent(file.mirrorPath)
            guard FileManager.default.fileExists(atPath: source.path) else {
                throw VisageError.modelNotInstalled(id: entry.id, hint: "VISAGE_MODEL_MIRROR=\(mirror.path) has no \(file.mirrorPath)")
            }
            try FileManager.default.copyItem(at: source, to: staged)
            return staged
        }
        guard !file.urls.isEmpty else {
            throw VisageError.modelNotInstalled(id: entry.id, hint: "it has no public download URL; set VISAGE_MODEL_MIRROR to a folder that has \(file.mirrorPath)")
        }
        var failures: [String] = []
        for url in file.urls {
            let isArchive = file.archiveMember != nil && url.hasSuffix(".zip")
            // Archives are kept after download: one buffalo zip serves several models.
            let downloadTarget = isArchive
                ? root.appendingPathComponent(".downloads/\(URL(string: url)?.lastPathComponent ?? "archive.zip")")
                : root.appendingPathComponent(".downloads/\(entry.id)-\(URL(fileURLWithPath: file.path).lastPathComponent)")   // stable name: resumable
            do {
                try FileManager.default.createDirectory(at: downloadTarget.deletingLastPathComponent(), withIntermediateDirectories: true)
                if !FileManager.default.fileExists(atPath: downloadTarget.path) {
                    try Downloader.download(url, to: downloadTarget, expectedSize: isArchive || !file.isPinned ? nil : file.size, showProgress: progress)
                }
                if let member = file.archiveMember, isArchive {
                    try ArchiveExtractor.extract(member: member, from: downloadTarget, to: staged)
                } else {
                    try FileManager.default.moveItem(at: downloadTarget, to: staged)
                }
                return staged
            } catch {
                failures.append("\(error)")
                if url != file.urls.last { Self.logger.warning("\(error); trying the next source") }
            }
        }
        throw VisageError.modelNotInstalled(id: entry.id, hint: "downloading it failed (\(failures.joined(separator: "; "))); without network, set VISAGE_MODEL_MIRROR to a local folder laid out like shared/models")
    }

    /// Streaming SHA-256 of a file, as lowercase hex.
    public static func sha256(of url: URL) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { throw VisageError.unreadable(path: url.path, reason: "cannot open") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk = handle.readData(ofLength: 4 << 20)
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

enum ByteFormat {
    static func string(_ bytes: Int64) -> String {
        let b = Double(bytes)
        if b >= 1_073_741_824 { return String(format: "%.1f GiB", b / 1_073_741_824) }
        if b >= 1_048_576 { return String(format: "%.1f MiB", b / 1_048_576) }
        if b >= 1024 { return String(format: "%.1f KiB", b / 1024) }
        return "\(bytes) B"
    }
}
