import Foundation

/// Any JSON value: the options of a job request before they are decoded into the job's own type.
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            // Whole numbers go out as integers, so `Int` options decode from them.
            if n.rounded() == n, abs(n) < 1e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// Parses JSON text. Faster than decoding through `Decoder` (which tries each case in turn, throwing
    /// on every miss): a job's stored result can hold hundreds of thousands of values.
    public init(json data: Data) throws {
        self = Self.converting(try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]))
    }

    private static func converting(_ value: Any) -> JSONValue {
        switch value {
        case is NSNull: return .null
        case let text as String: return .string(text)
        // JSONSerialization gives booleans as NSNumbers of type "c" (char), numbers as "i", "q", "d"….
        case let number as NSNumber: return String(cString: number.objCType) == "c" ? .bool(number.boolValue) : .number(number.doubleValue)
        case let array as [Any]: return .array(array.map(converting))
        case let object as [String: Any]: return .object(object.mapValues(converting))
        default: return .null
        }
    }

    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
}
