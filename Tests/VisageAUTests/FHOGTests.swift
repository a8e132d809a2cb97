import Foundation
import Testing
import VisageCore
import VisageMedia
@testable import VisageAU

/// FHOG against OpenFace 2.2's own output: `default.hog` holds the descriptors OpenFace computed for the
/// 288 aligned faces saved next to it (`default_aligned/frame_det_00_*.bmp`), so every BMP → descriptor
/// pair is an exact oracle for our extractor.
@Suite struct FHOGTests {
    static let hogDirectory = AUTestEnvironment.reference.appendingPathComponent("default_hogalign", isDirectory: true)
    static let hogFile = hogDirectory.appendingPathComponent("default.hog").path
    static let alignedDirectory = hogDirectory.appendingPathComponent("default_aligned", isDirectory: true)
    /// Largest difference we accept from OpenFace's float32 values (features lie in 0...~0.5).
    static let tolerance = 1e-5

    /// One frame of an OpenFace `.hog` file.
    struct HOGFrame {
        var cols: Int
        var rows: Int
        var channels: Int
        var success: Bool
        var values: [Float]
    }

    /// Parses OpenFace's `.hog` layout: per frame int32 cols, int32 rows, int32 channels, float32 success
    /// (+1/−1), then cols·rows·channels float32, all little-endian.
    static func readHOGFile(_ path: String) throws -> [HOGFrame] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var frames: [HOGFrame] = []
        var offset = 0
        func int32(at position: Int) -> Int {
            Int(Int32(littleEndian: data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: position, as: Int32.self) }))
        }
        while offset < data.count {
            guard offset + 16 <= data.count else { throw VisageError.invalidArgument("\(path): truncated frame header at byte \(offset)") }
            let cols = int32(at: offset), rows = int32(at: offset + 4), channels = int32(at: offset + 8)
            let success = data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 12, as: Float.self) }
            let count = cols * rows * channels
            guard count > 0, offset + 16 + count * 4 <= data.count else {
                throw VisageError.invalidArgument("\(path): frame at byte \(offset) claims \(cols)x\(rows)x\(channels) values past the end")
            }
            let values = data.withUnsafeBytes { raw in
                (0..<count).map { raw.loadUnaligned(fromByteOffset: offset + 16 + $0 * 4, as: Float.self) }
            }
            frames.append(HOGFrame(cols: cols, rows: rows, channels: channels, success: success > 0, values: values))
            offset += 16 + count * 4
        }
        return frames
    }

    static func alignedFace(_ frame: Int) -> String {
        alignedDirectory.appendingPathComponent(String(format: "frame_det_00_%06d.bmp", frame)).path
    }

    @Test func geometryMatchesOpenFace() {
        let extractor = FHOGExtractor()
        #expect(extractor.rows == 12)
        #expect(extractor.cols == 12)
        #expect(extractor.descriptorLength == 4464)
    }

    /// All 288 faces, every value: |ours − OpenFace| ≤ 1e-5 (measured: see the printed summary).
    @Test func reproducesOpenFaceDescriptorsOnAllFrames() throws {
        let frames = try Self.readHOGFile(Self.hogFile)
        try #require(frames.count == 288, "default.hog should hold 288 frames, has \(frames.count)")
        let extractor = FHOGExtractor()
        let workspace = extractor.makeWorkspace()
        var output = [Double](repeating: .nan, count: extractor.descriptorLength)

        var maxDifference = 0.0, maxFrame = 0, maxIndex = 0
        var sumDifference = 0.0, valueCount = 0, exactFrames = 0
        var extractTime = Duration.zero
        let clock = ContinuousClock()
        for (i, reference) in frames.enumerated() {
            let frameNumber = i + 1
            #expect(reference.cols == 12 && reference.rows == 12 && reference.channels == 31)
            let image = try ImageIO.read(Self.alignedFace(frameNumber))
            try #require(image.width == 112 && image.height == 112 && image.channels == 3)
            extractTime += try clock.measure {
                try output.withUnsafeMutableBufferPointer { try extractor.extract(image, workspace: workspace, into: $0) }
            }
            var frameMax = 0.0
            for k in 0..<output.count {
                let difference = abs(output[k] - Double(reference.values[k]))
                sumDifference += difference
                frameMax = max(frameMax, difference)
                if difference > maxDifference { (maxDifference, maxFrame, maxIndex) = (difference, frameNumber, k) }
            }
            valueCount += output.count
            if frameMax == 0 { exactFrames += 1 }
        }
        let meanDifference = sumDifference / Double(valueCount)
        let perExtractMs = Double(extractTime.components.attoseconds) / 1e15 / Double(frames.count)
            + Double(extractTime.components.seconds) * 1000 / Double(frames.count)
        let cell = maxIndex / 31, feature = maxIndex % 31
        let location = maxDifference == 0 ? "(no value differs)"
            : "at frame \(maxFrame) index \(maxIndex) (row \(cell / 12), col \(cell % 12), feature \(feature))"
        let summary = "FHOG vs OpenFace default.hog: max |diff| \(maxDifference) \(location); mean |diff| \(meanDifference); "
            + "\(exactFrames)/\(frames.count) frames bit-exact; \(String(format: "%.3f", perExtractMs)) ms per extract"
        print(summary)
        #expect(maxDifference <= Self.tolerance, "\(summary)")
    }

    /// The extractor is shared, workspaces are per task: concurrent runs give the single-threaded result.
    @Test func concurrentExtractionsAgree() async throws {
        let extractor = FHOGExtractor()
        let images = try (1...4).map { try ImageIO.read(Self.alignedFace($0 * 50)) }
        let expected = try images.map { try extractor.descriptor(of: $0) }
        let results = try await withThrowingTaskGroup(of: (Int, [Double]).self) { group in
            for (i, image) in images.enumerated() {
                group.addTask {
                    let workspace = extractor.makeWorkspace()
                    var output = [Double](repeating: 0, count: extractor.descriptorLength)
                    for _ in 0..<3 {
                        try output.withUnsafeMutableBufferPointer { try extractor.extract(image, workspace: workspace, into: $0) }
                    }
                    return (i, output)
                }
            }
            var collected = [[Double]](repeating: [], count: images.count)
            for try await (i, output) in group { collected[i] = output }
            return collected
        }
        #expect(results == expected)
    }

    /// A face inside a larger buffer (row stride > row bytes) gives the same descriptor as a packed copy.
    @Test func honoursRowStride() throws {
        let face = try ImageIO.read(Self.alignedFace(1))
        let canvas = Image(width: 130, height: 120, channels: 3)
        for y in 0..<face.height {
            canvas.baseAddress.advanced(by: (y + 5) * canvas.stride + 7 * 3)
                .copyMemory(from: face.baseAddress.advanced(by: y * face.stride), byteCount: face.rowBytes)
        }
        let view = try #require(canvas.region(x: 7, y: 5, width: 112, height: 112))
        let extractor = FHOGExtractor()
        #expect(try extractor.descriptor(of: view) == extractor.descriptor(of: face))
    }

    /// dlib's grayscale path uses the single channel's gradient; a BGR image whose three channels are that
    /// same gray must give the identical descriptor (every colour tie resolves to an equal gradient).
    @Test func grayscaleMatchesEqualChannelColour() throws {
        let face = try ImageIO.read(Self.alignedFace(100))
        let gray = Image(width: 112, height: 112, channels: 1)
        let replicated = Image(width: 112, height: 112, channels: 3)
        for y in 0..<112 {
            for x in 0..<112 {
                let value = face.byte(x: x, y: y, channel: 1)
                gray.baseAddress.storeBytes(of: value, toByteOffset: y * gray.stride + x, as: UInt8.self)
                for c in 0..<3 {
                    replicated.baseAddress.storeBytes(of: value, toByteOffset: y * replicated.stride + x * 3 + c, as: UInt8.self)
                }
            }
        }
        let extractor = FHOGExtractor()
        let fromGray = try extractor.descriptor(of: gray)
        #expect(fromGray == (try extractor.descriptor(of: replicated)))
        #expect(fromGray.contains { $0 > 0 })
    }

    @Test func rejectsInputsThatDoNotFit() throws {
        let extractor = FHOGExtractor()
        let workspace = extractor.makeWorkspace()
        var output = [Double](repeating: 0, count: extractor.descriptorLength)
        #expect(throws: VisageError.self) {
            try output.withUnsafeMutableBufferPointer { try extractor.extract(Image(width: 100, height: 112), workspace: workspace, into: $0) }
        }
        #expect(throws: VisageError.self) {
            try output.withUnsafeMutableBufferPointer { try extractor.extract(Image(width: 112, height: 112, channels: 4), workspace: workspace, into: $0) }
        }
        var short = [Double](repeating: 0, count: 10)
        #expect(throws: VisageError.self) {
            try short.withUnsafeMutableBufferPointer { try extractor.extract(Image(width: 112, height: 112), workspace: workspace, into: $0) }
        }
        let otherWorkspace = FHOGExtractor(width: 64, height: 64).makeWorkspace()
        #expect(throws: VisageError.self) {
            try output.withUnsafeMutableBufferPointer { try extractor.extract(Image(width: 112, height: 112), workspace: otherWorkspace, into: $0) }
        }
        // A flat image has no gradients: every feature is exactly zero, as in dlib.
        let flat = try extractor.descriptor(of: Image(width: 112, height: 112))
        #expect(flat.allSatisfy { $0 == 0 })
    }
}
