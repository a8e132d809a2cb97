import Foundation
import Testing
import VisageAU
import VisageCore
import VisageMedia
import VisageRuntime
@testable import VisageCLNF

/// Shared data for the MTCNN and validator tests (read-only, beside the repository).
enum OpenFaceCNNTestData {
    static let shared: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("shared", isDirectory: true)
    }()
    static let landmarkModels = shared.appendingPathComponent("models/openface-2.2.0/lib/local/LandmarkDetector/model", isDirectory: true)
    static let mtcnnDirectory = landmarkModels.appendingPathComponent("mtcnn_detector", isDirectory: true)
    static let validatorFile = landmarkModels.appendingPathComponent("detection_validation/validator_cnn.txt")
    static let reference = shared.appendingPathComponent("reference/openface", isDirectory: true)
    static func video(_ name: String) -> String { shared.appendingPathComponent("media/video/openface/\(name)").path }

    /// The first `count` frames of a video (BGR).
    static func frames(_ name: String, count: Int) throws -> [Image] {
        let reader = try VideoReader(path: video(name))
        var out: [Image] = []
        while out.count < count, let frame = try reader.read() { out.append(frame) }
        return out
    }

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("visage-cnn-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// A deliberately naive evaluation of OpenFace's CNN files, written from CNN_utils.cpp's semantics and
/// sharing nothing with the product's reader or graph builder: it parses the bytes itself and loops
/// over every multiply. The product's ONNX graphs must agree with it.
enum NaiveOpenFaceCNN {
    enum Layer {
        case conv(kernels: [[[Float]]], kh: Int, kw: Int, bias: [Float])   // kernels[input][output] = kh*kw row-major
        case pool(kx: Int, ky: Int, sx: Int, sy: Int)
        case fc(stored: [Float], rows: Int, cols: Int, bias: [Float])       // stored rows = inputs, cols = outputs
        case prelu([Float])
        case relu
        case sigmoid
    }

    struct Bytes {
        let data: Data
        var at = 0
        mutating func i32() -> Int { defer { at += 4 }; return Int(data.subdata(in: at..<at + 4).withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }) }
        mutating func f32() -> Float { defer { at += 4 }; return data.subdata(in: at..<at + 4).withUnsafeBytes { $0.loadUnaligned(as: Float.self) } }
        mutating func f64() -> Double { defer { at += 8 }; return data.subdata(in: at..<at + 8).withUnsafeBytes { $0.loadUnaligned(as: Double.self) } }
        mutating func mat() -> (rows: Int, cols: Int, values: [Double]) {
            let rows = i32(), cols = i32(), type = i32()
            var values: [Double] = []
            for _ in 0..<(rows * cols) {
                switch type {
                case 4: values.append(Double(i32()))
                case 5: values.append(Double(f32()))
                case 6: values.append(f64())
                default: fatalError("test parser: unexpected type \(type)")
                }
            }
            return (rows, cols, values)
        }
    }

    static func layers(_ bytes: inout Bytes, validator: Bool) -> [Layer] {
        var out: [Layer] = []
        for _ in 0..<bytes.i32() {
            switch bytes.i32() {
            case 0:
                let nIn = bytes.i32(), nOut = bytes.i32()
                let bias = (0..<nOut).map { _ in bytes.f32() }
                var kernels: [[[Float]]] = []
                var kh = 0, kw = 0
                for _ in 0..<nIn {
                    var row: [[Float]] = []
                    for _ in 0..<nOut { let m = bytes.mat(); kh = m.rows; kw = m.cols; row.append(m.values.map { Float($0) }) }
                    kernels.append(row)
                }
                out.append(.conv(kernels: kernels, kh: kh, kw: kw, bias: bias))
            case 1:
                if validator { out.append(.pool(kx: 2, ky: 2, sx: 2, sy: 2)) } else {
                    let kx = bytes.i32(), ky = bytes.i32(), sx = bytes.i32(), sy = bytes.i32()
                    out.append(.pool(kx: kx, ky: ky, sx: sx, sy: sy))
                }
            case 2:
                let b = bytes.mat(), w = bytes.mat()
                out.append(.fc(stored: w.values.map { Float($0) }, rows: w.rows, cols: w.cols, bias: b.values.map { Float($0) }))
            case 3:
                if validator { out.append(.relu) } else { out.append(.prelu(bytes.mat().values.map { Float($0) })) }
            case 4: out.append(.sigmoid)
            case let t: fatalError("test parser: layer type \(t)")
            }
        }
        return out
    }

    /// Maps as [map][row][col]; a flat vector is represented as one map of n rows × 1 column.
    static func run(_ layers: [Layer], _ input: [[[Float]]]) -> [Float] {
        var maps = input
        var isVector = false
        for layer in layers {
            switch layer {
            case let .conv(kernels, kh, kw, bias):
                let h = maps[0].count - kh + 1, w = maps[0][0].count - kw + 1
                maps = (0..<bias.count).map { o in
                    (0..<h).map { y in (0..<w).map { x in
                        var s = Double(bias[o])
                        for i in maps.indices { for ky in 0..<kh { for kx in 0..<kw {
                            s += Double(maps[i][y + ky][x + kx]) * Double(kernels[i][o][ky * kw + kx])
                        } } }
                        return Float(s)
                    } }
                }
            case let .pool(kx, ky, sx, sy):
                maps = maps.map { m in
                    let rows = m.count, cols = m[0].count
                    let outY = Int((Float(rows - ky) / Float(sy)).rounded()) + 1, outX = Int((Float(cols - kx) / Float(sx)).rounded()) + 1
                    return (0..<outY).map { oy in (0..<outX).map { ox in
                        var best = -Float.greatestFiniteMagnitude
                        for y in (oy * sy)..<min(rows, oy * sy + ky) { for x in (ox * sx)..<min(cols, ox * sx + kx) { best = max(best, m[y][x]) } }
                        return best
                    } }
                }
            case let .fc(stored, rows, cols, bias):
                if !isVector && maps.count == rows {
                    // Per position across maps.
                    let h = maps[0].count, w = maps[0][0].count
                    maps = (0..<cols).map { o in (0..<h).map { y in (0..<w).map { x in
                        var s = Double(bias[o])
                        for i in 0..<rows { s += Double(stored[i * cols + o]) * Double(maps[i][y][x]) }
                        return Float(s)
                    } } }
                } else {
                    // Flatten each map column by column, maps one after another.
                    var flat: [Float] = []
                    if isVector { flat = maps[0].map { $0[0] } } else {
                        for m in maps { for x in 0..<m[0].count { for y in 0..<m.count { flat.append(m[y][x]) } } }
                    }
                    precondition(flat.count == rows, "test reference: \(flat.count) values into a \(rows)-input layer")
                    let result: [Float] = (0..<cols).map { o in
                        var s = Double(bias[o])
                        for i in 0..<rows { s += Double(stored[i * cols + o]) * Double(flat[i]) }
                        return Float(s)
                    }
                    maps = [result.map { [$0] }]
                    isVector = true
                }
            case let .prelu(slopes):
                if isVector {
                    maps[0] = maps[0].enumerated().map { k, v in [v[0] >= 0 ? v[0] : v[0] * slopes[k]] }
                } else {
                    maps = maps.enumerated().map { k, m in m.map { $0.map { $0 >= 0 ? $0 : $0 * slopes[k] } } }
                }
            case .relu:
                maps = maps.map { $0.map { $0.map { max($0, 0) } } }
            case .sigmoid:
                maps = maps.map { $0.map { $0.map { 1 / (1 + exp(-$0)) } } }
            }
        }
        // Vector: its values; maps: map-major, row-major (the ONNX NCHW order).
        return isVector ? maps[0].map { $0[0] } : maps.flatMap { $0.flatMap { $0 } }
    }

    static func randomInput(channels: Int, height: Int, width: Int, seed: UInt64) -> [[[Float]]] {
        var state = seed
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Double(state >> 11) / Double(1 << 53)) * 2 - 1
        }
        return (0..<channels).map { _ in (0..<height).map { _ in (0..<width).map { _ in next() } } }
    }

    static func tensor(_ maps: [[[Float]]]) -> Tensor {
        Tensor(floats: maps.flatMap { $0.flatMap { $0 } }, shape: [1, maps.count, maps[0].count, maps[0][0].count])
    }

    static func maxDifference(_ a: [Float], _ b: UnsafePointer<Float>, count: Int) -> Float {
        var worst: Float = 0
        for i in 0..<count { worst = max(worst, abs(a[i] - b[i])) }
        return worst
    }
}

