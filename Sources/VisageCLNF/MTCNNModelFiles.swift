import Foundation
import VisageCore

/// OpenFace's `MTCNN_detector.txt` and the three networks it names (`FaceDetectorMTCNN::Read`):
/// lines `PNet PNet.dat`, `RNet RNet.dat`, `ONet ONet.dat`, paths relative to the list's folder.
struct MTCNNModelFiles {
    var pnet: [OpenFaceCNNLayer]
    var rnet: [OpenFaceCNNLayer]
    var onet: [OpenFaceCNNLayer]
    var pnetPath: String
    var rnetPath: String
    var onetPath: String

    /// `location`: the `mtcnn_detector` folder, or its `MTCNN_detector.txt`.
    init(location: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location.path, isDirectory: &isDirectory) else {
            throw VisageError.fileNotFound(path: location.path)
        }
        let list = isDirectory.boolValue ? location.appendingPathComponent("MTCNN_detector.txt") : location
        guard FileManager.default.fileExists(atPath: list.path) else { throw VisageError.fileNotFound(path: list.path) }
        let text: String
        do {
            text = try String(contentsOf: list, encoding: .utf8)
        } catch {
            throw VisageError.unreadable(path: list.path, reason: error.localizedDescription)
        }
        var paths: [String: URL] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard fields.count >= 2 else { continue }
            paths[String(fields[0])] = list.deletingLastPathComponent().appendingPathComponent(String(fields[1]))
        }
        func network(_ module: String) throws -> (URL, [OpenFaceCNNLayer]) {
            guard let url = paths[module] else {
                throw VisageError.unreadable(path: list.path, reason: "names no \(module) file (expected a line '\(module) \(module).dat')")
            }
            var reader = try OpenFaceBinaryReader(contentsOf: url)
            let layers = try reader.cnnLayers(.mtcnn, context: module)
            guard reader.isAtEnd else { throw reader.corrupt("\(reader.byteCount - reader.offset) bytes follow the last layer") }
            return (url, layers)
        }
        let p = try network("PNet"), r = try network("RNet"), o = try network("ONet")
        (pnetPath, pnet) = (p.0.path, p.1)
        (rnetPath, rnet) = (r.0.path, r.1)
        (onetPath, onet) = (o.0.path, o.1)
    }
}
