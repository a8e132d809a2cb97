import Foundation
import VisageCore

/// Width and height read from an image file's header without decoding it, so that a file
/// claiming 60000x60000 pixels is refused before anything is allocated.
public struct ImageHeader: Equatable, Sendable {
    public var format: String
    public var width: Int
    public var height: Int

    /// Parses PNG, JPEG, GIF, BMP and WebP headers. Returns nil for other or unrecognised data.
    public static func parse(_ data: Data) -> ImageHeader? {
        let b = [UInt8](data.prefix(64 * 1024))
        func be16(_ i: Int) -> Int { i + 1 < b.count ? Int(b[i]) << 8 | Int(b[i + 1]) : -1 }
        func le16(_ i: Int) -> Int { i + 1 < b.count ? Int(b[i]) | Int(b[i + 1]) << 8 : -1 }
        func be32(_ i: Int) -> Int { i + 3 < b.count ? be16(i) << 16 | be16(i + 2) : -1 }
        func le32(_ i: Int) -> Int { i + 3 < b.count ? le16(i) | le16(i + 2) << 16 : -1 }

        if b.starts(with: [0x89, 0x50, 0x4E, 0x47]), b.count >= 24 {
            return ImageHeader(format: "png", width: be32(16), height: be32(20))
        }
        if b.starts(with: [0x47, 0x49, 0x46, 0x38]), b.count >= 10 {
            return ImageHeader(format: "gif", width: le16(6), height: le16(8))
        }
        if b.starts(with: [0x42, 0x4D]), b.count >= 26 {
            return ImageHeader(format: "bmp", width: le32(18), height: abs(Int(Int32(truncatingIfNeeded: le32(22)))))
        }
        if b.count >= 30, b.starts(with: Array("RIFF".utf8)), Array(b[8..<12]) == Array("WEBP".utf8) {
            let chunk = String(decoding: b[12..<16], as: UTF8.self)
            switch chunk {
            case "VP8X": return ImageHeader(format: "webp", width: 1 + (Int(b[24]) | Int(b[25]) << 8 | Int(b[26]) << 16),
                                             height: 1 + (Int(b[27]) | Int(b[28]) << 8 | Int(b[29]) << 16))
            case "VP8 ": return ImageHeader(format: "webp", width: le16(26) & 0x3FFF, height: le16(28) & 0x3FFF)
            case "VP8L":
                let bits = le32(21)
                return ImageHeader(format: "webp", width: (bits & 0x3FFF) + 1, height: ((bits >> 14) & 0x3FFF) + 1)
            default: return nil
            }
        }
        if b.starts(with: [0xFF, 0xD8]) {
            // Walk JPEG segments to the first start-of-frame marker.
            var i = 2
            while i + 9 < b.count {
                guard b[i] == 0xFF else { i += 1; continue }
                let marker = b[i + 1]
                if marker == 0xFF { i += 1; continue }
                if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }
                let length = be16(i + 2)
                if (0xC0...0xCF).contains(marker), marker != 0xC4, marker != 0xC8, marker != 0xCC {
                    return ImageHeader(format: "jpeg", width: be16(i + 7), height: be16(i + 5))
                }
                guard length >= 2 else { return nil }
                i += 2 + length
            }
            return ImageHeader(format: "jpeg", width: -1, height: -1)   // SOF beyond what we read: let the decoder decide
        }
        return nil
    }
}
