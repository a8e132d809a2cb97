import ArgumentParser
import Foundation
import VisageCore
import VisageFace
import VisageJobs
import VisageLive
import VisageServer

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

    @Option(name: [.short, .customLong("input")], help: "Camera index or /dev/videoN, a video file, or a folder of images.") var input: String?
    @Option(parsing: .unconditional, help: "Camera index (same as --input N).") var camera: Int?
    @Flag(help: "List the cameras found and exit.") var listCameras = false
    @Flag(help: "Play a video file / image folder at its frame rate (as a camera would deliver it) instead of as fast as possible.")
    var realtime = false
    @Flag(help: "Start a video file / image folder again at its end.") var loop = false
    @Option(parsing: .unconditional, help: "Frame rate of an image folder.") var folderFps: Double = 30
    @Option(help: "performance | balanced | quality | battery.") var mode: LiveModeName = .balanced
    @Option(parsing: .unconditional, help: "Frames per second to hold (default: the mode's).") var targetFps: Double?
    @Flag(help: "Keep the mode's settings fixed (no adaptive controller).") var noAdapt = false
    @Flag(help: "Run every stage on one thread, one frame at a time (for comparison).") var sequential = false
    @Option(name: [.short, .customLong("swap-face")], help: "Photo whose face is put on the faces in the input (enables swapping).")
    var swapFace: String?
    @OptionGroup var swapModels: SwapperOptions
    @OptionGroup var enhance: EnhancerOptions
    @Flag(help: "Swap every face (default: the largest).") var manyFaces = false
    @Option(parsing: .unconditional, help: "Keep the target's mouth: 0 (off) to 1.") var mouthMask: Float = 0
    @Option(parsing: .unconditional, help: "Blend strength of the swapped face, 0 to 1.") var opacity: Float = 1
    @Flag(help: "Also draw a visible \"AI-altered\" mark on swapped frames.") var watermark = false
    @Option(help: "Write OpenFace AUs (online rules) to this CSV.") var auCsv: String?
    @Flag(help: "AUs: one track per person.") var multiFace = false
    @Flag(help: "Show the output in a window (ffplay; needs a display).") var preview = false
    @Option(help: "Serve the output as MJPEG over HTTP: :8090 (loopback) or HOST:8090 (e.g. 0.0.0.0:8090: every interface, with a warning).")
    var stream: String?
    @Option(help: "Feed a v4l2loopback device, e.g. /dev/video10 (Linux).") var virtualCamera: String?
    @Option(name: [.short, .customLong("output")], help: "Record the output to this video file (.mp4).") var output: String?
    @Flag(help: "Print one JSON stats object per second on stdout.") var statsJson = false
    @Flag(help: "No stats line on stderr.") var quiet = false
    @Option(parsing: .unconditional, help: "Stop after this many output frames.") var maxFrames: Int?
    @Option(parsing: .unconditional, help: "Stop after this many seconds.") var duration: Double?
    @Option(help: "Face detector model id.") var detector: String = DetectorFactory.defaultModel
    @OptionGroup var runtime: RuntimeOptions

    var job: LiveJob {
        var job = LiveJob(input: input ?? camera.map(String.init) ?? "")
        job.realtime = realtime
        job.loop = loop
        job.folderFps = folderFps
        job.mode = mode
        job.targetFps = targetFps
        job.adapt = !noAdapt
        job.sequential = sequential
        job.swapFace = swapFace
        swapModels.apply(to: &job)
        job.manyFaces = manyFaces
        job.mouthMask = mouthMask
        job.opacity = opacity
        job.watermark = watermark
        job.auCsv = auCsv
        job.multiFace = multiFace
        job.record = output
        job.virtualCamera = virtualCamera
        job.preview = preview
        job.maxFrames = maxFrames
        job.duration = duration
        job.detector = detector
        enhance.apply(to: &job)
        return job
    }

    func validate() throws {
        if listCameras { return }
        if (input == nil) == (camera == nil) { throw ValidationError("give --input (camera index, video, folder) or --camera N") }
        try parseCheck { try job.validateOptions() }
        if let stream { _ = try parseCheck { _ = try StreamAddress(stream) } }
    }

    func run() throws {
        do { try runLive() } catch let error as LiveError { throw LiveFailure(description: CLIWording.describe(error)) }
    }

    private func runLive() throws {
        if listCameras {
            let cameras = CameraDiscovery.list()
            if cameras.isEmpty { print("no cameras found") } else { cameras.forEach { print($0.description) } }
            return
        }
        let job = self.job
        // Everything that can fail on a bad argument fails before capture starts.
        let context = try CLIJob.prepare(job, runtime: runtime, banner: false, store: enhance.store)
        let publisher = stream.map { _ in LiveFramePublisher() }
        let server = try stream.map { text -> MJPEGServer in
            let address = try StreamAddress(text)
            if !address.isLoopback {
                Output.warning("the stream is served on \(address.host), open to other machines without a password; use :\(address.port) to keep it on this machine")
            }
            return try MJPEGServer(publisher: publisher!, host: address.host, port: address.port)
        }
        defer { server?.stop() }
        let log = VisageLog.logger("live")
        let json = statsJson, quiet = self.quiet
        let result = try job.run(in: context, publisher: publisher, onStats: { snapshot in
            if !quiet { FileHandle.standardError.write(Data((snapshot.line + "\n").utf8)) }
            if json { try? Output.json(snapshot, pretty: false) }
        }, onStart: { summary in
            Output.banner(context)
            log.info("\(summary.line)")
            for name in summary.outputs {
                let shown = name == "stream" && server != nil ? "stream http://\(server!.host == "0.0.0.0" ? "localhost" : server!.host):\(server!.port)/" : name
                log.info("live: output: \(shown)")
            }
        })
        if statsJson {
            try Output.json(LiveSummaryLine(result: result), pretty: false)
        } else {
            print(String(format: "live: %d frames out (captured %d, dropped %d, skipped %d) in %.1f s, %.1f fps, latency median %.0f ms, p90 %.0f ms; ended: %@",
                         result.frames, result.captured, result.dropped, result.skipped, result.seconds, result.fps,
                         result.latencyMedianMs, result.latencyP90Ms, result.ending))
            if let recording = result.recording { print("\(recording): \(result.recorded ?? 0) frames recorded") }
            if let auCsv { print("\(auCsv): AUs written (online rules)") }
        }
    }
}

/// `--stream`: ":8090" or "8090" (loopback), or "HOST:8090".
struct StreamAddress {
    let host: String
    let port: Int
    var isLoopback: Bool { host == "127.0.0.1" || host == "localhost" || host == "::1" }

    init(_ text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        host = parts.count > 1 && !parts[0].isEmpty ? String(parts[0]) : "127.0.0.1"
        guard let last = parts.last, let port = Int(last), (0...65535).contains(port) else {
            throw VisageError.invalidArgument("--stream \(text): give a port, e.g. --stream :8090")
        }
        self.port = port
    }
}

/// The last line of `--stats-json`.
struct LiveSummaryLine: Encodable {
    let result: LiveResult
    enum Keys: String, CodingKey { case summary }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(true, forKey: .summary)
        try result.encode(to: encoder)
    }
}
