import Foundation
import VisageCore

/// Writes OpenFace FeatureExtraction's CSV, byte for byte in its number format.
///
/// Offline mode mirrors OpenFace's two passes (write every row, then rewrite the AU columns once
/// the person's final running median is known): rows without their AU columns are spooled to a
/// temporary file, so hours of video never sit in memory, and `finish` appends the post-processed
/// AUs. Nothing appears at the destination until `finish` succeeds (temporary file, then rename). The
/// spool is unlinked as soon as it is opened, so even a killed process leaves no rows file behind.
public final class OpenFaceCSVWriter {
    public enum AUMode: Sendable {
        /// AUs are final when the row is written (live input): `_r` with 2 decimals, `_c` with 1,
        /// as OpenFace's RecorderCSV writes them.
        case online
        /// AUs are supplied at `finish` (files): both with 2 decimals, as PostprocessOutputFile writes them.
        case offline
    }

    public let destination: URL
    public let layout: OpenFaceCSVLayout
    public let auMode: AUMode
    public private(set) var rowCount = 0

    private let temporary: URL
    /// Offline mode: the open, already unlinked spool of rows without their AU columns.
    private let spool: FileHandle?
    private var handle: FileHandle?
    private var buffer: [UInt8] = []
    private var finished = false

    public init(destination: URL, layout: OpenFaceCSVLayout, auMode: AUMode) throws {
        let dir = destination.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw VisageError.writeFailed(path: destination.path, reason: "directory \(dir.path) does not exist")
        }
        self.destination = destination
        self.layout = layout
        self.auMode = auMode
        temporary = AtomicFile.temporarySibling(of: destination)
        if auMode == .offline {
            let path = AtomicFile.temporarySibling(of: destination.appendingPathExtension("rows")).path
            guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forUpdatingAtPath: path) else {
                throw VisageError.writeFailed(path: destination.path, reason: "cannot create a temporary file in \(dir.path)")
            }
            unlink(path)
            spool = h
            handle = h
        } else {
            guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
                  let h = FileHandle(forWritingAtPath: temporary.path) else {
                throw VisageError.writeFailed(path: destination.path, reason: "cannot create a temporary file in \(dir.path)")
            }
            spool = nil
            handle = h
        }
        buffer.reserveCapacity(1 << 16)
        if auMode == .online {
            buffer.append(contentsOf: Array(layout.header.utf8))
            buffer.append(UInt8(ascii: "\n"))
        }
    }

    deinit { abandon() }

    /// Appends one row; returns its index (0-based, in append order) for `finish`'s lookup.
    @discardableResult
    public func append(_ record: OpenFaceRecord) throws -> Int {
        precondition(!finished, "append after finish")
        Self.appendPrefix(record, to: &buffer)
        if auMode == .online {
            Self.appendAUs(intensities: record.intensities, presences: record.presences,
                           intensityDecimals: 2, presenceDecimals: 1, to: &buffer)
        }
        buffer.append(UInt8(ascii: "\n"))
        rowCount += 1
        if buffer.count >= 1 << 16 { try flush() }
        return rowCount - 1
    }

    /// Completes the file and moves it to the destination. In offline mode `auValues(row)` gives
    /// the final AU intensities and presences of each row, in the layout's order.
    public func finish(auValues: ((Int) -> (intensities: [Double], presences: [Double]))? = nil) throws {
        precondition(!finished, "finish called twice")
        do {
            try flush()
            if let spool {
                guard let values = auValues else {
                    throw VisageError.invalidArgument("an offline OpenFace CSV needs its AU values at finish")
                }
                try rewrite(spool: spool, values: values)
            }
            try handle?.close()
            handle = nil
            guard rename(temporary.path, destination.path) == 0 else {
                throw VisageError.writeFailed(path: destination.path, reason: String(cString: strerror(errno)))
            }
            finished = true
        } catch {
            abandon()
            if let e = error as? VisageError { throw e }
            throw VisageError.writeFailed(path: destination.path, reason: "\(error)")
        }
    }

    /// Drops everything written so far (interrupted or failed runs leave nothing behind).
    public func abandon() {
        guard !finished else { return }
        finished = true
        try? handle?.close()
        handle = nil
        try? FileManager.default.removeItem(at: temporary)
    }

    private func flush() throws {
        guard !buffer.isEmpty, let handle else { return }
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    private func rewrite(spool input: FileHandle, values: (Int) -> (intensities: [Double], presences: [Double])) throws {
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
              let out = FileHandle(forWritingAtPath: temporary.path) else {
            throw VisageError.writeFailed(path: destination.path, reason: "cannot create a temporary file in \(temporary.deletingLastPathComponent().path)")
        }
        defer { try? out.close() }
        try input.seek(toOffset: 0)
        var result: [UInt8] = Array(layout.header.utf8)
        result.append(UInt8(ascii: "\n"))
        var row = 0
        var pending: [UInt8] = []
        while true {
            guard let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty else { break }
            var start = chunk.startIndex
            for i in chunk.indices where chunk[i] == UInt8(ascii: "\n") {
                pending.append(contentsOf: chunk[start..<i])
                result.append(contentsOf: pending)
                let au = values(row)
                Self.appendAUs(intensities: au.intensities, presences: au.presences,
                               intensityDecimals: 2, presenceDecimals: 2, to: &result)
                result.append(UInt8(ascii: "\n"))
                pending.removeAll(keepingCapacity: true)
                row += 1
                start = i + 1
            }
            pending.append(contentsOf: chunk[start..<chunk.endIndex])
            if result.count >= 1 << 16 {
                try out.write(contentsOf: result)
                result.removeAll(keepingCapacity: true)
            }
        }
        try out.write(contentsOf: result)
    }

    // MARK: Formatting (RecorderCSV's precisions)

    static func appendPrefix(_ r: OpenFaceRecord, to out: inout [UInt8]) {
        let comma = UInt8(ascii: ",")
        FixedDecimal.appendInteger(r.frame, to: &out); out.append(comma)
        FixedDecimal.appendInteger(r.faceID, to: &out); out.append(comma)
        FixedDecimal.append(r.timestamp, decimals: 3, to: &out); out.append(comma)
        FixedDecimal.append(r.confidence, decimals: 2, to: &out); out.append(comma)
        out.append(r.success ? UInt8(ascii: "1") : UInt8(ascii: "0"))
        func floats(_ values: ArraySlice<Float>, _ decimals: Int) {
            for v in values { out.append(comma); FixedDecimal.append(Double(v), decimals: decimals, to: &out) }
        }
        floats(r.gaze[0..<6], 6)
        floats(r.gaze[6..<8], 3)
        floats(r.eyeLandmarks2D[...], 1)
        floats(r.eyeLandmarks3D[...], 1)
        floats(r.pose[0..<3], 1)
        floats(r.pose[3..<6], 3)
        floats(r.landmarks2D[...], 1)
        floats(r.landmarks3D[...], 1)
        floats(r.globalParameters[...], 3)
        floats(r.localParameters[...], 3)
    }

    static func appendAUs(intensities: [Double], presences: [Double], intensityDecimals: Int, presenceDecimals: Int,
                          to out: inout [UInt8]) {
        for v in intensities { out.append(UInt8(ascii: ",")); FixedDecimal.append(v, decimals: intensityDecimals, to: &out) }
        for v in presences { out.append(UInt8(ascii: ",")); FixedDecimal.append(v, decimals: presenceDecimals, to: &out) }
    }
}
