import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VisageCore
import VisageMedia
@testable import VisageServer

@Suite struct FileRoutesTests {
    /// An image upload is stored under its sha256 (the same bytes twice: once), its size and format
    /// read from its content.
    @Test func storesAnImageByContent() async throws {
        let server = try ServerFixtures.server()
        defer { server.stop() }
        let sample = ServerFixtures.sample("obama.jpg")
        try await server.application().test(.router) { client in
            let r = try await client.upload(sample, kind: "image", name: "obama.jpg")
            #expect(r.status == .created, "\(r.text)")
            let id = try #require(r.json["id"] as? String)
            let expected = try sha256Hex(sample)
            #expect(id == expected)
            #expect(r.json["format"] as? String == "jpeg" && r.json["kind"] as? String == "image")
            #expect((r.json["width"] as? Int ?? 0) > 0 && (r.json["height"] as? Int ?? 0) > 0)
            #expect(FileManager.default.fileExists(atPath: server.files.files.appendingPathComponent("\(id).jpg").path))
            let again = try await client.upload(sample, kind: "image", name: "copy.jpg")
            #expect(again.status == .created && again.json["id"] as? String == id)
            #expect(try FileManager.default.contentsOfDirectory(atPath: server.files.files.path).count == 1)
            let meta = try await client.execute(uri: "/v1/files/\(id)", method: .get)
            let size = try Data(contentsOf: sample).count
            #expect(meta.status == .ok && meta.json["size"] as? Int == size)
            let missing = try await client.execute(uri: "/v1/files/\(String(repeating: "0", count: 64))", method: .get)
            #expect(missing.status == .notFound && missing.errorCode == "not_found")
            let notAnID = try await client.execute(uri: "/v1/files/..%2F..%2Fetc%2Fpasswd", method: .get)
            #expect(notAnID.status == .notFound)
        }
    }

    /// Bad input: too large (413 before the body is stored), not an image (422 with a message), a
    /// hostile file name (metadata only, the file lands under its hash), a video that is not one.
    @Test func refusesOversizedAndFakeUploadsAndNeverUsesTheNameAsAPath() async throws {
        let server = try ServerFixtures.server { $0.maxImageUpload = 1024 }
        defer { server.stop() }
        try await server.application().test(.router) { client in
            let big = try await client.upload(ServerFixtures.sample("obama.jpg"), kind: "image")
            #expect(big.status == .contentTooLarge, "\(big.text)")
            #expect(big.errorMessage.contains("limited to"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: server.files.files.path).isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: server.files.temporary.path).isEmpty, "nothing half-stored")

            let fake = try await client.execute(uri: "/v1/files?kind=image", method: .post, body: ByteBuffer(string: "these bytes are no picture at all"))
            #expect(fake.status == .unprocessableContent && fake.errorCode == "invalid_file")
            #expect(fake.errorMessage.contains("not an image"), "\(fake.errorMessage)")
            #expect(!fake.errorMessage.contains(server.files.root.path), "no server path in \(fake.errorMessage)")

            let video = try await client.execute(uri: "/v1/files?kind=video&name=clip.mp4", method: .post, body: ByteBuffer(string: String(repeating: "x", count: 500)))
            #expect(video.status == .unprocessableContent && video.errorMessage.contains("not a video"), "\(video.text)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: server.files.temporary.path).isEmpty)

            let unsaid = try await client.execute(uri: "/v1/files", method: .post, body: ByteBuffer(string: "x"))
            #expect(unsaid.status == .badRequest && unsaid.errorField == "kind")
        }
        // A small real image under a hostile name.
        let roomy = try ServerFixtures.server()
        defer { roomy.stop() }
        let tiny = try ServerFixtures.temporaryDirectory().appendingPathComponent("tiny.png")
        try ImageIO.write(Image(width: 8, height: 8), to: tiny.path)
        try await roomy.application().test(.router) { client in
            let r = try await client.upload(tiny, kind: "image", name: "../../etc/passwd")
            #expect(r.status == .created, "\(r.text)")
            let id = try #require(r.json["id"] as? String)
            #expect(r.json["name"] as? String == "../../etc/passwd", "kept as metadata")
            #expect(try FileManager.default.contentsOfDirectory(atPath: roomy.files.files.path) == ["\(id).png"])
            #expect(!FileManager.default.fileExists(atPath: roomy.files.root.deletingLastPathComponent().appendingPathComponent("etc").path))
        }
    }
}
