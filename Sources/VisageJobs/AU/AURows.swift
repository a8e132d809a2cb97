import Foundation
import VisageAU

/// One CSV row as a JSON object (`visage au --jsonl`, the server's rows): frame, face id, timestamp,
/// success and every AU's intensity (`AUxx_r`) and presence (`AUxx_c`), with the CSV's own values.
public struct AURowRecord: Encodable, Sendable {
    public var frame: Int
    public var faceID: Int
    public var timestamp: Double
    public var success: Bool
    public var values: [(String, Double)]

    /// The rows of `persons`, in frame then face order, values rounded as the CSV writes them.
    public static func rows(_ persons: [AURecorder.PersonSeries], intensityNames: [String], presenceNames: [String]) -> [AURowRecord] {
        var rows: [AURowRecord] = []
        for p in persons {
            for i in p.timestamps.indices {
                var values: [(String, Double)] = []
                for (k, name) in intensityNames.enumerated() { values.append((name + "_r", csvValue(p.intensities[i][k], decimals: 2))) }
                for (k, name) in presenceNames.enumerated() { values.append((name + "_c", csvValue(p.presences[i][k], decimals: 0))) }
                rows.append(AURowRecord(frame: p.frames[i], faceID: p.faceID, timestamp: csvValue(p.timestamps[i], decimals: 3),
                                        success: p.success[i], values: values))
            }
        }
        return rows.sorted { ($0.frame, $0.faceID) < ($1.frame, $1.faceID) }
    }

    /// The number the CSV shows (FixedDecimal, as OpenFace prints it), read back.
    static func csvValue(_ value: Double, decimals: Int) -> Double {
        Double(FixedDecimal.string(value, decimals: decimals)) ?? value
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(frame, forKey: Key("frame"))
        try c.encode(faceID, forKey: Key("face_id"))
        try c.encode(timestamp, forKey: Key("timestamp"))
        try c.encode(success ? 1 : 0, forKey: Key("success"))
        for (name, value) in values { try c.encode(value, forKey: Key(name)) }
    }
}
