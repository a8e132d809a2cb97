import Foundation
import VisageRuntime

/// Every model Visage knows, its licence, and whether it is installed (`visage models list`, the server).
public struct ModelListing: Codable, Sendable {
    public var directory: String
    public var models: [Entry]

    public struct Entry: Codable, Sendable {
        public var id: String
        public var task: String
        public var size: Int64
        public var files: Int
        public var license: String
        public var nonCommercial: Bool
        public var requiresAcceptance: Bool
        public var installed: Bool
        public var urls: [String]
        public var io: String

        enum CodingKeys: String, CodingKey {
            case id, task, size, files, license, installed, urls, io
            case nonCommercial = "non_commercial", requiresAcceptance = "requires_acceptance"
        }
    }

    public static func collect(store: ModelStore) -> ModelListing {
        ModelListing(directory: store.root.path, models: ModelCatalog.all.map { e in
            Entry(id: e.id, task: e.task.rawValue, size: e.totalSize, files: e.files.count, license: e.license, nonCommercial: e.nonCommercial,
                  requiresAcceptance: e.requiresAcceptance, installed: store.isInstalled(e),
                  urls: e.files.count == 1 ? e.files[0].urls : [e.files[0].urls.first ?? ""], io: e.io)
        })
    }
}
