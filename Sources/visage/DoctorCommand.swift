import ArgumentParser
import Foundation
import VisageJobs
import VisageRuntime

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Report the machine, accelerators, libraries, encoders, cameras and models.")

    @Flag(help: "Print JSON on stdout.") var json = false
    @Flag(help: "Re-hash installed model files (slower for large models).") var verifyModels = false
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        let context = try runtime.context()
        let r = SystemReport.collect(store: context.store, session: context.session, verifyModels: verifyModels)
        if json { try Output.json(r); return }
        print("Visage \(r.visage)")
        print("  OS        \(r.os) (\(r.arch))")
        print("  CPU       \(r.cpu.model), \(r.cpu.logicalCores) logical cores; CLNF patch responses: \(r.cpu.clnfKernels)")
        print("  Memory    \(String(format: "%.1f", Double(r.memoryBytes) / 1_073_741_824)) GiB")
        print("  GPUs      \(r.gpus.isEmpty ? "none found" : r.gpus.joined(separator: ", "))")
        if r.onnxruntime.available, let acc = r.onnxruntime.accelerator {
            print("  ONNX Runtime \(r.onnxruntime.version ?? "?") at \(r.onnxruntime.library ?? "?")")
            print("            providers available: \((r.onnxruntime.providersAvailable ?? []).joined(separator: ", "))")
            print("            chosen: \(acc.chosen.joined(separator: " > ")) — \(acc.reason)")
        } else {
            print("  ONNX Runtime: NOT AVAILABLE — \(r.onnxruntime.error ?? "unknown")")
        }
        print("  OpenCV    \(r.opencv.version)")
        if r.ffmpeg.available {
            let hw = r.ffmpeg.hardwareEncoders ?? []
            print("  FFmpeg    \(r.ffmpeg.version ?? "?") (hardware encoders that work here: \(hw.isEmpty ? "none" : hw.joined(separator: ", ")))")
            let failing = (r.ffmpeg.hardwareEncodersNotWorking ?? [:]).keys.sorted()
            if !failing.isEmpty { print("            listed but not working here: \(failing.joined(separator: ", "))") }
        } else {
            print("  FFmpeg    not found on PATH (video output needs it: apt install ffmpeg / brew install ffmpeg)")
        }
        print("  Cameras   \(r.cameras.isEmpty ? "none found" : r.cameras.joined(separator: ", "))")
        print("  Models    in \(r.modelStore.directory)\(r.modelStore.mirror.map { " (mirror: \($0))" } ?? "")")
        for m in r.models where m.installed {
            let verified = m.verified.map { $0 ? "verified" : "CHECKSUM MISMATCH" } ?? "not re-hashed"
            print("            \(m.id) (\(verified))")
        }
    }
}
