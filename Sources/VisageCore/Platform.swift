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
}
