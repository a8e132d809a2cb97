import Foundation

/// `printf("%.Nf")` without the cost of `String(format:)` (≈1 µs a call; a 714-column row would
/// spend more time formatting than computing its AUs). The result is identical to C's fixed
/// notation, which is what OpenFace's `std::fixed << std::setprecision(N)` writes, including
/// "-0.00" for small negative values.
public enum FixedDecimal {
    private static let powers: [Double] = (0...9).map { pow(10, Double($0)) }

    public static func append(_ value: Double, decimals: Int, to out: inout [UInt8]) {
        precondition(decimals >= 0 && decimals <= 9)
        guard value.isFinite, abs(value) < 1e15 else {
            out.append(contentsOf: Array(String(format: "%.\(decimals)f", value).utf8))
            return
        }
        let scaled = abs(value) * powers[decimals]
        let floorPart = scaled.rounded(.down)
        // A product that lands on .5 may be a rounding artefact of the multiplication (or an exact
        // tie, which C rounds to even on the exact binary value): let the C library decide.
        if scaled - floorPart == 0.5 {
            out.append(contentsOf: Array(String(format: "%.\(decimals)f", value).utf8))
            return
        }
        let digits = UInt64(scaled.rounded(.toNearestOrEven))
        if value.sign == .minus { out.append(UInt8(ascii: "-")) }
        let divisor = UInt64(powers[decimals])
        appendUnsigned(digits / divisor, to: &out)
        if decimals > 0 {
            out.append(UInt8(ascii: "."))
            let start = out.count
            var fraction = digits % divisor
            for _ in 0..<decimals { out.append(UInt8(ascii: "0") + UInt8(fraction % 10)); fraction /= 10 }
            out[start...].reverse()
        }
    }

    public static func appendUnsigned(_ value: UInt64, to out: inout [UInt8]) {
        let start = out.count
        var v = value
        repeat { out.append(UInt8(ascii: "0") + UInt8(v % 10)); v /= 10 } while v > 0
        out[start...].reverse()
    }

    public static func appendInteger(_ value: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        appendUnsigned(UInt64(value.magnitude), to: &out)
    }

    public static func string(_ value: Double, decimals: Int) -> String {
        var out: [UInt8] = []
        append(value, decimals: decimals, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
