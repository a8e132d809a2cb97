// The one place where VisageCore asks the operating system about itself: every `#if os(...)`
// of this module lives here.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Facts about the machine we run on, for banners, `visage doctor` and benchmarks.
public enum Platform {
    /// "Debian GNU/Linux 12 (bookworm)", "macOS 14.5", ...
    public static var osDescription: String {
        #if os(Linux)
        if let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
                return String(line.dropFirst("PRETTY_NAME=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return "Linux " + ProcessInfo.processInfo.operatingSystemVersionString
        #else
        let v = ProcessInfo.processInfo.operatingSystemVersion
        return "macOS \(v.majorVersion).\(v.minorVersion).\(v.patchVersion)"
        #endif
    }

    public static var architecture: String {
        #if arch(x86_64)
        return "x86_64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "unknown"
        #endif
    }

    public static var isAppleSilicon: Bool {
        #if os(macOS) && arch(arm64)
        return true
        #else
        return false
        #endif
    }

    /// The CPU's marketing name.
    public static var cpuModel: String {
        #if os(Linux)
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("model name") {
                if let colon = line.firstIndex(of: ":") {
                    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return architecture
        #else
        var size = 0
        sysctlbyname("machdep.cpu.brand_string", nil, &size, nil, 0)
        guard size > 0 else { return architecture }
        var buffer = [CChar](repeating: 0, count: size)
        sysctlbyname("machdep.cpu.brand_string", &buffer, &size, nil, 0)
        return String(cString: buffer)
        #endif
    }

    public static var logicalCores: Int { ProcessInfo.processInfo.activeProcessorCount }
    public static var physicalMemoryBytes: UInt64 { ProcessInfo.processInfo.physicalMemory }

    /// Names of GPUs the OS exposes (NVIDIA through its driver's proc files; Apple GPU on Apple Silicon).
    public static var gpus: [String] {
        #if os(Linux)
        var names: [String] = []
        let root = "/proc/driver/nvidia/gpus"
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: root) {
            for entry in entries.sorted() {
                guard let info = try? String(contentsOfFile: "\(root)/\(entry)/information", encoding: .utf8) else { continue }
                for line in info.split(separator: "\n") where line.hasPrefix("Model:") {
                    names.append(line.dropFirst("Model:".count).trimmingCharacters(in: .whitespaces))
                }
            }
        }
        return names
        #else
        return isAppleSilicon ? ["Apple GPU + Neural Engine (\(cpuModel))"] : []
        #endif
    }

    /// CPU time the calling thread has used, in nanoseconds: what one-core costs are measured in when
    /// other processes compete for the cores (wall time then counts their turns too).
    public static var threadCPUNanoseconds: UInt64 { cpuNanoseconds(CLOCK_THREAD_CPUTIME_ID) }

    /// CPU time of the whole process (all threads), in nanoseconds.
    public static var processCPUNanoseconds: UInt64 { cpuNanoseconds(CLOCK_PROCESS_CPUTIME_ID) }

    private static func cpuNanoseconds(_ clock: clockid_t) -> UInt64 {
        var t = timespec()
        guard clock_gettime(clock, &t) == 0 else { return 0 }
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    /// Peak resident set size of this process, in bytes.
    public static var peakResidentBytes: UInt64 {
        var usage = rusage()
        #if os(Linux)
        let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return 0 }
        #if os(Linux)
        return UInt64(usage.ru_maxrss) * 1024   // kilobytes on Linux
        #else
        return UInt64(usage.ru_maxrss)          // bytes on Darwin
        #endif
    }

    /// Directory for per-user caches: $XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS.
    public static var userCacheDirectory: URL {
        let env = ProcessInfo.processInfo.environment
        #if os(Linux)
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { return URL(fileURLWithPath: xdg, isDirectory: true) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache", isDirectory: true)
        #else
        return FileManager.default.urls(for: .cachesDirectory, in: .userDomainMask).first
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent("Library/Caches", isDirectory: true)
        #endif
    }

    /// Path of the running executable.
    public static var executablePath: String {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        #endif
        return CommandLine.arguments.first.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? ""
    }

    /// Resident set size of this process now, in bytes (not the peak).
    public static var residentBytes: UInt64 {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = UInt64(fields[1]) else { return 0 }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
        #elseif canImport(Darwin)
        var info = mach_task_basic_info()
        var count = mach_msg_type_number_t(MemoryLayout<mach_task_basic_info>.size / MemoryLayout<natural_t>.size)
        let status = withUnsafeMutablePointer(to: &info) { pointer in
            pointer.withMemoryRebound(to: integer_t.self, capacity: Int(count)) {
                task_info(mach_task_self_, task_flavor_t(MACH_TASK_BASIC_INFO), $0, &count)
            }
        }
        return status == KERN_SUCCESS ? UInt64(info.resident_size) : 0
        #else
        return 0
        #endif
    }

    /// A video capture device the OS lists.
    public struct CaptureDevice: Sendable, Equatable {
        public let index: Int
        public let path: String
        public let label: String
    }

    /// Cameras the OS lists by name (Linux: /sys/class/video4linux). nil where the OS has no such list
    /// (macOS): the caller then probes indexes by opening them.
    public static func captureDevices(sysfs: String = "/sys/class/video4linux") -> [CaptureDevice]? {
        #if os(Linux)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: sysfs) else { return [] }
        return entries.compactMap { entry -> CaptureDevice? in
            guard entry.hasPrefix("video"), let n = Int(entry.dropFirst(5)) else { return nil }
            let label = (try? String(contentsOfFile: "\(sysfs)/\(entry)/name", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unnamed"
            return CaptureDevice(index: n, path: "/dev/\(entry)", label: label)
        }.sorted { $0.index < $1.index }
        #else
        return nil
        #endif
    }

    /// Whether this OS has virtual cameras fed through a v4l2loopback device (Linux only).
    public static var hasV4L2Loopback: Bool {
        #if os(Linux)
        return true
        #else
        return false
        #endif
    }

    /// Whether a window can be opened: on Linux a DISPLAY or WAYLAND_DISPLAY must be set; elsewhere there
    /// is always a window server.
    public static func hasDisplay(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        #if os(Linux)
        return [environment["DISPLAY"], environment["WAYLAND_DISPLAY"]].contains { ($0 ?? "").isEmpty == false }
        #else
        return true
        #endif
    }

    /// Whether `path` is a character device (a /dev/videoN node).
    public static func isCharacterDevice(_ path: String) -> Bool? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (info.st_mode & S_IFMT) == S_IFCHR
    }

    /// How hot the machine runs: Linux: the hottest `/sys/class/thermal/thermal_zone*` against its first
    /// passive (or hot) trip point, 90 °C when it has none; macOS: `ProcessInfo.thermalState` serious or critical.
    public static func thermalState(root: String = "/sys/class/thermal") -> (throttled: Bool, summary: String) {
        #if os(Linux)
        func number(_ path: String) -> Double? {
            (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        guard let zones = try? FileManager.default.contentsOfDirectory(atPath: root) else { return (false, "no thermal zones") }
        var hottest: (name: String, celsius: Double, limit: Double)?
        for zone in zones where zone.hasPrefix("thermal_zone") {
            let dir = root + "/" + zone
            guard let temp = number(dir + "/temp") else { continue }
            var limit = 90_000.0
            for k in 0..<8 {
                guard let type = try? String(contentsOfFile: dir + "/trip_point_\(k)_type", encoding: .utf8) else { break }
                let kind = type.trimmingCharacters(in: .whitespacesAndNewlines)
                if kind == "passive" || kind == "hot", let t = number(dir + "/trip_point_\(k)_temp"), t > 0 { limit = t; break }
            }
            let name = (try? String(contentsOfFile: dir + "/type", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? zone
            if hottest == nil || temp / limit > hottest!.celsius * 1000 / hottest!.limit {
                hottest = (name, temp / 1000, limit / 1000)
            }
        }
        guard let h = hottest else { return (false, "no thermal zones") }
        return (h.celsius >= h.limit, String(format: "%@ %.0f °C (limit %.0f °C)", h.name, h.celsius, h.limit))
        #else
        let s = ProcessInfo.processInfo.thermalState
        let names: [ProcessInfo.ThermalState: String] = [.nominal: "nominal", .fair: "fair", .serious: "serious", .critical: "critical"]
        return (s == .serious || s == .critical, "thermal state \(names[s] ?? "unknown")")
        #endif
    }
}

/// Size and modification time of a file from one `stat` call. `FileManager.attributesOfItem` also lists the
/// file's extended attributes and builds a dictionary: ≈ 100× slower, which a model of 180 files checked on
/// every load feels.
public struct FileStat: Sendable, Equatable {
    public var size: Int64
    /// Nanoseconds since 1970.
    public var modifiedNanoseconds: Int64
    public var isRegularFile: Bool

    /// The file (symbolic links followed), nil when there is none.
    public init?(path: String) {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        size = Int64(s.st_size)
        #if canImport(Darwin)
        modifiedNanoseconds = Int64(s.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(s.st_mtimespec.tv_nsec)
        #else
        modifiedNanoseconds = Int64(s.st_mtim.tv_sec) * 1_000_000_000 + Int64(s.st_mtim.tv_nsec)
        #endif
        isRegularFile = (s.st_mode & S_IFMT) == S_IFREG
    }
}
