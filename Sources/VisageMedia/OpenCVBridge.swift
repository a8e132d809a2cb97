// The Swift side of the CVisageOpenCV bridge: views over `Image`, and the one place where a
// `vcv_error` becomes a thrown `VisageError`.
import CVisageOpenCV
import VisageCore

enum OpenCVBridge {
    /// Throws if the C call reported an error.
    static func check(_ err: vcv_error, context: String? = nil) throws {
        guard err.code != 0 else { return }
        let message = withUnsafeBytes(of: err.message) { raw -> String in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        throw VisageError.openCV(context.map { "\($0): \(message)" } ?? message)
    }

    static func call(_ context: String, _ body: (inout vcv_error) -> Void) throws {
        var err = vcv_error()
        body(&err)
        try check(err, context: context)
    }

    /// Takes ownership of a cv::Mat handle: the image frees it when its storage goes away.
    static func adopt(_ handle: OpaquePointer) -> Image {
        var view = vcv_view()
        vcv_image_view(handle, &view)
        nonisolated(unsafe) let owned = handle
        let storage = ImageStorage(bytes: view.data, byteCount: view.stride * Int(view.height)) { _ in
            vcv_image_release(owned)
        }
        return Image(width: Int(view.width), height: Int(view.height), channels: Int(view.channels),
                     depth: PixelDepth(rawValue: view.depth) ?? .uint8, stride: view.stride, storage: storage)
    }
}

extension Image {
    /// A borrowed C view of this image's pixels, valid inside `body`.
    func withView<R>(_ body: (UnsafeMutablePointer<vcv_view>) throws -> R) rethrows -> R {
        var view = vcv_view(data: baseAddress, width: Int32(width), height: Int32(height),
                            channels: Int32(channels), depth: depth.rawValue, stride: stride)
        return try withUnsafeMutablePointer(to: &view) { try body($0) }
    }
}

/// Versions and settings of the OpenCV build we are linked with.
public enum OpenCVInfo {
    public static var version: String { String(cString: vcv_opencv_version()) }
    public static var threads: Int { Int(vcv_num_threads()) }
    public static func setThreads(_ n: Int) { vcv_set_num_threads(Int32(n)) }
}
