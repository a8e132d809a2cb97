import Foundation

/// Writes that never leave a half-written file: write to a temporary sibling, then rename.
public enum AtomicFile {
    /// A temporary path next to `destination` with the same extension (encoders pick the format by extension).
    public static func temporarySibling(of destination: URL) -> URL {
        let dir = destination.deletingLastPathComponent()
        let ext = destination.pathExtension
        let name = ".\(destination.deletingPathExtension().lastPathComponent).partial-\(UUID().uuidString.prefix(8))"
        return dir.appendingPathComponent(ext.isEmpty ? name : "\(name).\(ext)")
    }

    /// Runs `write` on a temporary path and moves the result over `destination` only if it succeeded.
    public static func write(to destination: URL, _ write: (URL) throws -> Void) throws {
        let dir = destination.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw VisageError.writeFailed(path: destination.path, reason: "directory \(dir.path) does not exist")
        }
        let temp = temporarySibling(of: destination)
        do {
            try write(temp)
            // rename(2) replaces the destination atomically (same directory, same file system).
            guard rename(temp.path, destination.path) == 0 else {
                throw VisageError.writeFailed(path: destination.path, reason: String(cString: strerror(errno)))
            }
        } catch {
            try? FileManager.default.removeItem(at: temp)
            if let e = error as? VisageError { throw e }
            throw VisageError.writeFailed(path: destination.path, reason: describe(error))
        }
    }

    /// The operating system's words for a failed write ("No space left on device"), not Foundation's dump.
    public static func describe(_ error: Error) -> String {
        if let cocoa = error as? CocoaError {
            switch cocoa.code {
            case .fileWriteOutOfSpace: return String(cString: strerror(ENOSPC))
            case .fileWriteNoPermission: return String(cString: strerror(EACCES))
            case .fileWriteVolumeReadOnly: return String(cString: strerror(EROFS))
            default: break
            }
        }
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        // Foundation's generic codes carry no words of their own ("NSCocoaErrorDomain error 512"): say what kind of failure it was.
        if let cocoa = error as? CocoaError {
            if cocoa.isFileError, let path = cocoa.filePath ?? cocoa.url?.path { return "the file system refused \(path)" }
            if cocoa.isFileError { return "the file system refused the operation (a file where a folder should be, or no permission)" }
        }
        return ns.localizedDescription
    }

    public static func write(_ data: Data, to destination: URL) throws {
        try write(to: destination) { try data.write(to: $0) }
    }
}