@Suite("MTCNN (OpenFace 2.2 face detector)", .serialized)
struct MTCNNTests {
    @Test("the ONNX graphs built from PNet/RNet/ONet.dat equal a naive evaluation of the weights (<= 1e-4)")
    func graphsEqualWeights() throws {
        let files = try MTCNNModelFiles(location: OpenFaceCNNTestData.mtcnnDirectory)
        let cases: [(String, [OpenFaceCNNLayer], Int, Int, Bool)] = [
            ("PNet", files.pnet, 37, 29, true), ("PNet", files.pnet, 12, 12, true),
            ("RNet", files.rnet, 24, 24, false), ("ONet", files.onet, 48, 48, false),
        ]
        for (index, (name, layers, h, w, free)) in cases.enumerated() {
            var bytes = NaiveOpenFaceCNN.Bytes(data: try Data(contentsOf: OpenFaceCNNTestData.mtcnnDirectory.appendingPathComponent("\(name).dat")))
            let reference = NaiveOpenFaceCNN.layers(&bytes, validator: false)
            #expect(bytes.at == bytes.data.count, "\(name): test parser consumed \(bytes.at) of \(bytes.data.count) bytes")
            let network = try OpenFaceCNNNetwork(layers: layers, channels: 3, height: free ? .free("h") : .fixed(h),
                                                 width: free ? .free("w") : .fixed(w), sourcePath: name, name: name, config: SessionConfig())
            let input = NaiveOpenFaceCNN.randomInput(channels: 3, height: h, width: w, seed: UInt64(index + 1))
            let expected = NaiveOpenFaceCNN.run(reference, input)
            let output = try network.run(NaiveOpenFaceCNN.tensor(input))
            #expect(output.elementCount == expected.count, "\(name) \(w)x\(h): \(output.elementCount) outputs, reference \(expected.count)")
            guard output.elementCount == expected.count else { continue }
            let diff = NaiveOpenFaceCNN.maxDifference(expected, output.data.assumingMemoryBound(to: Float.self), count: expected.count)
            let scale = expected.map { abs($0) }.max() ?? 0
            #expect(diff <= 1e-4, "\(name) \(w)x\(h): max |graph - naive| = \(diff) over \(expected.count) outputs (largest |value| \(scale))")
        }
    }

