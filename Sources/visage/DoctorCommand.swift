import ArgumentParser
import Foundation
import VisageCLNF
import VisageCore
import VisageMedia
import VisageRuntime

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Report the machine, accelerators, libraries, encoders, cameras and models.")

    @Flag(help: "Print JSON on stdout.")
    var json = false

    @Flag(help: "Re-hash installed model files (slower for large models).")
    var verifyModels = false

    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        if runtime.verbose { VisageLog.setLevel(.debug) }
        var report: [String: Any] = [
            "visage": VisageVersion.string,
            "os": Platform.osDescription,
            "arch": Platform.architecture,
            "cpu": ["model": Platform.cpuModel, "logical_cores": Platform.logicalCores, "clnf_kernels": CLNFKernels.summary],
            "memory_bytes": Platform.physicalMemoryBytes,
            "gpus": Platform.gpus,
            "opencv": ["version": OpenCVInfo.version, "threads": OpenCVInfo.threads],
        ]

        var ort: [String: Any] = ["search_order": ORTLibrary.candidatePaths().map { "\($0.path) (\($0.origin))" }]
        do {
            let library = try ORTLibrary.shared()
            let config = try runtime.sessionConfig()
            let plan = AcceleratorPlan.resolve(requested: config.accelerator, available: library.availableProviders)
            if let fallback = plan.fallback { DecisionLog.once(VisageLog.logger("runtime"), fallback, level: .warning) }
            ort["available"] = true
            ort["library"] = library.path
            ort["version"] = library.version
            ort["api_version"] = Int(library.apiVersion)
            ort["providers_available"] = library.availableProviders
            var accelerator: [String: Any] = ["requested": plan.requested.rawValue, "chosen": plan.chosen.map(\.rawValue), "reason": plan.reason]
            if let fallback = plan.fallback { accelerator["fallback"] = fallback }
            ort["accelerator"] = accelerator
        } catch {
            ort["available"] = false
            ort["error"] = "\(error)"
        }
        report["onnxruntime"] = ort
        report["ffmpeg"] = FFmpegProbe.report()
        report["cameras"] = CameraProbe.devices()

        let store = ModelStore()
        report["model_store"] = ["directory": store.root.path, "mirror": store.mirror.map { $0.path as Any } ?? NSNull()]
        report["models"] = ModelCatalog.all.map { entry -> [String: Any] in
            let installed = store.isInstalled(entry)
            var item: [String: Any] = ["id": entry.id, "task": entry.task.rawValue, "installed": installed]
            if installed && (verifyModels || entry.totalSize < 50_000_000) {
                item["verified"] = store.verify(entry).allSatisfy { $0.status == .ok }
            }
            return item
        }

        if json { try JSONOutput.print(report); return }
        printHuman(report)
    }

    private func printHuman(_ r: [String: Any]) {
        let cpu = r["cpu"] as! [String: Any]
        print("Visage \(VisageVersion.string)")
        print("  OS        \(r["os"]!) (\(r["arch"]!))")
        print("  CPU       \(cpu["model"]!), \(cpu["logical_cores"]!) logical cores; CLNF patch responses: \(cpu["clnf_kernels"]!)")
        print("  Memory    \(String(format: "%.1f", Double(r["memory_bytes"] as! UInt64) / 1_073_741_824)) GiB")
        let gpus = r["gpus"] as! [String]
        print("  GPUs      \(gpus.isEmpty ? "none found" : gpus.joined(separator: ", "))")
        let ort = r["onnxruntime"] as! [String: Any]
        if ort["available"] as? Bool == true {
            let acc = ort["accelerator"] as! [String: Any]
            print("  ONNX Runtime \(ort["version"]!) at \(ort["library"]!)")
            print("            providers available: \((ort["providers_available"] as! [String]).joined(separator: ", "))")
            print("            chosen: \((acc["chosen"] as! [String]).joined(separator: " > ")) — \(acc["reason"]!)")
        } else {
            print("  ONNX Runtime: NOT AVAILABLE — \(ort["error"]!)")
        }
        print("  OpenCV    \((r["opencv"] as! [String: Any])["version"]!)")
        let ff = r["ffmpeg"] as! [String: Any]
        if ff["available"] as? Bool == true {
            let hw = ff["hardware_encoders"] as! [String]
            print("  FFmpeg    \(ff["version"]!) (hardware encoders: \(hw.isEmpty ? "none" : hw.joined(separator: ", ")))")
        } else {
            print("  FFmpeg    not found on PATH (video output needs it: apt install ffmpeg / brew install ffmpeg)")
        }
        let cams = r["cameras"] as! [String]
        print("  Cameras   \(cams.isEmpty ? "none found" : cams.joined(separator: ", "))")
        let store = r["model_store"] as! [String: Any]
        print("  Models    in \(store["directory"]!)\((store["mirror"] as? String).map { " (mirror: \($0))" } ?? "")")
        for m in r["models"] as! [[String: Any]] where m["installed"] as? Bool == true {
            let verified = (m["verified"] as? Bool).map { $0 ? "verified" : "CHECKSUM MISMATCH" } ?? "not re-hashed"
            print("            \(m["id"]!) (\(verified))")
        }
    }
}

/// What the ffmpeg on PATH is and which hardware encoders it was built with.
enum FFmpegProbe {
    static let hardwareEncoderMarkers = ["nvenc", "videotoolbox", "vaapi", "qsv", "amf", "v4l2m2m"]

    static func report() -> [String: Any] {
        guard let path = VideoWriter.tool("ffmpeg"), let versionText = Subprocess.output(path, ["-hide_banner", "-version"]) else {
            return ["available": false]
        }
        let version = versionText.split(separator: "\n").first.map { line -> String in
            let parts = line.split(separator: " ")
            return parts.count > 2 ? String(parts[2]) : String(line)
        } ?? "unknown"
        let encoders = Subprocess.output(path, ["-hide_banner", "-encoders"]) ?? ""
        let hardware = encoders.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, fields[0].first == "V" else { return nil }
            let name = String(fields[1])
            return hardwareEncoderMarkers.contains { name.contains($0) } ? name : nil
        }
        return ["available": true, "path": path, "version": version, "hardware_encoders": hardware]
    }
}

enum CameraProbe {
    /// Video capture devices the OS lists (Linux: /dev/video*; macOS: enumerated by `visage live --list-cameras`).
    static func devices() -> [String] {
        #if os(Linux)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/dev")) ?? []
        return names.filter { $0.hasPrefix("video") }.sorted().map { "/dev/\($0)" }
        #else
        return []
        #endif
    }
}

enum Subprocess {
    static func output(_ path: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
