/// What a model is for.
public enum ModelTask: String, Sendable, Codable {
    case detect, recognize, landmarks68, landmarks106, landmarks68_3d, swap, enhance, attributes, openface, other
}

/// One file of a model, with where it comes from and how to check it.
public struct ModelFile: Sendable, Equatable {
    /// Path inside the model's install directory (OpenFace keeps its repository layout).
    public var path: String
    /// Lowercase hex; empty when no publisher states one (see `isPinned`).
    public var sha256: String
    /// Bytes; 0 when unknown (unpinned files).
    public var size: Int64
    /// Official download URLs, tried in order.
    public var urls: [String]
    /// Set when the URL is a zip archive (insightface's buffalo_*.zip) holding this file.
    public var archiveMember: String?
    /// Where the file sits inside a folder laid out like shared/models (VISAGE_MODEL_MIRROR).
    public var mirrorPath: String

    /// False when no sha256 was published for the file: the store then records the hash of the first
    /// copy it installs (trust on first use), says so in the log, and verifies later copies against that.
    public var isPinned: Bool { !sha256.isEmpty }
}

/// A model the store knows: facts from shared/models/models.json, generated into code.
public struct ModelEntry: Sendable, Equatable {
    public var id: String
    public var task: ModelTask
    public var files: [ModelFile]
    public var license: String
    /// Shown at install so nobody uses it commercially by accident.
    public var nonCommercial: Bool
    /// Needs `--accept-license` or VISAGE_ACCEPT_LICENSES=1 before download (OpenFace).
    public var requiresAcceptance: Bool
    /// The licence is printed at install even though it is not marked non-commercial (weights with
    /// their own terms, e.g. GFPGAN's).
    public var licenseNotice: Bool = false
    /// Tensor conventions, for `visage models list --json` and the docs.
    public var io: String

    public var totalSize: Int64 { files.reduce(0) { $0 + $1.size } }
    /// The file a session loads (the first; multi-file models are folders of assets).
    public var primaryFile: ModelFile { files[0] }
}

/// The registry of every model Visage knows.
public enum ModelCatalog {
    public static var all: [ModelEntry] { entries }

    public static func entry(_ id: String) throws -> ModelEntry {
        if let e = entries.first(where: { $0.id == id }) { return e }
        throw VisageErrorBridge.unknownModel(id, known: entries.map(\.id))
    }
}
