import Foundation
import VisageCore
import VisageRuntime

/// What a front end does with a job's `requiredModels` before running it: find the missing ones, and
/// (the command line) install them, or (the server) report them.
public enum RequiredModels {
    /// The ids among `ids` that are not installed (unknown ids throw `unknownModel`).
    public static func missing(_ ids: [String], store: ModelStore) throws -> [String] {
        var seen = Set<String>()
        return try ids.filter { seen.insert($0).inserted }.filter { !store.isInstalled(try ModelCatalog.entry($0)) }
    }

    /// Installs the missing ones (download or mirror copy, sha256-verified), one log line each.
    public static func install(_ ids: [String], store: ModelStore, progress: Bool) throws {
        for id in try missing(ids, store: store) {
            try store.install(try ModelCatalog.entry(id), progress: progress)
        }
    }
}
