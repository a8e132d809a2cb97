import CVisageOpenCV
import Foundation
import VisageCore

/// Reading and writing still images, with the checks that turn every bad file into a clear error.
public enum ImageIO {
    /// Largest image we agree to decode (pixels). 2^28 ≈ 268 Mpx ≈ 16384 x 16384; OpenCV's own cap is 2^30.
    public static let maxPixels = 1 << 28

    /// How colour is delivered.
    public enum Mode: Int32, Sendable {
        case color = 0      // 3-channel BGR (alpha dropped, grey expanded), as cv::imread's default
        case gray = 1
        case unchanged = 2
    }

    /// Checks that `path` names a non-empty regular file and returns its size.
    @discardableResult
    public static func checkReadableFile(_ path: String) throws -> UInt64 {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw VisageError.fileNotFound(path: path) }
        guard !isDir.boolValue else { throw VisageError.notAFile(path: path) }
        guard FileManager.default.isReadableFile(atPath: path) else { throw VisageError.unreadable(path: path, reason: "permission denied") }
        let size = UInt64(max(0, FileStat(path: path)?.size ?? 0))
        guard size > 0 else { throw VisageError.emptyFile(path: path) }
        return size
    }

    /// Decodes an image file (BGR by default).
    public static func read(_ path: String, mode: Mode = .color) throws -> Image {
        let size = try checkReadableFile(path)
        guard size < 1 << 31 else { throw VisageError.invalidImage(path: path, reason: "file is \(size) bytes, larger than any image we accept") }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw VisageError.unreadable(path: path, reason: "\(error.localizedDescription)")
        }
        return try decode(data, mode: mode, name: path)
    }

    /// Decodes an image held in memory (uploads, network frames).
    public static func decode(_ data: Data, mode: Mode = .color, name: String = "<memory>") throws -> Image {
        guard !data.isEmpty else { throw VisageError.emptyFile(path: name) }
        try checkHeader(data, path: name)
        try checkComplete(data, path: name)
        var err = vcv_error()
        let decoded = data.withUnsafeBytes { raw in
            vcv_decode_memory(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, mode.rawValue, &err)
        }
        guard let decoded else { throw decodeError(err, path: name) }
        return OpenCVBridge.adopt(decoded)
    }

    /// Encodes by the path's extension and writes atomically (temp file, then rename).
    /// - Parameter quality: JPEG/WebP quality 0-100; nil keeps OpenCV's default.
    public static func write(_ image: Image, to path: String, quality: Int? = nil) throws {
        let url = URL(fileURLWithPath: path)
        guard ["png", "jpg", "jpeg", "bmp", "webp", "tif", "tiff"].contains(url.pathExtension.lowercased()) else {
            throw VisageError.writeFailed(path: path, reason: "unknown image extension '.\(url.pathExtension)' (use .png, .jpg, .bmp, .webp or .tiff)")
        }
        try AtomicFile.write(to: url) { temp in
            try OpenCVBridge.call("writing \(path)") { err in
                _ = image.withView { vcv_encode_file(temp.path, $0, Int32(quality ?? -1), &err) }
            }
        }
    }

    /// Encodes to memory. `format` is an extension such as "png" or "jpg".
    public static func encode(_ image: Image, format: String, quality: Int? = nil) throws -> Data {
        var pointer: UnsafeMutablePointer<UInt8>? = nil
        var length = 0
        try OpenCVBridge.call("encoding \(format)") { err in
            _ = image.withView { vcv_encode_memory("." + format, $0, Int32(quality ?? -1), &pointer, &length, &err) }
        }
        defer { vcv_free(pointer) }
        guard let pointer else { return Data() }
        return Data(bytes: pointer, count: length)
    }

    static func checkHeader(_ head: Data, path: String) throws {
        guard let header = ImageHeader.parse(head) else { return }   // unknown to us: OpenCV may still know it
        if header.width == 0 || header.height == 0 {
            throw VisageError.invalidImage(path: path, reason: "header says \(header.width)x\(header.height)")
        }
        if header.width > 0, header.height > 0, header.width * header.height > maxPixels {
            throw VisageError.imageTooLarge(path: path, width: header.width, height: header.height, limit: maxPixels)
        }
    }

    /// Decoders fill a truncated JPEG with grey and only warn; we refuse it instead.
    static func checkComplete(_ data: Data, path: String) throws {
        let bytes = [UInt8](data)
        if bytes.starts(with: [0xFF, 0xD8]) {
            var lastSOS = -1, lastEOI = -1
            var i = 2
            while i + 1 < bytes.count {
                if bytes[i] == 0xFF {
                    if bytes[i + 1] == 0xDA { lastSOS = i } else if bytes[i + 1] == 0xD9 { lastEOI = i }
                }
                i += 1
            }
            if lastSOS < 0 || lastEOI < lastSOS {
                throw VisageError.invalidImage(path: path, reason: "truncated JPEG (no end-of-image marker after the image data)")
            }
        } else if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            let tail = bytes.suffix(64)
            let iend: [UInt8] = Array("IEND".utf8)
            let found = tail.count >= 4 && (0...(tail.count - 4)).contains { Array(tail.dropFirst($0).prefix(4)) == iend }
            if !found { throw VisageError.invalidImage(path: path, reason: "truncated PNG (no IEND chunk)") }
        }
    }

    static func decodeError(_ err: vcv_error, path: String) -> VisageError {
        let message = withUnsafeBytes(of: err.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return .invalidImage(path: path, reason: message.isEmpty ? "cannot decode" : message)
    }
}
