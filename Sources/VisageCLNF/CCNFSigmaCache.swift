import Foundation
import VisageCore

/// A folder where the response covariances Σ of `CCNFSigmas` persist across processes, one file per
/// (model, scale, view, window). Computing them is the largest part of a process's start-up (a Cholesky
/// inverse of up to 121×121 per landmark, ≈0.3 s of one core for the first detection); reading them back is
/// a few milliseconds.
///
/// A file is used only when everything checks out, otherwise Σ is computed again and the file rewritten:
/// - its format version is this build's,
/// - it was made from the same inputs: a checksum of everything Σ depends on (the window, each landmark's
///   visibility, Σα and betas, the file's sigma components) is stored in the header and compared, so a
///   changed or different model file never reuses another model's Σ,
/// - its bytes are intact: an XXH64 checksum of the whole file closes it (a truncated or corrupt file is rebuilt;
///   format 1 closed with a SHA-256, whose ≈ 1 ms per 4 MB file was a tenth of a start-up's work).
/// A verified file is mapped and its Σ used in place; they keep the mapping alive. Files are only ever
/// replaced by rename, never rewritten in place, so a mapped file's bytes cannot change under a reader.
/// Files are written to a temporary name and renamed, so concurrent processes never read half a file.
public struct CCNFSigmaCache: Sendable {
    public let folder: URL

    /// Bumped whenever the file layout or the Σ computation changes (3: the Σ floats start 64-byte aligned,
    /// so they are read in place from the mapped file).
    static let formatVersion: UInt32 = 3
    private static let magic = Array("VSGSIGMA".utf8)
    private static let headerSize = 64
    private static let checksumSize = 8

    public init(folder: URL) { self.folder = folder }

    /// The cache beside an installed OpenFace model (`<openFaceRoot>/.visage-cache/clnf-sigmas`), so removing
    /// the model removes it too.
    public static func beside(openFaceRoot: URL) -> CCNFSigmaCache {
        CCNFSigmaCache(folder: openFaceRoot.appendingPathComponent(".visage-cache/clnf-sigmas", isDirectory: true))
    }

    func url(model: String, scale: Int, view: Int, window: Int) -> URL {
        folder.appendingPathComponent("\(model)-s\(scale)-v\(view)-w\(window).sigma")
    }

