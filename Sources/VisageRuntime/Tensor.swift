import CONNXRuntime
import VisageCore

/// Element types we exchange with models (raw values are ONNX's TensorProto.DataType).
public enum ElementType: Int32, Sendable, CustomStringConvertible {
    case float32 = 1, uint8 = 2, int8 = 3, int32 = 6, int64 = 7, bool = 9, float16 = 10, float64 = 11

    public var byteSize: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .float16: return 2
        case .float32, .int32: return 4
        case .int64, .float64: return 8
        }
    }

    public var description: String {
        switch self {
        case .float32: return "float32"
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .int32: return "int32"
        case .int64: return "int64"
        case .bool: return "bool"
        case .float16: return "float16"
        case .float64: return "float64"
        }
    }
}

/// A dense tensor in CPU memory. The bytes are either Swift's (inputs we fill in place) or an
/// OrtValue's (outputs, read without copying); whichever owns them frees them in `deinit`.
public final class Tensor: @unchecked Sendable {
    public let elementType: ElementType
    public let shape: [Int]
    public let data: UnsafeMutableRawPointer
    public let byteCount: Int
    private let release: () -> Void

    public var elementCount: Int { shape.reduce(1, *) }

    /// A zero-filled tensor owned by Swift.
    public init(_ elementType: ElementType, shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "tensor dimensions must be known and non-negative")
        self.elementType = elementType
        self.shape = shape
        self.byteCount = shape.reduce(1, *) * elementType.byteSize
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
        self.data = pointer
        self.release = { pointer.deallocate() }
    }

    /// Wraps memory owned by someone else; `release` runs when the tensor goes away.
    init(_ elementType: ElementType, shape: [Int], data: UnsafeMutableRawPointer, byteCount: Int, release: @escaping () -> Void) {
        self.elementType = elementType
        self.shape = shape
        self.data = data
        self.byteCount = byteCount
        self.release = release
    }

    deinit { release() }

    public convenience init(floats: [Float], shape: [Int]) {
        precondition(floats.count == shape.reduce(1, *), "value count does not match the shape")
        self.init(.float32, shape: shape)
        floats.withUnsafeBytes { data.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    public convenience init(int64s: [Int64], shape: [Int]) {
        precondition(int64s.count == shape.reduce(1, *), "value count does not match the shape")
        self.init(.int64, shape: shape)
        int64s.withUnsafeBytes { data.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    public convenience init(bytes: [UInt8], shape: [Int]) {
        precondition(bytes.count == shape.reduce(1, *), "value count does not match the shape")
        self.init(.uint8, shape: shape)
        bytes.withUnsafeBytes { data.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// Typed access to the elements, in place.
    public func withUnsafeMutableBuffer<T, R>(of type: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws -> R) rethrows -> R {
        precondition(MemoryLayout<T>.stride == elementType.byteSize, "element type mismatch")
        return try body(UnsafeMutableBufferPointer(start: data.bindMemory(to: T.self, capacity: elementCount), count: elementCount))
    }

    /// The elements as Float, converting from float16/float64/integers where needed.
    public func floats() -> [Float] {
        let n = elementCount
        switch elementType {
        case .float32: return Array(UnsafeBufferPointer(start: data.assumingMemoryBound(to: Float.self), count: n))
        case .float64: return UnsafeBufferPointer(start: data.assumingMemoryBound(to: Double.self), count: n).map { Float($0) }
        case .float16: return UnsafeBufferPointer(start: data.assumingMemoryBound(to: UInt16.self), count: n).map(Float16Bits.toFloat)
        case .uint8, .bool: return UnsafeBufferPointer(start: data.assumingMemoryBound(to: UInt8.self), count: n).map { Float($0) }
        case .int8: return UnsafeBufferPointer(start: data.assumingMemoryBound(to: Int8.self), count: n).map { Float($0) }
        case .int32: return UnsafeBufferPointer(start: data.assumingMemoryBound(to: Int32.self), count: n).map { Float($0) }
        case .int64: return UnsafeBufferPointer(start: data.assumingMemoryBound(to: Int64.self), count: n).map { Float($0) }
        }
    }

    public func int64s() -> [Int64] {
        precondition(elementType == .int64)
        return Array(UnsafeBufferPointer(start: data.assumingMemoryBound(to: Int64.self), count: elementCount))
    }
}

/// IEEE 754 half precision, converted by bit manipulation so it works on every platform
/// (Swift's Float16 is unavailable on macOS x86_64).
public enum Float16Bits {
    public static func toFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        var exponent = UInt32(h >> 10) & 0x1F
        var mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal: normalise.
            exponent = 127 - 15 + 1
            while mantissa & 0x400 == 0 { mantissa <<= 1; exponent -= 1 }
            mantissa &= 0x3FF
            return Float(bitPattern: sign | exponent << 23 | mantissa << 13)
        }
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
        return Float(bitPattern: sign | (exponent + 127 - 15) << 23 | mantissa << 13)
    }

    /// Round-to-nearest-even conversion.
    public static func fromFloat(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF) - 127 + 15
        var mantissa = bits & 0x7F_FFFF
        if (bits >> 23) & 0xFF == 0xFF { return sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0) }
        if exponent >= 0x1F { return sign | 0x7C00 }
        if exponent <= 0 {
            if exponent < -10 { return sign }
            mantissa |= 0x80_0000
            let shift = UInt32(14 - exponent)
            var half = mantissa >> shift
            let remainder = mantissa & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if remainder > halfway || (remainder == halfway && half & 1 == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = UInt32(exponent) << 10 | mantissa >> 13
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && half & 1 == 1) { half += 1 }
        return sign | UInt16(half)
    }
}
