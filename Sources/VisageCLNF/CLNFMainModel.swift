import Foundation
import VisageAU
import VisageCore

/// A part model of the hierarchy (`LandmarkDetector_part` line): its own CLNF, the landmark mapping
/// (index in the main model, index in the part) and the parameters `CLNF::Read` gives it.
public struct CLNFPartModel: Sendable {
    public let name: String
    public let model: CLNFModel
    public let mapping: [(main: Int, part: Int)]
    public let parameters: CLNFParameters
}

/// OpenFace's main landmark model file (`main_clnf_general.txt`): the main CLNF and its part models.
/// Immutable and shareable; each `CLNFLandmarkDetector` keeps its own fitting buffers.
public struct CLNFMainModel: Sendable {
    public let main: CLNFModel
    public let parts: [CLNFPartModel]

    /// Reads `LandmarkDetector <file>` and `LandmarkDetector_part <main file> <name> (main part)…` lines.
    /// Other modules (face detector conversion, validator) belong to other components and are ignored.
    /// With `sigmaCache`, every model's response covariances persist there across processes.
    public init(contentsOf url: URL, sigmaCache: CCNFSigmaCache? = nil) throws {
        let lines = try CLNFModelFileLines(url: url)
        var main: CLNFModel?
        var parts: [CLNFPartModel] = []
        for (module, rest) in lines.entries {
            let words = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            switch module {
            case "LandmarkDetector":
                main = try CLNFModel(contentsOf: lines.folder.appendingPathComponent(words[0]), sigmaCache: sigmaCache)
            case "LandmarkDetector_part":
                guard words.count >= 2, words.count % 2 == 0 else {
                    throw VisageError.invalidModel(path: url.path, reason: "part line '\(rest)' needs a file, a name and index pairs")
                }
                let name = words[1]
                guard let parameters = CLNFParameters.part(named: name) else {
                    throw VisageError.invalidModel(path: url.path, reason: "unknown part model name '\(name)'")
                }
                var mapping: [(main: Int, part: Int)] = []
                var k = 2
                while k + 1 < words.count {
                    guard let a = Int(words[k]), let b = Int(words[k + 1]) else {
                        throw VisageError.invalidModel(path: url.path, reason: "part '\(name)': index pair '\(words[k]) \(words[k + 1])' is not numeric")
                    }
                    mapping.append((a, b))
                    k += 2
                }
                // The part's own main file names its CLNF on a `LandmarkDetector` line.
                let partMain = try CLNFModelFileLines(url: lines.folder.appendingPathComponent(words[0]))
                guard let entry = partMain.entries.first(where: { $0.0 == "LandmarkDetector" }) else {
                    throw VisageError.invalidModel(path: words[0], reason: "no LandmarkDetector line")
                }
                let model = try CLNFModel(contentsOf: partMain.folder.appendingPathComponent(entry.1), sigmaCache: sigmaCache)
                parts.append(CLNFPartModel(name: name, model: model, mapping: mapping, parameters: parameters))
            default:
                continue
            }
        }
        guard let main else { throw VisageError.invalidModel(path: url.path, reason: "no LandmarkDetector line") }
        for part in parts {
            for pair in part.mapping where !(0..<main.pointCount).contains(pair.main) || !(0..<part.model.pointCount).contains(pair.part) {
                throw VisageError.invalidModel(path: url.path, reason: "part '\(part.name)' maps \(pair.main)→\(pair.part), outside \(main.pointCount)/\(part.model.pointCount) landmarks")
            }
        }
        self.main = main
        self.parts = parts
    }

    /// `main_clnf_general.txt` in OpenFace's model folder (`.../lib/local/LandmarkDetector/model`).
    public init(openFaceModelFolder folder: URL, sigmaCache: CCNFSigmaCache? = nil) throws {
        try self.init(contentsOf: folder.appendingPathComponent("main_clnf_general.txt"), sigmaCache: sigmaCache)
    }
}
