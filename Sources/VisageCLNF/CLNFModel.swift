import Foundation
import VisageAU
import VisageCore

/// A single-level CLNF model (`CLNF::Read_CLNF` of a `clnf_*.txt` file): the PDM and the CCNF patch experts
/// of each scale. Immutable and shared; fitting state lives in a `CLNFFitter`.
public struct CLNFModel: Sendable {
    /// The file's name without extension (e.g. `clnf_general`).
    public let name: String
    public let shape: CLNFShapeModel
    public let patchExperts: CCNFPatchExperts
    let sigmas: CCNFSigmas

    public var pointCount: Int { shape.pointCount }

    /// Reads a `clnf_*.txt` module list: `PDM <file>`, `PatchesCCNF <file>` (one per scale, coarse to fine),
    /// `Triangulations <file>` (not needed for fitting). Paths are relative to the file's folder.
    /// With `sigmaCache`, the response covariances persist there across processes (`CCNFSigmaCache`).
    public init(contentsOf url: URL, sigmaCache: CCNFSigmaCache? = nil) throws {
        let lines = try CLNFModelFileLines(url: url)
        var pdmURL: URL?
        var patches: [URL] = []
        for (module, rest) in lines.entries {
            let location = lines.folder.appendingPathComponent(rest)
            switch module {
            case "PDM": pdmURL = location
            case "PatchesCCNF": patches.append(location)
            case "PatchesIntensity", "PatchesCEN":
                throw VisageError.invalidModel(path: url.path, reason: "\(module) experts are not supported (only CCNF, as in main_clnf_general)")
            default: continue
            }
        }
        guard let pdmURL else { throw VisageError.invalidModel(path: url.path, reason: "no PDM line") }
        guard !patches.isEmpty else { throw VisageError.invalidModel(path: url.path, reason: "no PatchesCCNF line") }
        let pdm = try PointDistributionModel(contentsOf: pdmURL)
        let experts = try CCNFPatchExperts(files: patches)
        guard experts.landmarkCount == pdm.pointCount else {
            throw VisageError.invalidModel(path: url.path, reason: "patch experts have \(experts.landmarkCount) landmarks, the PDM \(pdm.pointCount)")
        }
        name = url.deletingPathExtension().lastPathComponent
        shape = CLNFShapeModel(pdm: pdm)
        patchExperts = experts
        sigmas = CCNFSigmas(experts: experts, modelName: name, diskCache: sigmaCache)
    }
}

/// The lines of an OpenFace model list file: the first word is the module, the rest of the line (first
/// space removed, trailing carriage return dropped) its argument, as `Read_CLNF` splits them.
struct CLNFModelFileLines {
    let folder: URL
    let entries: [(String, String)]

    init(url: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw VisageError.fileNotFound(path: url.path)
        }
        guard !isDirectory.boolValue else { throw VisageError.notAFile(path: url.path) }
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw VisageError.unreadable(path: url.path, reason: "not a UTF-8 text file")
        }
        folder = url.deletingLastPathComponent()
        var entries: [(String, String)] = []
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let space = line.firstIndex(where: { $0 == " " || $0 == "\t" }) else { continue }
            let module = String(line[..<space])
            let rest = String(line[line.index(after: space)...]).trimmingCharacters(in: .whitespaces)
            guard !module.isEmpty, !rest.isEmpty else { continue }
            entries.append((module, rest))
        }
        self.entries = entries
    }
}
