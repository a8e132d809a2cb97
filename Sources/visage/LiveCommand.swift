import ArgumentParser
import Foundation
import VisageCore
import VisageFace
import VisageLive
import VisageMedia
import VisageRuntime

struct Live: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "Real-time pipeline: camera/video/images → detect+track → swap and/or AUs → preview, MJPEG stream, virtual camera, recording.",
        discussion: """
        Stages run on their own threads with short queues; when it falls behind, the oldest unprocessed frame is dropped
        (never reordered, the camera never waits). An adaptive controller holds --target-fps by changing the detection
        interval, the detector's input size, the processing size and, last, by skipping frames. Modes (--mode):
        \(LiveMode.all.map { "\($0.name) \($0.maxWidth)x\($0.maxHeight)@\(Int($0.targetFPS))" }.joined(separator: ", ")). See docs/LIVE.md.
        """)

    @Option(name: [.short, .customLong("input")], help: "Camera index or /dev/videoN, a video file, or a folder of images.")
    var input: String?

    @Option(help: "Camera index (same as --input N).")
    var camera: Int?

    @Flag(help: "List the cameras found and exit.")
    var listCameras = false

    @Flag(help: "Play a video file / image folder at its frame rate (as a camera would deliver it) instead of as fast as possible.")
    var realtime = false

    @Flag(help: "Start a video file / image folder again at its end.")
    var loop = false

    @Option(help: "Frame rate of an image folder.")
    var folderFps: Double = 30

    @Option(help: "performance | balanced | quality | battery.")
    var mode: String = "balanced"

    @Option(help: "Frames per second to hold (default: the mode's).")
    var targetFps: Double?

    @Flag(help: "Keep the mode's settings fixed (no adaptive controller).")
    var noAdapt = false

    @Flag(help: "Run every stage on one thread, one frame at a time (for comparison).")
    var sequential = false

    @Option(name: [.short, .customLong("swap-face")], help: "Photo whose face is put on the faces in the input (enables swapping).")
    var swapFace: String?

    @OptionGroup var swapModels: SwapperOptions

    @Flag(help: "Swap every face (default: the largest).")
    var manyFaces = false

    @Option(help: "Keep the target's mouth: 0 (off) to 1.") var mouthMask: Float = 0
    @Option(help: "Blend strength of the swapped face, 0 to 1.") var opacity: Float = 1

    @Option(help: "Write OpenFace AUs (online rules) to this CSV.")
    var auCsv: String?

    @Flag(help: "AUs: one track per person.")
    var multiFace = false

    @Flag(help: "Show the output in a window (ffplay; needs a display).")
    var preview = false

    @Option(help: "Serve the output as MJPEG over HTTP, e.g. :8090 (open http://localhost:8090/).")
    var stream: String?

    @Option(help: "Feed a v4l2loopback device, e.g. /dev/video10 (Linux).")
    var virtualCamera: String?

    @Option(name: [.short, .customLong("output")], help: "Record the output to this video file (.mp4).")
    var output: String?

    @Flag(help: "Print one JSON stats object per second on stdout.")
    var statsJson = false

    @Flag(help: "No stats line on stderr.")
    var quiet = false

    @Option(help: "Stop after this many output frames.")
    var maxFrames: Int?

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @Option(help: "Face detector model id.")
    var detector: String = DetectorFactory.defaultModel

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if listCameras { return }
        if (input == nil) == (camera == nil) { throw ValidationError("give --input (camera index, video, folder) or --camera N") }
        guard (0...1).contains(mouthMask), (0...1).contains(opacity) else { throw ValidationError("--mouth-mask and --opacity take 0 to 1") }
        if let targetFps, !(targetFps > 0 && targetFps <= 1000) { throw ValidationError("--target-fps must be in (0, 1000]") }
        if let maxFrames, maxFrames < 1 { throw ValidationError("--max-frames must be ≥ 1") }
    }

    func run() throws {
        if runtime.verbose { VisageLog.setLevel(.debug) }
        do { try runLive() } catch let error as LiveError { throw VisageError.invalidArgument(error.description) }
    }

    private func runLive() throws {
        if listCameras {
            let cameras = CameraDiscovery.list()
            if cameras.isEmpty { print("no cameras found") } else { cameras.forEach { print($0.description) } }
            return
        }
        let liveMode = try LiveMode.named(mode)
        // Everything that can fail on a bad argument fails before capture starts.
        if let output {
            let dir = URL(fileURLWithPath: output).standardizedFileURL.deletingLastPathComponent()
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
                throw VisageError.writeFailed(path: output, reason: "directory \(dir.path) does not exist")
            }
        }
        if let swapFace { try ImageIO.checkReadableFile(swapFace) }
        let server = try stream.map { text -> MJPEGServer in
            let (host, port) = try LiveSetup.parseStream(text)
            return try MJPEGServer(host: host, port: port)
        }
        let source = try LiveSetup.openSource(input ?? String(camera!), realtime: realtime, loop: loop, fps: folderFps, mode: liveMode)
        let size = LivePipeline.outputSize(of: source, mode: liveMode)
        let fps = source.fps > 0 ? min(source.fps, targetFps ?? liveMode.targetFPS) : (targetFps ?? liveMode.targetFPS)
        var outputs: [LiveOutput] = []
        if let server { outputs.append(StreamOutput(server: server)) }
        if let virtualCamera { outputs.append(try VirtualCameraOutput(device: virtualCamera, width: size.width, height: size.height, fps: fps)) }
        if preview { outputs.append(try PreviewOutput(width: size.width, height: size.height, fps: fps)) }
        let recording = try output.map {
            try RecordingOutput(path: $0, width: size.width, height: size.height, fps: source.fps > 0 ? source.fps : fps,
                                label: swapFace != nil ? SyntheticMediaLabel.text(operation: "live face swap") : nil)
        }
        if let recording { outputs.append(recording) }

        let config = try LiveSetup.sessionConfig(runtime, mode: liveMode)
        let store = ModelStore()
        let ladder = QualitySettings.ladder(for: liveMode)
        let swap = swapFace.map {
            LiveSetup.SwapChoice(face: $0, swapper: swapModels.swapper, swapModel: swapModels.swapModel, recognizerModel: swapModels.recognizerModel,
                                 options: .init(mouthMask: mouthMask, opacity: opacity))
        }
        let work = try LiveSetup.makeWork(detector: detector, mode: liveMode, settings: ladder[0], swap: swap,
                                          auCSV: auCsv.map { URL(fileURLWithPath: $0).standardizedFileURL }, multiFace: multiFace,
                                          manyFaces: manyFaces, frameWidth: size.width, frameHeight: size.height, store: store, config: config)
        Banner.print(plan: work.tracking.detector.session.plan)
        let log = VisageLog.logger("live")
        log.info("live: \(source.name) \(source.width)x\(source.height) at \(String(format: "%.1f", source.fps)) fps → \(size.width)x\(size.height), \(work.name), mode \(liveMode.name), target \(String(format: "%.0f", targetFps ?? liveMode.targetFPS)) fps, \(sequential ? "sequential" : "pipelined")")
        for o in outputs { log.info("live: output: \(o.name)") }

        let configuration = LiveConfiguration(mode: liveMode, targetFPS: targetFps, pipelined: !sequential, adaptive: !noAdapt,
                                              maxFrames: maxFrames, duration: duration)
        let json = statsJson, quiet = self.quiet
        let pipeline = LivePipeline(source: source, work: work, outputs: outputs, configuration: configuration, onStats: { snapshot in
            if !quiet { FileHandle.standardError.write(Data((snapshot.line + "\n").utf8)) }
            if json { try? JSONOutput.printLine(snapshot.json) }
        })
        let report: LiveReport
        do { report = try pipeline.run() } catch {
            recording?.cancel()
            throw error
        }
        let summary = String(format: "live: %d frames out (captured %d, dropped %d, skipped %d) in %.1f s, %.1f fps, latency median %.0f ms, p90 %.0f ms; ended: %@",
                             report.output, report.captured, report.dropped, report.skipped, report.seconds, report.fps,
                             report.latencyMedianMs, report.latencyP90Ms, report.ending)
        if statsJson {
            try JSONOutput.printLine(["summary": true, "frames": report.output, "captured": report.captured, "dropped": report.dropped,
                                      "skipped": report.skipped, "fps": Stats.r(report.fps), "recorded": recording?.frames ?? 0,
                                      "decisions": report.decisions.map { ["frame": $0.frame, "t": Stats.r($0.seconds), "level": $0.level, "change": $0.message] },
                                      "ending": report.ending, "latency_median_ms": Stats.r(report.latencyMedianMs)])
        } else {
            print(summary)
            if let recording { print("\(recording.path): \(recording.frames) frames recorded") }
            if let auCsv { print("\(auCsv): AUs written (online rules)") }
        }
    }
}
