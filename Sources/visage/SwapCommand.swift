import ArgumentParser
import Foundation
import VisageCore
import VisageFace
import VisageMedia
import VisageRuntime
import VisageSwap

struct Swap: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put the face from a source photo onto the faces of a target image or video (audio kept).")

    @Option(name: [.short, .customLong("source")], help: "Photo with the face to use (optional with --map-faces).")
    var source: String?

    @Option(parsing: .upToNextOption, help: "SOURCE=REFERENCE pairs: target faces that look like the person in REFERENCE get the face from SOURCE (others are left alone).")
    var mapFaces: [String] = []

    @Option(name: [.short, .customLong("target")], help: "Image or video whose faces are replaced.")
    var target: String

    @Option(name: [.short, .customLong("output")], help: "Output file (.png/.jpg for images, .mp4/.mov for videos).")
    var output: String

    @Flag(help: "Swap every face (default: the largest).")
    var manyFaces = false

    @Option(help: "Keep the target's mouth: 0 (off) to 1 (generous).")
    var mouthMask: Float = 0

    @Option(help: "Blend strength of the swapped face, 0 to 1.")
    var opacity: Float = 1

    @Flag(help: "Skip the LAB colour transfer (landmark swapper).")
    var noColorCorrection = false

    @Flag(help: "inswapper: match the swapped face's colours to the target face (LAB).")
    var colorCorrection = false

    @Option(help: "Sharpen the swapped face: 0 (off) to 1.")
    var sharpen: Float = 0

    @Flag(inversion: .prefixedNo, help: "Copy the target video's audio into the output.")
    var keepAudio = true

    @Flag(name: .customLong("no-audio"), help: "Write the video without sound (same as --no-keep-audio).")
    var noAudio = false

    @Flag(help: "Videos: also keep every swapped frame as a PNG in OUTPUT_frames/ (for editing or inspection).")
    var keepFrames = false

    @Flag(help: "Also draw a visible \"AI-altered\" mark (every output always carries a machine-readable synthetic-media label).")
    var watermark = false

    @Option(help: "FFmpeg video encoder: libx264, libx265, libvpx-vp9, h264_nvenc, hevc_videotoolbox, ...")
    var videoEncoder: String = "libx264"

    @Option(help: "Video quality, CRF-like: 0 (best) to 51.")
    var videoQuality: Int = 18

    @Option(help: "Videos: run the detector every N frames, track with landmarks in between.")
    var detectEvery: Int = 5

    @Option(help: "Face detector model id.")
    var detector: String = DetectorFactory.defaultModel

    @OptionGroup var swapModels: SwapperOptions

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if source == nil && mapFaces.isEmpty { throw ValidationError("give a source face with -s or pairs with --map-faces SRC=REF") }
        if mapFaces.contains(where: { $0.split(separator: "=").count != 2 }) { throw ValidationError("--map-faces takes SOURCE=REFERENCE pairs") }
        guard (0...1).contains(mouthMask), (0...1).contains(opacity), (0...1).contains(sharpen) else {
            throw ValidationError("--mouth-mask, --opacity and --sharpen take values from 0 to 1")
        }
        guard (0...51).contains(videoQuality), detectEvery >= 1 else { throw ValidationError("--video-quality is 0...51 and --detect-every ≥ 1") }
    }

    func run() throws {
        if runtime.verbose { VisageLog.setLevel(.debug) }
        let pairs = mapFaces.map { $0.split(separator: "=").map(String.init) }
        for path in [source].compactMap({ $0 }) + pairs.flatMap({ $0 }) + [target] { try ImageIO.checkReadableFile(path) }
        let inputs = ([source, target].compactMap { $0 } + pairs.flatMap { $0 }).map { URL(fileURLWithPath: $0).standardizedFileURL.resolvingSymlinksInPath().path }
        let out = URL(fileURLWithPath: output).standardizedFileURL
        if inputs.contains(out.resolvingSymlinksInPath().path) {
            throw VisageError.invalidArgument("the output \(output) is one of the inputs; choose another path (nothing was written)")
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: out.deletingLastPathComponent().path, isDirectory: &isDir), isDir.boolValue else {
            throw VisageError.writeFailed(path: output, reason: "directory \(out.deletingLastPathComponent().path) does not exist")
        }
        let video = MediaKind.isVideo(target)
        if video != MediaKind.isVideo(output) {
            throw VisageError.invalidArgument(video ? "the target is a video: the output must be .mp4 or .mov" : "the target is an image: the output must be an image file")
        }

        let config = try runtime.sessionConfig()
        let store = ModelStore()
        // Videos: the detector sees at most 640 px (faces in video are large enough; detection stays cheap).
        let detection = MediaKind.isVideo(target) ? DetectionOptions(maxInputSide: 640) : DetectionOptions()
        let faceDetector = try DetectorFactory.make(model: detector, store: store, options: detection, config: config)
        Banner.print(plan: faceDetector.session.plan)
        let landmarker = try PFLDLandmarker.make(store: store, config: config)
        let options = AnalysisOptions(landmarks: true, pose: false, embeddings: false, detectEvery: detectEvery)
        let analyzer = try FaceAnalyzer(detector: faceDetector, landmarker: landmarker, embedder: nil, options: options)

        // Every source identity, computed once for the whole run.
        struct SourceIdentity {
            let path: String
            let image: Image
            let face: AnalyzedFace
            var engine: FaceSwapEngine? = nil
            var reference: [Float]? = nil
        }
        var timings = AnalysisTimings()
        func identity(_ path: String) throws -> SourceIdentity {
            let image = try ImageIO.read(path)
            guard let face = try analyzer.analyze(image, timings: &timings).max(by: { $0.box.area < $1.box.area }), face.landmarks != nil else {
                throw VisageError.invalidImage(path: path, reason: "no face found in the source image")
            }
            return SourceIdentity(path: path, image: image, face: face)
        }
        var identities = try (pairs.isEmpty ? [source!] : pairs.map { $0[0] }).map(identity)
        // --map-faces: who is who in the target is decided by SFace similarity to the reference photos.
        let recognizer = pairs.isEmpty ? nil : try FaceEmbedder.make(store: store, config: config)
        if let recognizer {
            for (i, pair) in pairs.enumerated() {
                let ref = try identity(pair[1])
                identities[i].reference = try recognizer.embed(ref.image, keypoints: ref.face.keypoints)
            }
        }
        // One swap engine per source identity (landmarks, and for inswapper the latent, computed once).
        let neural = try swapModels.loadNetworks(store: store, config: config)
        let engineOptions = FaceSwapEngine.Options(mouthMask: mouthMask, opacity: opacity, colorTransfer: !noColorCorrection,
                                                   colorCorrection: colorCorrection, sharpen: sharpen)
        for i in identities.indices {
            identities[i].engine = try FaceSwapEngine(source: identities[i].image, sourceFace: identities[i].face, options: engineOptions,
                                                      inswapper: neural?.0, embedder: neural?.1)
        }
        var decided: [Int: Int?] = [:]   // track id → identity index (nil: leave that face alone)
        func assignment(_ face: AnalyzedFace, in frame: Image) throws -> Int? {
            guard let recognizer else { return 0 }
            if let id = face.id, let known = decided[id] { return known }
            let embedding = try recognizer.embed(frame, keypoints: face.keypoints)
            let scored = identities.indices.map { ($0, FaceEmbedder.similarity(embedding, identities[$0].reference!)) }
            let best = scored.max { $0.1 < $1.1 }
            let choice = best.flatMap { $0.1 >= recognizer.profile.threshold ? $0.0 : nil }
            if let id = face.id { decided[id] = choice }
            return choice
        }
        let swapFaces = { (frame: Image, faces: [AnalyzedFace]) throws -> Int in
            let chosen = manyFaces || recognizer != nil ? faces : (faces.max(by: { $0.box.area < $1.box.area }).map { [$0] } ?? [])
            var count = 0
            for face in chosen {
                guard let who = try assignment(face, in: frame), let engine = identities[who].engine else { continue }
                try engine.swap(face, in: frame)
                count += 1
            }
            return count
        }

        if !video {
            let frame = try ImageIO.read(target)
            let faces = try analyzer.analyze(frame, timings: &timings)
            let swapped = try swapFaces(frame, faces)
            if swapped == 0 { FileHandle.standardError.write(Data("visage: warning: no face in \(target); the output is an unchanged copy\n".utf8)) }
            if watermark { Self.drawWatermark(on: frame) }
            try ImageIO.writeLabelled(frame, to: output, operation: "face swap")
            print("\(output): swapped \(swapped) face\(swapped == 1 ? "" : "s")")
            return
        }

        let reader = try VideoReader(path: target)
        let withAudio = keepAudio && !noAudio
        let writer = try VideoWriter(path: output, width: reader.width, height: reader.height, fps: reader.fps > 0 ? reader.fps : 25,
                                     encoder: videoEncoder, quality: videoQuality, audioFrom: withAudio ? target : nil,
                                     label: SyntheticMediaLabel.text(operation: "face swap"))
        let framesDirectory = keepFrames ? try Self.makeFramesDirectory(for: out) : nil
        let progress = Progress(total: reader.frameCount, label: "swap")
        var frames = 0, swappedFrames = 0
        // decode ∥ detect/track ∥ swap ∥ encode: each on its own thread with a short queue, so
        // frame N+1 is detected while frame N is swapped and frame N-1 is encoded.
        let decoder = FramePrefetcher(reader)
        defer { decoder.stop() }
        let analysis = AsyncStage<(Image, [AnalyzedFace])>(name: "visage.detect", depth: 2) {
            guard let frame = try decoder.next() else { return nil }
            var stageTimings = AnalysisTimings()
            return (frame, try analyzer.analyzeNext(frame, timings: &stageTimings).faces)
        }
        defer { analysis.stop() }
        do {
            while let (frame, faces) = try analysis.next() {
                try Interrupt.check()
                if try swapFaces(frame, faces) > 0 { swappedFrames += 1 }
                if watermark { Self.drawWatermark(on: frame) }
                try writer.write(frame)
                frames += 1
                if let framesDirectory {
                    try ImageIO.writeLabelled(frame, to: framesDirectory.appendingPathComponent(String(format: "%06d.png", frames)).path,
                                              operation: "face swap")
                }
                progress.update(frames)
            }
            try writer.finish()
        } catch {
            writer.cancel()
            throw error
        }
        progress.done()
        if swappedFrames == 0 {
            FileHandle.standardError.write(Data("visage: warning: no face found in \(target); the video was copied through unchanged\n".utf8))
        }
        print("\(output): \(frames) frames, faces swapped in \(swappedFrames)")
    }

    /// OUTPUT_frames/ beside the output; refuses to mix with frames of an earlier run.
    static func makeFramesDirectory(for output: URL) throws -> URL {
        let url = output.deletingLastPathComponent().appendingPathComponent(output.deletingPathExtension().lastPathComponent + "_frames")
        if FileManager.default.fileExists(atPath: url.path),
           let existing = try? FileManager.default.contentsOfDirectory(atPath: url.path), !existing.isEmpty {
            throw VisageError.writeFailed(path: url.path, reason: "the frames folder already has files; remove it or choose another output")
        }
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw VisageError.writeFailed(path: url.path, reason: error.localizedDescription)
        }
        return url
    }

    /// The optional visible mark (the machine-readable label is always written).
    static func drawWatermark(on frame: Image) {
        Drawing.text(frame, "AI-altered", at: Point(Float(frame.width) * 0.02, Float(frame.height) * 0.97),
                     scale: Double(frame.height) / 900, color: .white, thickness: max(1, frame.height / 500))
    }
}
