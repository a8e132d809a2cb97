import Foundation
import VisageCore

/// Checks installed model files against their catalogue sha256 on every load, hashing a file only when its
/// size or modification time changed since it was last found good (the record lives in the store's root,
/// `.verified`). Catches bit rot and bad copies of the same size, which a size check alone lets through and
/// which otherwise surface as NaN outputs or crashes far from their cause.
struct IntegrityCache {
    let root: URL
    private var record: URL { root.appendingPathComponent(".verified") }
    private static let lock = Locked<Void>(())

    /// Throws `checksumMismatch` for the first file whose bytes are not the catalogue's.
    func check(_ entry: ModelEntry, store: ModelStore) throws {
        try Self.lock.withLock { _ in
            var known = load()
            var changed = false
            for file in entry.files {
                // A file without a published sha256 is held to the one its first install recorded.
                guard let expected = file.isPinned ? file.sha256 : store.recordedHash(of: file, in: entry)?.sha256 else { continue }
                let url = store.location(of: file, in: entry)
                let stamp = try Self.stamp(of: url)
                let key = url.path
                if known[key] == "\(stamp):\(expected)" { continue }
                let actual = try ModelStore.sha256(of: url)
                guard actual == expected else {
                    known.removeValue(forKey: key)
                    save(known)
                    throw VisageError.checksumMismatch(path: url.path, expected: expected, actual: actual)
                }
                known[key] = "\(stamp):\(expected)"
                changed = true
            }
            if changed { save(known) }
        }
    }

    /// Records files just verified at install, so their first load does not hash them again.
    func markGood(_ files: [(url: URL, sha256: String)]) {
        Self.lock.withLock { _ in
            var known = load()
            for (url, sha) in files {
                guard let stamp = try? Self.stamp(of: url) else { continue }
                known[url.path] = "\(stamp):\(sha)"
            }
            save(known)
        }
    }

    private static func stamp(of url: URL) throws -> String {
        guard let s = FileStat(path: url.path) else { throw VisageError.fileNotFound(path: url.path) }
        return "\(s.size)-\(s.modifiedNanoseconds / 1_000_000)"
    }

    private func load() -> [String: String] {
        guard let data = try? Data(contentsOf: record),
              let decoded = try? JSONDecoder().decode([String: String].self, from: data) else { return [:] }
        return decoded
    }

    private func save(_ known: [String: String]) {
        // Best effort: a read-only store still works, it just hashes again next time.
        guard let data = try? JSONEncoder().encode(known) else { return }
        try? AtomicFile.write(data, to: record)
    }
}
