import Foundation

/// The smallest Matroska stream that carries raw BGR frames *with their timestamps* to ffmpeg on
/// a pipe (raw video on a pipe has no timestamps, so ffmpeg would stamp frames at a nominal rate).
///
/// Layout: EBML header; a Segment of unknown size (a stream has no end known in advance); Info with
/// TimestampScale = 1 ns; one video track, CodecID "V_UNCOMPRESSED" whose ColourSpace FourCC
/// "BGR\u{18}" is the tag ffmpeg's raw decoder maps to bgr24; then one Cluster per frame holding
/// the frame's absolute time in nanoseconds and one SimpleBlock (relative time 0, keyframe).
/// A cluster per frame keeps every timestamp exact: a SimpleBlock's own offset is only 16 bits.
enum MatroskaRawStream {
    /// EBML header, Segment start, Info and Tracks for `width` × `height` BGR frames.
    /// `frameNanoseconds` becomes the track's DefaultDuration: without it the last frame has no
    /// duration, and a one-frame video ends up as an MP4 whose edit list shows nothing.
    static func header(width: Int, height: Int, frameNanoseconds: UInt64? = nil, writingApp: String = "visage") -> [UInt8] {
        let ebml = element(0x1A45DFA3,
                           unsigned(0x4286, 1) + unsigned(0x42F7, 1) + unsigned(0x42F2, 4) + unsigned(0x42F3, 8)
                           + element(0x4282, Array("matroska".utf8)) + unsigned(0x4287, 4) + unsigned(0x4285, 2))
        let segmentStart = id(0x18538067) + [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]   // unknown size
        let info = element(0x1549A966, unsigned(0x2AD7B1, 1)   // TimestampScale: 1 ns per tick
                           + element(0x4D80, Array(writingApp.utf8)) + element(0x5741, Array(writingApp.utf8)))
        let video = element(0xE0, unsigned(0xB0, UInt64(width)) + unsigned(0xBA, UInt64(height))
                            + element(0x2EB524, [0x42, 0x47, 0x52, 0x18]))   // ColourSpace "BGR" 24
        let duration = frameNanoseconds.map { unsigned(0x23E383, max(1, $0)) } ?? []
        let track = element(0xAE, unsigned(0xD7, 1) + unsigned(0x73C5, 1) + unsigned(0x83, 1) + unsigned(0x9C, 0)
                            + duration + element(0x86, Array("V_UNCOMPRESSED".utf8)) + video)
        return ebml + segmentStart + info + element(0x1654AE6B, track)
    }

    /// The bytes that go before one frame's `frameBytes` pixel bytes: a Cluster with its
    /// Timestamp, and the SimpleBlock header of track 1.
    static func frameHeader(nanoseconds: UInt64, frameBytes: Int) -> [UInt8] {
        let timestamp = unsigned(0xE7, nanoseconds)
        let blockHeader: [UInt8] = [0x81, 0x00, 0x00, 0x80]   // track 1, relative time 0, keyframe
        let blockSize = blockHeader.count + frameBytes
        let block = id(0xA3) + size8(UInt64(blockSize)) + blockHeader
        let clusterSize = timestamp.count + block.count + frameBytes
        return id(0x1F43B675) + size8(UInt64(clusterSize)) + timestamp + block
    }

    // EBML primitives ---------------------------------------------------------------------

    /// An element ID as stored (its length marker is part of the value).
    private static func id(_ value: UInt32) -> [UInt8] {
        let bytes = withUnsafeBytes(of: value.bigEndian) { Array($0) }
        return Array(bytes.drop { $0 == 0 })
    }

    /// A data size as an 8-byte variable-length integer (valid for any size below 2^56 - 1).
    private static func size8(_ value: UInt64) -> [UInt8] {
        [0x01] + withUnsafeBytes(of: value.bigEndian) { Array($0.dropFirst()) }
    }

    /// A data size in the fewest bytes.
    private static func size(_ value: Int) -> [UInt8] {
        for length in 1...8 where UInt64(value) < (UInt64(1) << (7 * UInt64(length))) - 1 {
            var bytes = withUnsafeBytes(of: UInt64(value).bigEndian) { Array($0.suffix(length)) }
            bytes[0] |= UInt8(0x80 >> (length - 1))
            return bytes
        }
        return size8(UInt64(value))
    }

    private static func element(_ elementID: UInt32, _ payload: [UInt8]) -> [UInt8] {
        id(elementID) + size(payload.count) + payload
    }

    /// An unsigned integer element in the fewest bytes (at least one).
    private static func unsigned(_ elementID: UInt32, _ value: UInt64) -> [UInt8] {
        let bytes = withUnsafeBytes(of: value.bigEndian) { Array($0.drop { $0 == 0 }) }
        return element(elementID, bytes.isEmpty ? [0] : bytes)
    }
}