    static func landmarkExtent(_ landmarks: [Float]) -> Box {
        let xs = landmarks[0..<68], ys = landmarks[68..<136]
        return Box(x1: xs.min()!, y1: ys.min()!, x2: xs.max()!, y2: ys.max()!)
    }

    static let referenceDefault = OpenFaceCNNTestData.reference.appendingPathComponent("default/default.csv").path
    static let referenceMultiFace = OpenFaceCNNTestData.reference.appendingPathComponent("multi_face/multi_face.csv").path

    @Test("default.wmv frame 1: one face, its corrected box hugs OpenFace's reference landmarks")
    func defaultFirstFrame() throws {
        let detector = try MTCNNFaceDetector(modelDirectory: OpenFaceCNNTestData.mtcnnDirectory)
        let frame = try #require(try OpenFaceCNNTestData.frames("default.wmv", count: 1).first)
        let faces = try detector.detect(frame)
        #expect(faces.count == 1, "found \(faces.count) faces: \(faces)")
        let face = try #require(faces.first)
        let track = try OpenFaceLandmarkTrack(contentsOf: Self.referenceDefault)
        let extent = Self.landmarkExtent(try #require(track.entries.first { $0.frame == 1 }).landmarks)
        // The corrected box is meant to be tight around the 68 landmarks (that is what CalcParams expects).
        let edges = [face.box.x1 - extent.x1, face.box.y1 - extent.y1, face.box.x2 - extent.x2, face.box.y2 - extent.y2]
        let worst = edges.map { abs($0) }.max()!
        #expect(worst <= 0.1 * min(extent.width, extent.height),
                "box \(face.box) vs landmark extent \(extent): edge offsets \(edges) (limit \(0.1 * min(extent.width, extent.height)))")
        #expect(face.box.iou(extent) >= 0.85, "IoU(box, landmark extent) = \(face.box.iou(extent))")
        #expect(face.box.x1 <= extent.center.x && extent.center.x <= face.box.x2 && face.box.y1 <= extent.center.y && extent.center.y <= face.box.y2)
        #expect(face.confidence >= 0.99, "O-Net score \(face.confidence)")

        // The grey path (OpenFace turns grey input into three equal channels) finds the same face.
        let gray = try ImageOps.convertColor(frame, .bgrToGray)
        let grayFaces = try detector.detect(gray)
        #expect(grayFaces.count == 1 && (grayFaces.first?.box.iou(face.box) ?? 0) >= 0.8, "grey frame: \(grayFaces)")
    }

