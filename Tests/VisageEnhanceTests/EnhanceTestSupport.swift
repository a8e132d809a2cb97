import Foundation
import VisageCore
import VisageMedia
import VisageRuntime

enum EnhanceFixtures {
    static let repository: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { dir.deleteLastPathComponent() }
        return dir
    }()
    static let shared = repository.deletingLastPathComponent().appendingPathComponent("shared", isDirectory: true)
    static func media(_ relative: String) -> String { shared.appendingPathComponent("media/" + relative).path }
    static func sample(_ name: String) -> String { repository.appendingPathComponent("Samples/" + name).path }

    /// The GFPGAN v1.4 twin that scripts/setup-twins.sh fills (make test runs it).
    static func gfpganTwin() throws -> String {
        let path = repository.appendingPathComponent(".deps/twins/GFPGANv1.4_twin.onnx").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw VisageError.modelNotInstalled(id: "GFPGANv1.4_twin.onnx", hint: "run scripts/setup-twins.sh (make test does) to fill the twins from shared/models/twins")
        }
        return path
    }

    /// A store in a fresh directory, fed from VISAGE_MODEL_MIRROR (CI) or the network.
    static func store(acceptLicenses: Bool? = nil) throws -> ModelStore {
        // Tests may install from the mirror on first use; the product's stores never do.
        var store = ModelStore(root: try temporaryDirectory(), acceptLicenses: acceptLicenses)
        store.installsMissing = true
        return store
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("visage-enhance-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func fixture(_ name: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw VisageError.fileNotFound(path: "Fixtures/\(name)")
        }
        return url
    }

    /// Largest per-sample difference of two same-sized 8-bit images, and how many samples differ by more than 1.
    static func difference(_ a: Image, _ b: Image) -> (worst: Int, overOne: Int, differing: Int) {
        precondition(a.width == b.width && a.height == b.height && a.channels == b.channels)
        var worst = 0, over = 0, differing = 0
        for y in 0..<a.height {
            let p = a.baseAddress.advanced(by: y * a.stride).assumingMemoryBound(to: UInt8.self)
            let q = b.baseAddress.advanced(by: y * b.stride).assumingMemoryBound(to: UInt8.self)
            for i in 0..<(a.width * a.channels) {
                let d = abs(Int(p[i]) - Int(q[i]))
                if d > 0 { differing += 1 }
                if d > 1 { over += 1 }
                worst = max(worst, d)
            }
        }
        return (worst, over, differing)
    }

    /// A photo-like test frame: smooth gradients plus texture, deterministic.
    static func texturedFrame(width: Int, height: Int, seed: UInt32 = 7) -> Image {
        let image = Image(width: width, height: height, channels: 3)
        var state = seed
        for y in 0..<height {
            let row = image.baseAddress.advanced(by: y * image.stride).assumingMemoryBound(to: UInt8.self)
            for x in 0..<width {
                for c in 0..<3 {
                    state = state &* 1_664_525 &+ 1_013_904_223
                    let smooth = (x * (c + 1) + y * (3 - c)) % 256
                    row[3 * x + c] = UInt8((smooth + Int(state >> 28)) % 256)
                }
            }
        }
        return image
    }
}
