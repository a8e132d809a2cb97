/// Element type of an image's samples.
public enum PixelDepth: Int32, Sendable {
    case uint8 = 0      // numerically CV_8U
    case float32 = 5    // numerically CV_32F

    public var byteSize: Int { self == .uint8 ? 1 : 4 }
}

/// Owns the bytes behind an `Image`. The bytes may come from Swift or from a foreign
/// allocator (a cv::Mat decoded by OpenCV): `release` frees them exactly once.
public final class ImageStorage: @unchecked Sendable {
    public let bytes: UnsafeMutableRawPointer
    public let byteCount: Int
    private let release: @Sendable (UnsafeMutableRawPointer) -> Void

    public init(bytes: UnsafeMutableRawPointer, byteCount: Int, release: @escaping @Sendable (UnsafeMutableRawPointer) -> Void) {
        self.bytes = bytes
        self.byteCount = byteCount
        self.release = release
    }

    /// Zero-filled memory owned by Swift, aligned for SIMD loads.
    public convenience init(zeroedByteCount: Int) {
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(zeroedByteCount, 1), alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(zeroedByteCount, 1))
        self.init(bytes: pointer, byteCount: zeroedByteCount) { $0.deallocate() }
    }

    deinit { release(bytes) }
}

/// An interleaved image in memory. Colour images are BGR as OpenCV decodes them unless a
/// function says otherwise. `Image` is a view with reference semantics over its storage:
/// copies share pixels; call `copy()` for an independent image.
public struct Image: @unchecked Sendable {
    public let width: Int
    public let height: Int
    public let channels: Int
    public let depth: PixelDepth
    /// Bytes from one row to the next (may exceed width * channels * depth.byteSize).
    public let stride: Int
    public let storage: ImageStorage
    /// First byte of pixel (0, 0) inside `storage`.
    public let baseAddress: UnsafeMutableRawPointer

    public init(width: Int, height: Int, channels: Int, depth: PixelDepth, stride: Int, storage: ImageStorage, baseAddress: UnsafeMutableRawPointer? = nil) {
        self.width = width
        self.height = height
        self.channels = channels
        self.depth = depth
        self.stride = stride
        self.storage = storage
        self.baseAddress = baseAddress ?? storage.bytes
    }

    /// A zero-filled image with tightly packed rows.
    public init(width: Int, height: Int, channels: Int = 3, depth: PixelDepth = .uint8) {
        precondition(width > 0 && height > 0 && (1...4).contains(channels), "invalid image size")
        let stride = width * channels * depth.byteSize
        self.init(width: width, height: height, channels: channels, depth: depth, stride: stride,
                  storage: ImageStorage(zeroedByteCount: stride * height))
    }

    public var rowBytes: Int { width * channels * depth.byteSize }
    public var pixelCount: Int { width * height }

    /// An independent, tightly packed copy.
    public func copy() -> Image {
        let out = Image(width: width, height: height, channels: channels, depth: depth)
        for y in 0..<height {
            out.baseAddress.advanced(by: y * out.stride).copyMemory(from: baseAddress.advanced(by: y * stride), byteCount: rowBytes)
        }
        return out
    }

    /// A view of the pixels inside `x, y, width, height` (no copy; shares storage).
    public func region(x: Int, y: Int, width w: Int, height h: Int) -> Image? {
        guard x >= 0, y >= 0, w > 0, h > 0, x + w <= width, y + h <= height else { return nil }
        return Image(width: w, height: h, channels: channels, depth: depth, stride: stride, storage: storage,
                     baseAddress: baseAddress.advanced(by: y * stride + x * channels * depth.byteSize))
    }

    /// Sample `c` of pixel (x, y) of an 8-bit image.
    public func byte(x: Int, y: Int, channel c: Int = 0) -> UInt8 {
        precondition(depth == .uint8)
        return baseAddress.load(fromByteOffset: y * stride + x * channels + c, as: UInt8.self)
    }
}