    @Test("multi_face.avi: all three people are found on frames 1, 31, 61, 91, 121, one of them OpenFace's tracked face")
    func multiFace() throws {
        let detector = try MTCNNFaceDetector(modelDirectory: OpenFaceCNNTestData.mtcnnDirectory)
        let frames = try OpenFaceCNNTestData.frames("multi_face.avi", count: 121)
        let track = try OpenFaceLandmarkTrack(contentsOf: Self.referenceMultiFace)
        for number in stride(from: 1, through: 121, by: 30) {
            let faces = try detector.detect(frames[number - 1])
            #expect(faces.count == 3, "frame \(number): \(faces.count) faces \(faces.map(\.box))")
            let extent = Self.landmarkExtent(try #require(track.entries.first { $0.frame == number }).landmarks)
            let best = faces.map { $0.box.iou(extent) }.max() ?? 0
            #expect(best >= 0.6, "frame \(number): best IoU with the tracked face's landmark extent \(extent) is \(best)")
            #expect(zip(faces, faces.dropFirst()).allSatisfy { $0.confidence >= $1.confidence }, "frame \(number): not sorted by score")
            // FeatureExtraction (no preferred point) initialises from the widest box.
            let chosen = try #require(MTCNNFaceDetector.selectSingleFace(faces))
            #expect(chosen.box.width == faces.map(\.box.width).max(), "frame \(number): picked \(chosen.box)")
        }
    }

    @Test("no detections and no crash: black frame, faces below the minimum size, frame smaller than the minimum size")
    func negatives() throws {
        let detector = try MTCNNFaceDetector(modelDirectory: OpenFaceCNNTestData.mtcnnDirectory)
        #expect(try detector.detect(Image(width: 640, height: 480, channels: 3)).isEmpty)
        let frame = try #require(try OpenFaceCNNTestData.frames("default.wmv", count: 1).first)
        // The ~190 px face shrunk 16x (~12 px) is below what MTCNN can see at minFaceSize 60, alone or pasted
        // into a black 640x480 frame. (Shrunk 8x, ~24 px, it is still found: OpenFace's minimum size is where the
        // pyramid starts, 60 px windows, and MTCNN's windows tolerate faces well under half their size.)
        for factor in [16, 8] {
            let small = try ImageOps.resize(frame, width: 640 / factor, height: 480 / factor, interpolation: .area)
            let canvas = Image(width: 640, height: 480, channels: 3)
            for y in 0..<small.height {
                canvas.baseAddress.advanced(by: (200 + y) * canvas.stride + 300 * 3)
                    .copyMemory(from: small.baseAddress.advanced(by: y * small.stride), byteCount: small.rowBytes)
            }
            let inCanvas = try detector.detect(canvas), alone = try detector.detect(small)
            if factor == 16 {
                #expect(inCanvas.isEmpty && alone.isEmpty, "12 px face: \(inCanvas) in the canvas, \(alone) alone")
            } else {
                #expect(inCanvas.count == 1 && alone.count == 1, "24 px face: \(inCanvas) in the canvas, \(alone) alone")
            }
        }
        // Frames smaller than the minimum size have no pyramid level at all.
        let tiny = try ImageOps.resize(frame, width: 40, height: 30, interpolation: .area)
        #expect(try detector.detect(tiny).isEmpty)
        #expect(try detector.detect(Image(width: 1, height: 1, channels: 1)).isEmpty)
        #expect(throws: VisageError.self) { try detector.detect(Image(width: 64, height: 64, channels: 4)) }
    }

    @Test("missing, truncated or incomplete model files give errors that name the file")
    func badModelFiles() throws {
        let missing = OpenFaceCNNTestData.shared.appendingPathComponent("no-such-mtcnn-folder")
        #expect(throws: VisageError.fileNotFound(path: missing.path)) { try MTCNNFaceDetector(modelDirectory: missing) }

        let dir = try OpenFaceCNNTestData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["MTCNN_detector.txt", "PNet.dat", "RNet.dat"] {
            try FileManager.default.copyItem(at: OpenFaceCNNTestData.mtcnnDirectory.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        let onet = try Data(contentsOf: OpenFaceCNNTestData.mtcnnDirectory.appendingPathComponent("ONet.dat"))
        try onet.prefix(onet.count / 2).write(to: dir.appendingPathComponent("ONet.dat"))
        do {
            _ = try MTCNNFaceDetector(modelDirectory: dir)
            Issue.record("a truncated ONet.dat was accepted")
        } catch let error as VisageError {
            #expect(error.description.contains("ONet.dat") && error.description.contains("truncated"), "\(error)")
        }

        try "PNet PNet.dat\nONet ONet.dat\n".write(to: dir.appendingPathComponent("MTCNN_detector.txt"), atomically: true, encoding: .utf8)
        do {
            _ = try MTCNNFaceDetector(modelDirectory: dir)
            Issue.record("a list without RNet was accepted")
        } catch let error as VisageError {
            #expect(error.description.contains("MTCNN_detector.txt") && error.description.contains("RNet"), "\(error)")
        }
        #expect(throws: VisageError.self) { try MTCNNFaceDetector(modelDirectory: OpenFaceCNNTestData.mtcnnDirectory, minFaceSize: 0) }
    }

    @Test("speed on a 640x480 frame (reported; bound generous for a shared machine)")
    func speed() throws {
        let detector = try MTCNNFaceDetector(modelDirectory: OpenFaceCNNTestData.mtcnnDirectory)
        let frame = try #require(try OpenFaceCNNTestData.frames("default.wmv", count: 1).first)
        _ = try detector.detect(frame)
        var best = Double.infinity, total = 0.0
        let runs = 20
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try detector.detect(frame)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            best = min(best, ms); total += ms
        }
        let mean = total / Double(runs)
        #expect(mean < 100, "MTCNN on 640x480: mean \(mean) ms, best \(best) ms over \(runs) calls")
        print("MTCNN 640x480: mean \(String(format: "%.2f", mean)) ms, best \(String(format: "%.2f", best)) ms")
    }
}
