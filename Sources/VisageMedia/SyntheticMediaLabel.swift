import Foundation
import VisageCore

/// A machine-readable mark that a file was altered by Visage: a PNG `tEXt` chunk, a JPEG `COM`
/// segment, or container metadata for videos. The text names the IPTC digital source type for
/// composites with synthetic elements, which content-provenance tools look for.
public enum SyntheticMediaLabel {
    public static let digitalSourceType = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeSynthetic"

    public static func text(operation: String) -> String {
        "synthetic-media: altered by Visage (\(operation)); DigitalSourceType=\(digitalSourceType)"
    }

    /// The encoded image with the label embedded (PNG and JPEG; other formats are returned unchanged).
    public static func embed(_ label: String, in encoded: Data) -> Data {
        let bytes = [UInt8](encoded)
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), bytes.count > 33 {
            // tEXt right after IHDR (8-byte signature + 25-byte IHDR chunk).
            let payload = Array("Comment".utf8) + [0] + Array(label.utf8)
            var chunk = withUnsafeBytes(of: UInt32(payload.count).bigEndian) { Array($0) }
            let typed = Array("tEXt".utf8) + payload
            chunk += typed
            chunk += withUnsafeBytes(of: crc32(typed).bigEndian) { Array($0) }
            return Data(bytes[0..<33] + chunk + bytes[33...])
        }
        if bytes.starts(with: [0xFF, 0xD8]) {
            let text = Array(label.utf8.prefix(65000))
            let length = UInt16(text.count + 2)
            let segment: [UInt8] = [0xFF, 0xFE, UInt8(length >> 8), UInt8(length & 0xFF)] + text
            return Data(bytes[0..<2] + segment + bytes[2...])
        }
        return encoded
    }

    /// Whether encoded image bytes carry a Visage label.
    public static func isLabelled(_ data: Data) -> Bool {
        data.range(of: Data("synthetic-media: altered by Visage".utf8)) != nil
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }
}

extension ImageIO {
    /// Encodes by extension, embeds the synthetic-media label, and writes atomically.
    public static func writeLabelled(_ image: Image, to path: String, operation: String, quality: Int? = nil) throws {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        guard ["png", "jpg", "jpeg", "bmp", "webp", "tif", "tiff"].contains(ext) else {
            throw VisageError.writeFailed(path: path, reason: "unknown image extension '.\(ext)' (use .png, .jpg, .bmp, .webp or .tiff)")
        }
        let encoded = try encode(image, format: ext, quality: quality)
        try AtomicFile.write(SyntheticMediaLabel.embed(SyntheticMediaLabel.text(operation: operation), in: encoded), to: URL(fileURLWithPath: path))
    }
}
