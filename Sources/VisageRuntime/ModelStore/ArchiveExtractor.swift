import Foundation
import VisageCore
import ZIPFoundation

/// Pulls one file out of a zip (insightface ships its models as buffalo_*.zip).
enum ArchiveExtractor {
    static func extract(member: String, from archiveURL: URL, to destination: URL) throws {
        let archive: Archive
        do { archive = try Archive(url: archiveURL, accessMode: .read) } catch {
            try? FileManager.default.removeItem(at: archiveURL)   // a corrupt download must not be reused
            throw VisageError.invalidModel(path: archiveURL.path, reason: "not a readable zip archive (\(error))")
        }
        // Members may sit at the root or inside a folder named after the pack.
        guard let item = archive.first(where: { $0.type == .file && ($0.path == member || $0.path.hasSuffix("/" + member)) }) else {
            throw VisageError.invalidModel(path: archiveURL.path, reason: "the archive has no \(member)")
        }
        try? FileManager.default.removeItem(at: destination)
        _ = try archive.extract(item, to: destination)
    }
}
