import Foundation
import VisageAU
import VisageCore
import VisageFace
import VisageLive
import VisageMedia
import VisageRuntime
import VisageSwap

/// What `visage live` and `visage bench live` build before a run: the source, and the work
/// (detect/track, optional swap with its source face computed once, optional AUs).
enum LiveSetup {
    struct SwapChoice {
        var face: String
        var swapper = "landmark"
        var swapModel: String?
        var recognizerModel: String?
        var options = FaceSwapEngine.Options()
    }

    /// `--input`: a camera index or /dev/videoN, a video file, or a folder of images.
    static func openSource(_ input: String, realtime: Bool, loop: Bool, fps: Double, mode: LiveMode) throws -> LiveSource {
        if let index = CameraDiscovery.index(of: input), !FileManager.default.fileExists(atPath: input) || input.hasPrefix("/dev/") {
            return try CameraSource(index: index, width: mode.maxWidth, height: mode.maxHeight, fps: mode.targetFPS)
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDir) else { throw VisageError.fileNotFound(path: input) }
        if isDir.boolValue { return try ImageFolderSource(folder: input, fps: fps, realtime: realtime, loop: loop) }
        return try VideoFileSource(path: input, realtime: realtime, loop: loop)
    }

    static func makeWork(detector: String, mode: LiveMode, settings: QualitySettings, swap: SwapChoice?, auCSV: URL?, multiFace: Bool,
                         manyFaces: Bool, frameWidth: Int, frameHeight: Int, store: ModelStore, config: SessionConfig) throws -> FaceWork {
        let tracking = try FaceTrackingStage.make(detector: detector, side: settings.detectorSide, detectEvery: settings.detectEvery,
                                                  store: store, config: config)
        var engine: FaceSwapEngine?
        if let swap {
            try ImageIO.checkReadableFile(swap.face)
            let photo = try ImageIO.read(swap.face)
            // The source face: found once at full resolution, never again per frame.
            let still = try FaceAnalyzer(detector: try DetectorFactory.make(model: detector, store: store, config: config),
                                         landmarker: tracking.analyzer.landmarker, embedder: nil,
                                         options: AnalysisOptions(landmarks: true, pose: false))
            var timings = AnalysisTimings()
            guard let face = try still.analyze(photo, timings: &timings).max(by: { $0.box.area < $1.box.area }), face.landmarks != nil else {
                throw VisageError.invalidImage(path: swap.face, reason: "no face found in the source image")
            }
            let neural = try SwapperOptions.loadNetworks(swapper: swap.swapper, swapModel: swap.swapModel,
                                                         recognizerModel: swap.recognizerModel, store: store, config: config)
            var options = swap.options
            if mode.enhancer && options.sharpen == 0 { options.sharpen = 0.3 }
            engine = try FaceSwapEngine(source: photo, sourceFace: face, options: options, inswapper: neural?.0, embedder: neural?.1)
        }
        var recorder: AURecorder?
        if let auCSV {
            let models = try AUModels(root: try AU.openFaceRoot(store: store))
            let camera = Geometry3D.Camera.openFaceDefault(width: frameWidth, height: frameHeight)
            // Live AUs follow OpenFace's online rules: each row is final when it is written.
            recorder = try AURecorder(models: models, options: AURecorder.Options(camera: camera, online: true, multiFace: multiFace), csv: auCSV)
        }
        return FaceWork(tracking: tracking, swapper: engine, au: recorder, manyFaces: manyFaces)
    }

    /// ":8090", "8090" or "host:8090".
    static func parseStream(_ text: String) throws -> (host: String, port: Int) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let host = parts.count > 1 && !parts[0].isEmpty ? String(parts[0]) : "0.0.0.0"
        guard let last = parts.last, let port = Int(last), (0...65535).contains(port) else {
            throw VisageError.invalidArgument("--stream \(text): give a port, e.g. --stream :8090")
        }
        return (host, port)
    }

    /// The session settings a mode allows (battery: CPU only; its thread count unless --threads).
    static func sessionConfig(_ runtime: RuntimeOptions, mode: LiveMode) throws -> SessionConfig {
        var config = try runtime.sessionConfig()
        if !mode.acceleratorAllowed { config.accelerator = .cpu }
        if runtime.threads == 0 { config.intraOpThreads = mode.threads }
        return config
    }
}
