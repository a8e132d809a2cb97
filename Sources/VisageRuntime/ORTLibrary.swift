// Finds and opens the ONNX Runtime shared library at run time (no link-time dependency), and
// owns the process-wide OrtEnv. Search order: $VISAGE_ORT_LIBRARY, next to the executable,
// ../lib beside the executable's folder (the portable bundle's layout, docs/BUNDLE.md), the
// repository's .deps/lib (walking up from the executable and the working directory), the system.
import CONNXRuntime
import Foundation
import Logging
import VisageCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The loaded ONNX Runtime: its C API table, version and environment.
public final class ORTLibrary: @unchecked Sendable {
    public let path: String
    public let version: String
    public let apiVersion: UInt32
    let api: OrtApi
    let env: OpaquePointer
    let cpuMemoryInfo: OpaquePointer
    private let handle: UnsafeMutableRawPointer

    #if os(macOS)
    static let fileName = "libonnxruntime.dylib"
    static let systemNames = ["libonnxruntime.dylib", "/opt/homebrew/lib/libonnxruntime.dylib", "/usr/local/lib/libonnxruntime.dylib"]
    #else
    static let fileName = "libonnxruntime.so"
    static let systemNames = ["libonnxruntime.so", "libonnxruntime.so.1"]
    #endif

    /// How to get the library when it is missing; part of every "not found" message.
    public static let installHint = "run `make setup` (or scripts/setup.sh) to put it in .deps/lib, install it system-wide (Debian 13: apt install libonnxruntime1.21; macOS: brew install onnxruntime), or point VISAGE_ORT_LIBRARY at libonnxruntime"

    private static let loaded: Result<ORTLibrary, VisageError> = {
        do { return .success(try ORTLibrary.loadFromSearchPath()) } catch let e as VisageError { return .failure(e) } catch {
            return .failure(.runtimeUnavailable(reason: "\(error)"))
        }
    }()

    /// The process-wide library, loaded on first use.
    public static func shared() throws -> ORTLibrary { try loaded.get() }

