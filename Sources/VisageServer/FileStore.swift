import Crypto
import Foundation
import VisageCore
import VisageMedia

/// The data directory's files: uploads stored by content (files/<sha256>.<ext>), each job's results
/// (results/<job id>/), and partial uploads (tmp/, emptied at start-up). Paths are made here from ids
/// only; nothing a client sends becomes part of a path.
public struct FileStore: Sendable {
    public let root: URL
    public var files: URL { root.appendingPathComponent("files", isDirectory: true) }
    public var results: URL { root.appendingPathComponent("results", isDirectory: true) }
    public var temporary: URL { root.appendingPathComponent("tmp", isDirectory: true) }

    public init(root: URL) throws {
        self.root = root.standardizedFileURL
        for dir in [self.root, files, results, temporary] {
            do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
                throw VisageError.writeFailed(path: dir.path, reason: AtomicFile.describe(error))
            }
        }
        // Uploads that were arriving when the process stopped are incomplete.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? [] {
            try? FileManager.default.removeItem(at: temporary.appendingPathComponent(name))
        }
    }

    /// An upload id: 64 lowercase hex digits (sha256).
    public static func isFileID(_ text: Substring) -> Bool { text.count == 64 && text.allSatisfy { $0.isHexDigit && !$0.isUppercase } }
    /// A job id: a lowercase UUID.
    public static func isJobID(_ text: Substring) -> Bool {
        text.count == 36 && text.allSatisfy { ($0.isHexDigit && !$0.isUppercase) || $0 == "-" }
    }
    /// A result name as the server makes them: "output.png", "plot.png".
    public static func isResultName(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 2 && (1...32).contains(parts[0].count) && (1...8).contains(parts[1].count)
            && text.allSatisfy { ($0.isLetter && $0.isASCII && $0.isLowercase) || $0.isNumber || $0 == "." || $0 == "-" }
    }

    public func path(of file: FileRecord) -> URL { files.appendingPathComponent("\(file.id).\(file.ext)") }
    public func resultDirectory(job id: String) -> URL { results.appendingPathComponent(id, isDirectory: true) }

    /// Size in bytes of everything under `url` (a file or a folder).
    public static func diskSize(_ url: URL) -> Int64 {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { return 0 }
        if !isDir.boolValue { return ((try? FileManager.default.attributesOfItem(atPath: url.path)[.size]) as? NSNumber)?.int64Value ?? 0 }
        let names = (try? FileManager.default.subpathsOfDirectory(atPath: url.path)) ?? []
        return names.reduce(0) { $0 + diskSize(url.appendingPathComponent($1)) }
    }
}

/// An upload being written: streamed to a temporary file and hashed as it arrives, so the body is never
/// whole in memory; refused (and removed) the moment it passes its limit.
final class UploadWriter: @unchecked Sendable {
    let url: URL
    let limit: Int64
    private let handle: FileHandle
    private var hasher = SHA256()
    private(set) var size: Int64 = 0
    private(set) var head = Data()
    private var closed = false

    init(directory: URL, limit: Int64) throws {
        url = directory.appendingPathComponent("upload-\(UUID().uuidString)")
        self.limit = limit
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw VisageError.writeFailed(path: url.path, reason: "cannot create the upload's temporary file")
        }
        handle = try FileHandle(forWritingTo: url)
    }

    /// Appends a chunk; false (and nothing written) once the limit is passed.
    func append(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
        size += Int64(bytes.count)
        guard size <= limit else { return false }
        hasher.update(bufferPointer: bytes)
        if head.count < 64 * 1024 { head.append(contentsOf: bytes.prefix(64 * 1024 - head.count)) }
        try handle.write(contentsOf: bytes)
        return true
    }

    /// The content's sha256, hex; closes the file.
    func finish() throws -> String {
        try close()
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    func close() throws {
        guard !closed else { return }
        closed = true
        try handle.close()
    }

    func discard() {
        try? close()
        try? FileManager.default.removeItem(at: url)
    }
}

/// What an upload turned out to be, from its content (never from its name).
struct CheckedContent {
    var format: String
    var ext: String
    var width: Int
    var height: Int
}

/// Checks an upload's content before it is accepted: images by their header (known format, sane size)
/// and a full decode; videos by opening them and decoding the first frame.
enum ContentCheck {
    static let imageFormats: [String: String] = ["jpeg": "jpg", "png": "png", "bmp": "bmp", "webp": "webp"]

    static func image(at url: URL, head: Data) throws -> CheckedContent {
        guard let header = ImageHeader.parse(head) else {
            throw APIError(.unprocessableContent, "invalid_file", "the upload is not an image Visage reads (JPEG, PNG, BMP or WebP): its first bytes are no image header")
        }
        guard let ext = imageFormats[header.format] else {
            throw APIError(.unprocessableContent, "invalid_file", "\(header.format.uppercased()) images are not supported; upload JPEG, PNG, BMP or WebP")
        }
        if header.width > 0 && header.height > 0 && header.width * header.height > ImageIO.maxPixels {
            throw APIError(.unprocessableContent, "invalid_file", "the image claims \(header.width)x\(header.height) pixels, more than the \(ImageIO.maxPixels)-pixel limit")
        }
        let image: Image
        do { image = try ImageIO.read(url.path) } catch let error as VisageError {
            throw APIError(.unprocessableContent, "invalid_file", "the upload is not a valid image: " + Self.reason(error))
        }
        return CheckedContent(format: header.format, ext: ext, width: image.width, height: image.height)
    }

    static func video(at url: URL, name: String) throws -> CheckedContent {
        do {
            let reader = try VideoReader(path: url.path)
            guard try reader.read() != nil else {
                throw APIError(.unprocessableContent, "invalid_file", "the video has no frame that decodes")
            }
            let given = URL(fileURLWithPath: name).pathExtension.lowercased()
            let ext = MediaKind.videoExtensions.contains(given) ? given : "mp4"
            return CheckedContent(format: "video", ext: ext, width: reader.width, height: reader.height)
        } catch let error as VisageError {
            throw APIError(.unprocessableContent, "invalid_file", "the upload is not a video Visage can read: " + Self.reason(error))
        }
    }

    /// The library's reason without the temporary path it names.
    static func reason(_ error: VisageError) -> String {
        switch error {
        case .invalidImage(_, let reason), .invalidVideo(_, let reason), .unreadable(_, let reason): return reason
        case .imageTooLarge(_, let w, let h, let limit): return "it claims \(w)x\(h) pixels, more than the \(limit)-pixel limit"
        case .emptyFile: return "it is empty"
        default: return error.description
        }
    }

    /// The client's name as metadata (never a path): no control characters, at most 255 characters.
    static func displayName(_ raw: String?) -> String {
        guard let raw, !raw.isEmpty else { return "upload" }
        let cleaned = String(raw.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) })
        return String(cleaned.prefix(255))
    }
}
