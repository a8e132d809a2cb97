import ArgumentParser
import VisageFace
import VisageRuntime
import VisageSwap

/// `--swapper`, `--swap-model`, `--recognizer-model`: the swap method and, for inswapper, its two networks.
/// Shared by `visage swap`, `visage live` and `visage bench swap`.
struct SwapperOptions: ParsableArguments {
    @Option(help: "landmark (no swap model, CPU real-time) or inswapper (insightface inswapper_128; needs inswapper-128 and arcface-w600k-r50).")
    var swapper: String = "landmark"

    @Option(help: "inswapper: path of the swap model instead of the installed inswapper-128.")
    var swapModel: String?

    @Option(help: "inswapper: path of the ArcFace model instead of the installed arcface-w600k-r50.")
    var recognizerModel: String?

    func validate() throws {
        guard ["landmark", "inswapper"].contains(swapper) else { throw ValidationError("--swapper is landmark or inswapper") }
    }

    /// inswapper_128 and its ArcFace recogniser (nil for the landmark swapper), loaded once per run.
    func loadNetworks(store: ModelStore, config: SessionConfig) throws -> (INSwapper, FaceEmbedder)? {
        try Self.loadNetworks(swapper: swapper, swapModel: swapModel, recognizerModel: recognizerModel, store: store, config: config)
    }

    /// The given model paths, else the installed models.
    static func loadNetworks(swapper: String, swapModel: String?, recognizerModel: String?, store: ModelStore,
                             config: SessionConfig) throws -> (INSwapper, FaceEmbedder)? {
        guard swapper == "inswapper" else { return nil }
        let model = try INSwapper(modelPath: try swapModel ?? store.path(for: "inswapper-128"), config: config)
        let arcface = try FaceEmbedder(profile: .arcface, modelPath: try recognizerModel ?? store.path(for: "arcface-w600k-r50"),
                                       config: config, derivedModels: store.derivedDirectory)
        return (model, arcface)
    }
}