    /// Checksum of everything Σ of one (scale, view, window) depends on, in a fixed little-endian layout: XXH64
    /// in the first 8 of the header's 32 digest bytes (format 1 stored a SHA-256, ≈ 10 ms of every start-up over
    /// the components of 25 keys; telling one model's inputs from another's needs no cryptographic hash).
    static func inputsDigest(experts: [CCNFPatchExpert], needed: [Bool], components: [[Float]], window: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + components.reduce(0) { $0 + 8 + 4 * $1.count } + experts.count * 64)
        func add<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        add(UInt32(formatVersion))
        add(Int64(window))
        add(Int64(experts.count))
        for (expert, isNeeded) in zip(experts, needed) {
            add(UInt8(isNeeded ? 1 : 0))
            guard isNeeded else { continue }
            add(expert.alphaSum.bitPattern)
            add(Int64(expert.betas.count))
            for beta in expert.betas { add(beta.bitPattern) }
        }
        add(Int64(components.count))
        for component in components {
            add(Int64(component.count))
            for value in component { add(value.bitPattern) }
        }
        var digest = [UInt8](repeating: 0, count: 32)
        withUnsafeBytes(of: XXHash64.hash(bytes).littleEndian) { digest.replaceSubrange(0..<8, with: $0) }
        return digest
    }

    /// Why a file was not used.
    enum Miss: Error, CustomStringConvertible {
        case absent
        case unusable(String)

        var description: String {
            switch self {
            case .absent: "no cached file"
            case .unusable(let reason): reason
            }
        }
    }

    /// The Σ of a file made from inputs with this digest; `needed[i]` says which landmarks have one. The file
    /// is mapped and its Σ read in place (they keep the mapping alive).
    func load(from url: URL, digest: [UInt8], needed: [Bool], positions: Int) -> Result<[CCNFSigma], Miss> {
        guard Self.isLittleEndianHost else { return .failure(.unusable("big-endian host")) }
        guard FileManager.default.fileExists(atPath: url.path) else { return .failure(.absent) }
        guard let file = MappedFile(path: url.path) else { return .failure(.unusable("unreadable")) }
        let raw = file.bytes
        let stride = CCNFSigma.stride(positions: positions)
        let present = needed.filter { $0 }.count
        let expectedSize = Self.bodyOffset(landmarks: needed.count) + present * positions * stride * 4 + Self.checksumSize
        guard raw.count == expectedSize else {
            return .failure(.unusable("\(raw.count) bytes, expected \(expectedSize) (truncated, or made for other inputs)"))
        }
        let body = UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - Self.checksumSize)])
        let stored = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: raw.count - Self.checksumSize, as: UInt64.self))
        guard XXHash64.hash(body) == stored else {
            return .failure(.unusable("checksum mismatch (corrupt file)"))
        }
        guard Array(raw[0..<8]) == Self.magic else { return .failure(.unusable("not a Σ cache file")) }
        let version = raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
        guard version == Self.formatVersion else {
            return .failure(.unusable("format version \(version), this build writes \(Self.formatVersion)"))
        }
        let count = Int(raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        let storedPositions = Int(raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
        let storedStride = Int(raw.loadUnaligned(fromByteOffset: 20, as: UInt32.self))
        guard count == needed.count, storedPositions == positions, storedStride == stride else {
            return .failure(.unusable("shape \(count)×\(storedPositions)/\(storedStride), expected \(needed.count)×\(positions)/\(stride)"))
        }
        guard Array(raw[24..<56]) == digest else { return .failure(.unusable("made from other model inputs")) }
        for i in 0..<count where (raw[Self.headerSize + i] != 0) != needed[i] {
            return .failure(.unusable("landmark \(i) visibility differs"))
        }
        var offset = Self.bodyOffset(landmarks: count)
        let floats = positions * stride
        var result = [CCNFSigma](repeating: .empty, count: count)
        for i in 0..<count where needed[i] {
            result[i] = CCNFSigma(mapped: file, offset: offset, count: floats, stride: stride)
            offset += floats * 4
        }
        return .success(result)
    }

    /// Where the Σ floats start: after the header and the per-landmark flags, padded to 64 bytes so every Σ
    /// is aligned in the mapping (its size is a multiple of 32 bytes).
    static func bodyOffset(landmarks: Int) -> Int { (headerSize + landmarks + 63) / 64 * 64 }

    /// Writes the Σ of one (scale, view, window) atomically, making the folder if needed.
    func store(_ sigmas: [CCNFSigma], digest: [UInt8], needed: [Bool], positions: Int, to url: URL) throws {
        guard Self.isLittleEndianHost else { return }
        let stride = CCNFSigma.stride(positions: positions)
        var data = Data(capacity: Self.bodyOffset(landmarks: needed.count) + needed.filter { $0 }.count * positions * stride * 4 + Self.checksumSize)
        data.append(contentsOf: Self.magic)
        for value in [Self.formatVersion, UInt32(needed.count), UInt32(positions), UInt32(stride)] {
            withUnsafeBytes(of: value) { data.append(contentsOf: $0) }
        }
        data.append(contentsOf: digest)
        data.append(contentsOf: [UInt8](repeating: 0, count: Self.headerSize - data.count))
        data.append(contentsOf: needed.map { $0 ? UInt8(1) : 0 })
        data.append(contentsOf: [UInt8](repeating: 0, count: Self.bodyOffset(landmarks: needed.count) - data.count))
        for (sigma, isNeeded) in zip(sigmas, needed) where isNeeded {
            precondition(sigma.count == positions * stride, "Σ of \(sigma.count) floats for \(positions) positions")
            sigma.withUnsafeBufferPointer { data.append(contentsOf: UnsafeRawBufferPointer($0)) }
        }
        let checksum = data.withUnsafeBytes { XXHash64.hash($0) }.littleEndian
        withUnsafeBytes(of: checksum) { data.append(contentsOf: $0) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(to: url) { try data.write(to: $0) }
    }

    private static let isLittleEndianHost = UInt32(1).littleEndian == 1
}
