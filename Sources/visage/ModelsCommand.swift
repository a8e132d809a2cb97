import ArgumentParser
import Foundation
import VisageCore
import VisageJobs
import VisageRuntime

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, install, verify and locate models.",
        subcommands: [List.self, Install.self, Verify.self, Path.self, ModelsOptimize.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Models Visage knows, and which are installed.")
        @Flag(help: "Print JSON on stdout.") var json = false

        func run() throws {
            let listing = ModelListing.collect(store: ModelStore())
            if json { try Output.json(listing); return }
            print("Models (cache: \(listing.directory))")
            for e in listing.models {
                let note = e.requiresAcceptance ? " [licence must be accepted]" : e.nonCommercial ? " [non-commercial]" : ""
                print(String(format: "  %-24@ %-14@ %10@  %@%@", e.id as NSString, e.task as NSString, Self.size(e.size) as NSString,
                             (e.installed ? "installed" : "-") as NSString, note as NSString))
            }
        }

        static func size(_ bytes: Int64) -> String {
            let b = Double(bytes)
            return b >= 1_048_576 ? String(format: "%.1f MB", b / 1_048_576) : String(format: "%.0f KB", b / 1024)
        }
    }

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download (or copy from $VISAGE_MODEL_MIRROR), verify sha256, install atomically.")
        @Argument(help: "Model ids (see `visage models list`).") var ids: [String]
        @Flag(help: "Accept the model's licence (needed for OpenFace; or set VISAGE_ACCEPT_LICENSES=1).") var acceptLicense = false
        @Flag(help: "Reinstall even when present.") var force = false

        func run() throws {
            let entries = try ids.map(ModelCatalog.entry)   // unknown ids fail before any download
            var store = ModelStore()
            if acceptLicense { store.acceptLicenses = true }
            for entry in entries {
                if entry.requiresAcceptance && store.acceptLicenses {
                    FileHandle.standardError.write(Data("visage: licence of \(entry.id) accepted: \(entry.license)\n".utf8))
                }
                try store.install(entry, force: force)
                print("\(entry.id): \(store.directory(for: entry).path)")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-hash installed files against their sha256.")
        @Argument(help: "Model ids (default: every installed model).") var ids: [String] = []

        func run() throws {
            let store = ModelStore()
            let entries = ids.isEmpty ? ModelCatalog.all.filter(store.isInstalled) : try ids.map(ModelCatalog.entry)
            var bad = 0
            for entry in entries {
                for (file, status) in store.verify(entry) {
                    switch status {
                    case .ok: print("ok        \(entry.id)/\(file.path)")
                    case .missing: bad += 1; print("MISSING   \(entry.id)/\(file.path)")
                    case .mismatch(let actual):
                        bad += 1
                        print("MISMATCH  \(entry.id)/\(file.path): expected \(file.sha256), got \(actual)")
                    }
                }
            }
            if entries.isEmpty { print("no models installed") }
            if bad > 0 { throw VisageError.invalidModel(path: store.root.path, reason: "\(bad) file(s) missing or corrupt; reinstall with `visage models install --force <id>`") }
        }
    }

    struct Path: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the path of an installed model's main file.")
        @Argument var id: String

        func run() throws { print(try ModelStore().path(for: id)) }
    }
}
