// The CUDA runtime (libcudart), opened at run time like ONNX Runtime itself: the explicit copies between
// the host buffers we fill and the device buffers bound to CUDA sessions, and device memory figures.
// Nothing links against CUDA; on a machine without it every caller gets the reason instead.
import Foundation
import VisageCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The CUDA runtime library that ONNX Runtime's CUDA provider uses (the one already loaded when there is one).
public final class CUDARuntime: @unchecked Sendable {
    private typealias Memcpy = @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, Int, Int32) -> Int32
    private typealias MemGetInfo = @convention(c) (UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Int>?) -> Int32
    private typealias SetDevice = @convention(c) (Int32) -> Int32
    private typealias ErrorString = @convention(c) (Int32) -> UnsafePointer<CChar>?

    public let path: String
    private let memcpy: Memcpy
    private let memGetInfo: MemGetInfo
    private let setDevice: SetDevice
    private let errorString: ErrorString

    /// cudaMemcpyKind values.
    private static let hostToDevice: Int32 = 1, deviceToHost: Int32 = 2

    /// Names tried in order: CUDA 13 (onnxruntime-gpu 1.31), 12, then whatever the system calls libcudart.
    static let candidates = ["libcudart.so.13", "libcudart.so.12", "libcudart.so"]

    private static let loaded: Result<CUDARuntime, VisageError> = {
        #if os(Linux)
        var tried: [String] = []
        // The copy the CUDA provider already mapped first: one CUDA context for its kernels and our copies.
        for flags in [RTLD_NOW | RTLD_NOLOAD, RTLD_NOW] {
            for name in candidates {
                guard let handle = dlopen(name, flags) else {
                    if flags & RTLD_NOLOAD == 0 { tried.append("\(name): \(dlerror().map { String(cString: $0) } ?? "not found")") }
                    continue
                }
                if let runtime = CUDARuntime(handle: handle, name: name) { return .success(runtime) }
                tried.append("\(name): missing cudaMemcpy/cudaMemGetInfo")
            }
        }
        return .failure(.runtimeUnavailable(reason: "the CUDA runtime library is not loadable (\(tried.joined(separator: "; "))); put CUDA's lib folder on LD_LIBRARY_PATH"))
        #else
        return .failure(.runtimeUnavailable(reason: "CUDA exists only on Linux and Windows builds"))
        #endif
    }()

    /// The process-wide runtime, or why there is none.
    public static func shared() -> Result<CUDARuntime, VisageError> { loaded }

    private init?(handle: UnsafeMutableRawPointer, name: String) {
        guard let memcpy = dlsym(handle, "cudaMemcpy"), let info = dlsym(handle, "cudaMemGetInfo"),
              let set = dlsym(handle, "cudaSetDevice"), let text = dlsym(handle, "cudaGetErrorString") else { return nil }
        self.path = name
        self.memcpy = unsafeBitCast(memcpy, to: Memcpy.self)
        self.memGetInfo = unsafeBitCast(info, to: MemGetInfo.self)
        self.setDevice = unsafeBitCast(set, to: SetDevice.self)
        self.errorString = unsafeBitCast(text, to: ErrorString.self)
    }

    /// Copies host memory to the device (synchronous: returns when the bytes are there).
    func copyToDevice(_ device: UnsafeMutableRawPointer, from host: UnsafeRawPointer, bytes: Int) throws {
        try check(memcpy(device, host, bytes, Self.hostToDevice), "copying \(bytes) bytes to the GPU")
    }

    /// Copies device memory to the host (synchronous).
    func copyToHost(_ host: UnsafeMutableRawPointer, from device: UnsafeRawPointer, bytes: Int) throws {
        try check(memcpy(host, device, bytes, Self.deviceToHost), "copying \(bytes) bytes from the GPU")
    }

    /// Free and total bytes of `device` (the whole device, every process).
    public func memory(device: Int) -> (free: Int, total: Int)? {
        guard setDevice(Int32(device)) == 0 else { return nil }
        var free = 0, total = 0
        guard memGetInfo(&free, &total) == 0 else { return nil }
        return (free, total)
    }

    private func check(_ code: Int32, _ what: @autoclosure () -> String) throws {
        guard code != 0 else { return }
        let text = errorString(code).map { String(cString: $0) } ?? "error \(code)"
        throw VisageError.runtime("\(what()): \(text)")
    }
}
