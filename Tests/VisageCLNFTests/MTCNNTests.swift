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

@Suite("MTCNN (OpenFace 2.2 face detector)")
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

    @Test("explore") func explore() throws {
        let detector = try MTCNNFaceDetector(modelDirectory: OpenFaceCNNTestData.mtcnnDirectory)
        for name in ["default.wmv", "multi_face.avi"] {
            let frames = try OpenFaceCNNTestData.frames(name, count: 1)
            let t0 = Date()
            let d = try detector.detect(frames[0])
            print(name, Date().timeIntervalSince(t0) * 1000, "ms", d)
            let t1 = Date()
            for _ in 0..<10 { _ = try detector.detect(frames[0]) }
            print("avg", Date().timeIntervalSince(t1) * 100, "ms")
        }
    }
}