    /// The places we look, in order, with where each came from.
    public static func candidatePaths() -> [(path: String, origin: String)] {
        candidatePaths(environment: ProcessInfo.processInfo.environment,
                       executableDirectory: URL(fileURLWithPath: Platform.executablePath).deletingLastPathComponent(),
                       workingDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
    }

    static func candidatePaths(environment env: [String: String], executableDirectory exeDir: URL,
                               workingDirectory: URL) -> [(path: String, origin: String)] {
        var out: [(String, String)] = []
        if let explicit = env["VISAGE_ORT_LIBRARY"], !explicit.isEmpty { return [(explicit, "VISAGE_ORT_LIBRARY")] }
        out.append((exeDir.appendingPathComponent(fileName).path, "next to the executable"))
        // The bundle keeps the executable in bin/ and the libraries it loads in lib/.
        let bundleLib = exeDir.deletingLastPathComponent().appendingPathComponent("lib/\(fileName)").standardizedFileURL.path
        out.append((bundleLib, "bundle lib/"))
        var seen = Set<String>()
        for start in [exeDir, workingDirectory] {
            var dir = start.standardizedFileURL
            for _ in 0..<8 {
                let candidate = dir.appendingPathComponent(".deps/lib/\(fileName)").path
                if !seen.contains(candidate), FileManager.default.fileExists(atPath: candidate) {
                    seen.insert(candidate)
                    out.append((candidate, "project .deps"))
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        for name in systemNames { out.append((name, "system")) }
        return out
    }

    static func loadFromSearchPath() throws -> ORTLibrary {
        var tried: [String] = []
        for (path, origin) in candidatePaths() {
            let isExplicit = origin == "VISAGE_ORT_LIBRARY"
            if path.hasPrefix("/") && !FileManager.default.fileExists(atPath: path) {
                if isExplicit { throw VisageError.runtimeUnavailable(reason: "VISAGE_ORT_LIBRARY=\(path) does not exist; \(installHint)") }
                continue
            }
            do {
                return try ORTLibrary(path: path)
            } catch let error as VisageError {
                if isExplicit { throw error }
                tried.append("\(path): \(error)")
            }
        }
        let detail = tried.isEmpty ? "libonnxruntime not found" : "could not load: " + tried.joined(separator: "; ")
        throw VisageError.runtimeUnavailable(reason: "\(detail); \(installHint)")
    }

    /// ONNX Runtime 1.29 and later (the PyPI wheels) send usage telemetry from Linux and macOS too: a device id
    /// file, an SQLite event queue under ~/.cache/Microsoft/DeveloperTools/.onnxruntime flushed with fsync at
    /// exit, and an uploader. Face data sets and studio machines must not phone home unasked, and the queue
    /// cost every `visage` process milliseconds at start and exit. The runtime reads its opt-out variables
    /// once, when it initialises; this sets them unless the user set them (any value) or asked for telemetry
    /// with VISAGE_ORT_TELEMETRY=1. Call it before other threads start (the CLI does so first thing): the
    /// environment is not safe to change while another thread reads it. Later calls do nothing.
    public static func optOutOfTelemetry() {
        telemetryDecision.withLock { decided in
            guard !decided else { return }
            decided = true
            let environment = ProcessInfo.processInfo.environment
            guard environment["VISAGE_ORT_TELEMETRY"] != "1" else { return }
            for name in ["ORT_DISABLE_TELEMETRY", "ORT_TELEMETRY_DISABLED"] where environment[name] == nil {
                setenv(name, "1", 0)
            }
        }
    }

    private static let telemetryDecision = Locked(false)

    /// ORT's telemetry stays off unless VISAGE_ORT_TELEMETRY=1 (see `optOutOfTelemetry`).
    static var telemetryWanted: Bool { ProcessInfo.processInfo.environment["VISAGE_ORT_TELEMETRY"] == "1" }

    /// Opens the library at `path` and creates the environment.
    public init(path: String) throws {
        Self.optOutOfTelemetry()
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
            throw VisageError.runtimeUnavailable(reason: "cannot open \(path): \(reason); \(ORTLibrary.installHint)")
        }
        guard let symbol = dlsym(handle, "OrtGetApiBase") else {
            dlclose(handle)
            throw VisageError.runtimeUnavailable(reason: "\(path) is not ONNX Runtime (no OrtGetApiBase)")
        }
        let getApiBase = unsafeBitCast(symbol, to: CONNXRuntime_GetApiBaseFn.self)
        guard let base = getApiBase() else {
            dlclose(handle)
            throw VisageError.runtimeUnavailable(reason: "OrtGetApiBase returned nothing")
        }
        let version = base.pointee.GetVersionString.map { String(cString: $0()!) } ?? "unknown"
        let wanted = CONNXRuntime_apiVersion()
        guard let apiPointer = base.pointee.GetApi(wanted) else {
            dlclose(handle)
            throw VisageError.runtimeUnavailable(reason: "ONNX Runtime \(version) at \(path) is older than the API this build needs (API \(wanted)); install a newer one (\(ORTLibrary.installHint))")
        }
        let api = apiPointer.pointee
        var env: OpaquePointer?
        if let status = api.CreateEnv(Self.logLevel(ProcessInfo.processInfo.environment["VISAGE_ORT_LOG_LEVEL"]), "visage", &env) {
            let message = String(cString: api.GetErrorMessage(status)!)
            api.ReleaseStatus(status)
            dlclose(handle)
            throw VisageError.runtimeUnavailable(reason: "CreateEnv failed: \(message)")
        }
        if !Self.telemetryWanted, let status = api.DisableTelemetryEvents(env) {
            api.ReleaseStatus(status)   // builds without telemetry may refuse; nothing to turn off then
        }
        var memoryInfo: OpaquePointer?
        if let status = api.CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &memoryInfo) {
            let message = String(cString: api.GetErrorMessage(status)!)
            api.ReleaseStatus(status)
            throw VisageError.runtimeUnavailable(reason: "CreateCpuMemoryInfo failed: \(message)")
        }
        self.handle = handle
        self.path = ORTLibrary.resolvedPath(handle: handle, fallback: path)
        self.version = version
        self.apiVersion = wanted
        self.api = api
        self.env = env!
        self.cpuMemoryInfo = memoryInfo!
    }

    deinit {
        api.ReleaseMemoryInfo(cpuMemoryInfo)
        api.ReleaseEnv(env)
        // The library stays mapped: provider plug-ins may still reference it during process exit.
    }

    /// Converts an OrtStatus into a thrown error (and frees it).
    func check(_ status: OpaquePointer?, _ context: @autoclosure () -> String) throws {
        guard let status else { return }
        let message = String(cString: api.GetErrorMessage(status)!)
        api.ReleaseStatus(status)
        throw VisageError.runtime("\(context()): \(message)")
    }

    /// Execution providers compiled into this library, e.g. ["CUDAExecutionProvider", "CPUExecutionProvider"].
    public var availableProviders: [String] {
        var list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        var count: Int32 = 0
        guard api.GetAvailableProviders(&list, &count) == nil, let list else { return ["CPUExecutionProvider"] }
        defer { _ = api.ReleaseAvailableProviders(list, count) }
        return (0..<Int(count)).compactMap { list[$0].map { String(cString: $0) } }
    }

    /// ONNX Runtime's own log level: errors only, unless `VISAGE_ORT_LOG_LEVEL` asks for `warning` (which nodes
    /// fell back from the GPU to the CPU), `info` or `verbose` (every node's provider), to find out why a model
    /// runs slower than it should on an accelerator.
    static func logLevel(_ name: String?) -> OrtLoggingLevel {
        switch name?.lowercased() {
        case "verbose": return ORT_LOGGING_LEVEL_VERBOSE
        case "info": return ORT_LOGGING_LEVEL_INFO
        case "warning": return ORT_LOGGING_LEVEL_WARNING
        default: return ORT_LOGGING_LEVEL_ERROR
        }
    }

    /// The file the dynamic loader actually mapped (resolves "libonnxruntime.so" to a full path).
    private static func resolvedPath(handle: UnsafeMutableRawPointer, fallback: String) -> String {
        #if os(Linux)
        // The loader's own record of what it mapped.
        if let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) {
            for line in maps.split(separator: "\n") where line.contains("libonnxruntime.so") {
                if let slash = line.firstIndex(of: "/") { return String(line[slash...]) }
            }
        }
        #else
        var info = Dl_info()
        if let symbol = dlsym(handle, "OrtGetApiBase"), dladdr(symbol, &info) != 0, let name = info.dli_fname {
            return URL(fileURLWithPath: String(cString: name)).resolvingSymlinksInPath().path
        }
        #endif
        return fallback
    }
}
