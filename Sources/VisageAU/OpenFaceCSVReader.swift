import Foundation
import VisageCore

/// An OpenFace CSV (FeatureExtraction, FaceLandmarkImg or one of ours) read into columns.
/// Accepts both `,` and the 2.2.0 Windows binaries' `, ` separators.
public struct OpenFaceCSVTable: Sendable {
    public let path: String
    public let columns: [String]
    /// Row-major values; non-numeric cells are NaN.
    public let values: [Double]
    public let rowCount: Int
    private let index: [String: Int]

    public init(contentsOf path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw VisageError.fileNotFound(path: path) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw VisageError.unreadable(path: path, reason: error.localizedDescription)
        }
        guard !data.isEmpty else { throw VisageError.emptyFile(path: path) }
        guard let text = String(data: data, encoding: .utf8) else {
            throw VisageError.unreadable(path: path, reason: "not UTF-8 text: is this an OpenFace CSV?")
        }
        var lines = text.split(whereSeparator: \.isNewline)
        guard !lines.isEmpty else { throw VisageError.emptyFile(path: path) }
        let header = lines.removeFirst().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var index: [String: Int] = [:]
        for (i, name) in header.enumerated() where index[name] == nil { index[name] = i }
        var values: [Double] = []
        values.reserveCapacity(lines.count * header.count)
        for (n, line) in lines.enumerated() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == header.count else {
                throw VisageError.unreadable(path: path, reason: "row \(n + 2) has \(cells.count) cells, the header has \(header.count)")
            }
            for cell in cells {
                values.append(Double(cell.trimmingCharacters(in: .whitespaces)) ?? .nan)
            }
        }
        columns = header
        self.values = values
        rowCount = lines.count
        self.index = index
    }

    public func has(_ column: String) -> Bool { index[column] != nil }

    public func columnIndex(_ name: String) throws -> Int {
        guard let i = index[name] else {
            throw VisageError.unreadable(path: path, reason: "no column \"\(name)\" (is this an OpenFace CSV with landmarks?)")
        }
        return i
    }

    public func value(row: Int, column: Int) -> Double { values[row * columns.count + column] }

    public func column(_ name: String) throws -> [Double] {
        let c = try columnIndex(name)
        return (0..<rowCount).map { value(row: $0, column: c) }
    }
}

/// 68-point landmarks per frame from an OpenFace CSV, for `--landmarks-from`: re-running the AU
/// stage on landmarks a researcher already has (and the exactness checks against OpenFace).
public struct OpenFaceLandmarkTrack: Sendable {
    public struct Entry: Sendable {
        public var frame: Int
        public var faceID: Int
        public var timestamp: Double
        public var confidence: Double
        public var success: Bool
        /// x_0…x_{n-1}, y_0…y_{n-1}.
        public var landmarks: [Float]
        /// The `p_*` columns (the landmark model's PDM fit) when the CSV has them.
        public var fit: PDMFit?
    }

    public let entries: [Entry]
    public let landmarkCount: Int

    public init(table: OpenFaceCSVTable) throws {
        var n = 0
        while table.has("x_\(n)") && table.has("y_\(n)") { n += 1 }
        guard n == 68 else {
            throw VisageError.unreadable(path: table.path, reason: "found \(n) landmark columns x_i/y_i; 68 are needed")
        }
        let xs = try (0..<n).map { try table.columnIndex("x_\($0)") }
        let ys = try (0..<n).map { try table.columnIndex("y_\($0)") }
        let frame = table.has("frame") ? try table.columnIndex("frame") : nil
        let face = table.has("face_id") ? try table.columnIndex("face_id") : (table.has("face") ? try table.columnIndex("face") : nil)
        let time = table.has("timestamp") ? try table.columnIndex("timestamp") : nil
        let confidence = table.has("confidence") ? try table.columnIndex("confidence") : nil
        let success = table.has("success") ? try table.columnIndex("success") : nil
        let globalNames = ["p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty"]
        var localCount = 0
        while table.has("p_\(localCount)") { localCount += 1 }
        let fitColumns: (global: [Int], local: [Int])? = globalNames.allSatisfy(table.has) && localCount > 0
            ? (try globalNames.map { try table.columnIndex($0) }, try (0..<localCount).map { try table.columnIndex("p_\($0)") })
            : nil
        entries = (0..<table.rowCount).map { r in
            var lm = [Float](repeating: 0, count: 2 * n)
            for i in 0..<n {
                lm[i] = Float(table.value(row: r, column: xs[i]))
                lm[n + i] = Float(table.value(row: r, column: ys[i]))
            }
            return Entry(frame: frame.map { Int(table.value(row: r, column: $0)) } ?? r + 1,
                         faceID: face.map { Int(table.value(row: r, column: $0)) } ?? 0,
                         timestamp: time.map { table.value(row: r, column: $0) } ?? 0,
                         confidence: confidence.map { table.value(row: r, column: $0) } ?? 1,
                         success: success.map { table.value(row: r, column: $0) != 0 } ?? true,
                         landmarks: lm,
                         fit: fitColumns.map { columns in
                             let g = columns.global.map { Float(table.value(row: r, column: $0)) }
                             return PDMFit(global: PDMGlobalParameters(scale: g[0], rx: g[1], ry: g[2], rz: g[3], tx: g[4], ty: g[5]),
                                           local: columns.local.map { Float(table.value(row: r, column: $0)) })
                         })
        }
        landmarkCount = n
    }

    public init(contentsOf path: String) throws {
        try self.init(table: OpenFaceCSVTable(contentsOf: path))
    }
}
