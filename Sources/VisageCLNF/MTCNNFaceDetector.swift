import Foundation
import VisageCore
import VisageMedia
import VisageRuntime

/// OpenFace 2.2's MTCNN face detector (`FaceDetectorMTCNN::DetectFaces`), the detector FeatureExtraction
/// uses to (re)initialise CLNF: P-Net over an image pyramid (factor 0.709, from 12 / minFaceSize down to
/// 12 px faces), per-scale and cross-scale NMS, R-Net on 24×24 crops, O-Net on 48×48 crops, OpenFace's
/// box regression, squaring and crop conventions, and the final box correction for CLNF.
///
/// The three networks are built from the `.dat` weights as ONNX graphs (see `OpenFaceCNNGraph` for why);
/// R-Net and O-Net run all candidates of a frame in one batch.
/// Not thread-safe (it reuses its buffers between calls): use one detector per thread.
public final class MTCNNFaceDetector: OpenFaceFaceDetector {
    /// Score thresholds of the three stages (`DetectFaces`' t1, t2, t3).
    public struct Thresholds: Sendable, Equatable {
        public var pnet: Float
        public var rnet: Float
        public var onet: Float
        public init(pnet: Float, rnet: Float, onet: Float) { self.pnet = pnet; self.rnet = rnet; self.onet = onet }
        /// OpenFace's defaults (FaceDetectorMTCNN.h), which every OpenFace executable uses.
        public static let openFace = Thresholds(pnet: 0.6, rnet: 0.7, onet: 0.7)
    }

    /// `DetectFaces`' default `min_face`, which DetectSingleFaceMTCNN (the video and image paths) keeps.
    public static let openFaceMinFaceSize = 60
    static let pyramidFactor = 0.709
    /// P-Net's receptive field and its output stride (one pooling layer).
    static let faceSupport = 12
    static let pnetStride = 2

    public let minFaceSize: Int
    public let thresholds: Thresholds
    private let pnet: OpenFaceCNNNetwork
    private let rnet: OpenFaceCNNNetwork
    private let onet: OpenFaceCNNNetwork

    // Buffers reused from call to call.
    private var frameFloat: Image?
    private let levelScratch = FloatImageScratch()
    private let cropScratch = FloatImageScratch()
    private let patch24 = Image(width: 24, height: 24, channels: 3, depth: .float32)
    private let patch48 = Image(width: 48, height: 48, channels: 3, depth: .float32)

    /// `modelDirectory`: OpenFace's `mtcnn_detector` folder (or its `MTCNN_detector.txt`).
    public init(modelDirectory: URL, minFaceSize: Int = MTCNNFaceDetector.openFaceMinFaceSize,
                thresholds: Thresholds = .openFace, config: SessionConfig = SessionConfig()) throws {
        guard minFaceSize > 0 else { throw VisageError.invalidArgument("MTCNN minimum face size must be positive, got \(minFaceSize)") }
        let files = try MTCNNModelFiles(location: modelDirectory)
        self.minFaceSize = minFaceSize
        self.thresholds = thresholds
        pnet = try OpenFaceCNNNetwork(layers: files.pnet, channels: 3, height: .free("h"), width: .free("w"),
                                      sourcePath: files.pnetPath, name: "mtcnn-pnet", config: config)
        rnet = try OpenFaceCNNNetwork(layers: files.rnet, channels: 3, height: .fixed(24), width: .fixed(24),
                                      sourcePath: files.rnetPath, name: "mtcnn-rnet", config: config)
        onet = try OpenFaceCNNNetwork(layers: files.onet, channels: 3, height: .fixed(48), width: .fixed(48),
                                      sourcePath: files.onetPath, name: "mtcnn-onet", config: config)
        try checkOutputs(rnet, files.rnetPath, atLeast: 6)
        try checkOutputs(onet, files.onetPath, atLeast: 6)
    }

    private func checkOutputs(_ network: OpenFaceCNNNetwork, _ path: String, atLeast: Int) throws {
        guard let width = network.session.outputs.first?.shape.last, width >= atLeast else {
            throw VisageError.unreadable(path: path, reason: "the network must output at least \(atLeast) values (2 scores, 4 box offsets)")
        }
    }

    /// Faces in a BGR (or grey) uint8 frame, best O-Net score first, boxes corrected for CLNF initialisation.
    public func detect(_ frame: Image) throws -> [OpenFaceDetection] {
        guard frame.depth == .uint8, frame.channels == 1 || frame.channels == 3 else {
            throw VisageError.invalidArgument("MTCNN needs a BGR or grey 8-bit image, got \(frame.channels) channel(s) of \(frame.depth)")
        }
        let source = loadFloatFrame(frame)
        var candidates = try proposeWithPNet(source)
        guard candidates.count > 0 else { return [] }

        // R-Net (the NMS and correction that prepare its input come first, as in OpenFace).
        candidates.suppressNonMaxima(threshold: 0.7, overlapOfSmaller: false)
        candidates.applyCorrections(addOne: false)
        candidates.squareUp()
        try refine(&candidates, network: rnet, patch: patch24, source: source, threshold: thresholds.rnet)
        guard candidates.count > 0 else { return [] }

        candidates.suppressNonMaxima(threshold: 0.7, overlapOfSmaller: false)
        candidates.applyCorrections(addOne: false)
        candidates.squareUp()
        try refine(&candidates, network: onet, patch: patch48, source: source, threshold: thresholds.onet)
        guard candidates.count > 0 else { return [] }

        candidates.applyCorrections(addOne: true)
        candidates.suppressNonMaxima(threshold: 0.7, overlapOfSmaller: true)
        return zip(candidates.boxes, candidates.scores).map { box, score in
            let r = box.correctedForLandmarks
            return OpenFaceDetection(box: Box(x: r.x, y: r.y, width: r.width, height: r.height), confidence: score)
        }
    }

    /// `DetectSingleFaceMTCNN`'s choice among several detections: the widest box, or, when OpenFace has a
    /// preferred point (a fraction of the frame turned into pixels by the caller), the box whose centre is
    /// closest to it. Ties keep the earlier detection.
    public static func selectSingleFace(_ detections: [OpenFaceDetection], preferring point: Point? = nil) -> OpenFaceDetection? {
        guard var best = detections.first else { return nil }
        func distance(_ d: OpenFaceDetection, _ p: Point) -> Float {
            let dx = p.x - (d.box.width / 2 + d.box.x1), dy = p.y - (d.box.height / 2 + d.box.y1)
            return (dx * dx + dy * dy).squareRoot()
        }
        for d in detections.dropFirst() {
            if let point {
                if distance(d, point) < distance(best, point) { best = d }
            } else if d.box.width > best.box.width {
                best = d
            }
        }
        return best
    }

    // MARK: - Stages

    /// The frame as float BGR (OpenFace converts once and crops every stage's input from it).
    private func loadFloatFrame(_ frame: Image) -> Image {
        if frameFloat?.width != frame.width || frameFloat?.height != frame.height {
            frameFloat = Image(width: frame.width, height: frame.height, channels: 3, depth: .float32)
        }
        let out = frameFloat!
        for y in 0..<frame.height {
            let src = frame.baseAddress.advanced(by: y * frame.stride).assumingMemoryBound(to: UInt8.self)
            let dst = out.baseAddress.advanced(by: y * out.stride).assumingMemoryBound(to: Float.self)
            if frame.channels == 3 {
                for i in 0..<(frame.width * 3) { dst[i] = Float(src[i]) }
            } else {
                for x in 0..<frame.width {
                    let v = Float(src[x])
                    dst[3 * x] = v; dst[3 * x + 1] = v; dst[3 * x + 2] = v
                }
            }
        }
        return out
    }

    private func proposeWithPNet(_ source: Image) throws -> MTCNNCandidates {
        let minDim = min(source.width, source.height)
        let scaleCount = Int(floor(log(Double(minFaceSize) / Double(minDim)) / log(Self.pyramidFactor))) + 1
        var all = MTCNNCandidates()
        guard scaleCount > 0 else { return all }
        for level in 0..<scaleCount {
            let scale = (Double(Self.faceSupport) / Double(minFaceSize)) * pow(Self.pyramidFactor, Double(level))
            let height = Int(ceil(Double(source.height) * scale)), width = Int(ceil(Double(source.width) * scale))
            guard height >= Self.faceSupport, width >= Self.faceSupport else { continue }
            let resized = levelScratch.image(width: width, height: height, channels: 3)
            try ImageOps.resize(source, into: resized, interpolation: .linear)
            let input = Tensor(.float32, shape: [1, 3, height, width])
            Self.pack(resized, into: input.data.assumingMemoryBound(to: Float.self))
            let output = try pnet.run(input)
            guard output.shape.count == 4, output.shape[0] == 1, output.shape[1] >= 6 else {
                throw VisageError.runtime("P-Net returned shape \(output.shape); expected [1, 6, h, w]")
            }
            var proposals = Self.proposals(heatmaps: output.data.assumingMemoryBound(to: Float.self),
                                           height: output.shape[2], width: output.shape[3], scale: scale, threshold: thresholds.pnet)
            proposals.suppressNonMaxima(threshold: 0.5, overlapOfSmaller: false)
            all.append(contentsOf: proposals)
        }
        return all
    }

    /// `generate_bounding_boxes`: every heat-map cell at or above the threshold, scanned column by column,
    /// becomes a 12×12 window mapped back to the frame (truncated to whole pixels).
    static func proposals(heatmaps: UnsafePointer<Float>, height: Int, width: Int, scale: Double, threshold: Float) -> MTCNNCandidates {
        var out = MTCNNCandidates()
        let plane = height * width
        for x in 0..<width {
            for y in 0..<height {
                let i = y * width + x
                // Two-class softmax as OpenFace writes it: 1 / (1 + exp(face0 - face1)).
                let probability = 1 / (1 + exp(heatmaps[i] - heatmaps[plane + i]))
                guard probability >= threshold else { continue }
                let minX = Float(Int(Double(pnetStride * x + 1) / scale))
                let maxX = Float(Int(Double(pnetStride * x + faceSupport) / scale))
                let minY = Float(Int(Double(pnetStride * y + 1) / scale))
                let maxY = Float(Int(Double(pnetStride * y + faceSupport) / scale))
                out.append(MTCNNRect(x: minX, y: minY, width: maxX - minX, height: maxY - minY), score: probability,
                           correction: MTCNNRect(x: heatmaps[2 * plane + i], y: heatmaps[3 * plane + i],
                                                 width: heatmaps[4 * plane + i], height: heatmaps[5 * plane + i]))
            }
        }
        return out
    }

    /// One refinement stage (R-Net or O-Net): crop every candidate, score and regress it in one batch,
    /// keep those at or above the threshold.
    private func refine(_ candidates: inout MTCNNCandidates, network: OpenFaceCNNNetwork, patch: Image, source: Image, threshold: Float) throws {
        let n = candidates.count, side = patch.width
        let input = Tensor(.float32, shape: [n, 3, side, side])
        let inputValues = input.data.assumingMemoryBound(to: Float.self)
        for k in 0..<n {
            try cropProposal(candidates.boxes[k], from: source, into: patch)
            Self.pack(patch, into: inputValues + k * 3 * side * side)
        }
        let output = try network.run(input)
        guard output.shape.count == 2, output.shape[0] == n, output.shape[1] >= 6 else {
            throw VisageError.runtime("\(network.sourcePath): output shape \(output.shape); expected [\(n), >=6]")
        }
        let values = output.data.assumingMemoryBound(to: Float.self), stride = output.shape[1]
        var kept: [Int] = []
        for k in 0..<n {
            let o = values + k * stride
            let probability = 1 / (1 + exp(o[0] - o[1]))
            candidates.scores[k] = probability
            candidates.corrections[k] = MTCNNRect(x: o[2], y: o[3], width: o[4], height: o[5])
            if probability >= threshold { kept.append(k) }
        }
        candidates.keep(kept)
    }

    /// OpenFace's proposal crop: a (side + 1)² window starting one pixel above-left of the box (zeros
    /// outside the frame), bilinearly resized to the network's input. A box whose window OpenFace could not
    /// copy (entirely outside the frame; OpenCV would throw there) gives an all-zero patch.
    private func cropProposal(_ box: MTCNNRect, from source: Image, into patch: Image) throws {
        let frameW = source.width, frameH = source.height
        let targetW = box.width + 1, targetH = box.height + 1
        guard let tw = Self.truncate(targetW), let th = Self.truncate(targetH), tw > 0, th > 0, tw * th <= 1 << 24,
              let startXIn0 = Self.truncate(box.x - 1), let startYIn0 = Self.truncate(box.y - 1),
              let endXIn0 = Self.truncate(box.x + targetW - 1), let endYIn0 = Self.truncate(box.y + targetH - 1),
              let startXOut0 = Self.truncate(-box.x + 1), let startYOut0 = Self.truncate(-box.y + 1),
              let endXOut = Self.truncate(min(targetW - (box.x + box.width - Float(frameW)), targetW)),
              let endYOut = Self.truncate(min(targetH - (box.y + box.height - Float(frameH)), targetH)) else {
            Self.zero(patch)
            return
        }
        let startXIn = max(startXIn0, 0), startYIn = max(startYIn0, 0)
        let endXIn = min(endXIn0, frameW), endYIn = min(endYIn0, frameH)
        let startXOut = max(startXOut0, 0), startYOut = max(startYOut0, 0)
        let copyW = endXIn - startXIn, copyH = endYIn - startYIn
        let window = cropScratch.image(width: tw, height: th, channels: 3)
        Self.zero(window)
        if copyW > 0, copyH > 0, copyW == endXOut - startXOut, copyH == endYOut - startYOut,
           startXOut >= 0, startYOut >= 0, endXOut <= tw, endYOut <= th {
            for row in 0..<copyH {
                let src = source.baseAddress.advanced(by: (startYIn + row) * source.stride + startXIn * 12)
                let dst = window.baseAddress.advanced(by: (startYOut + row) * window.stride + startXOut * 12)
                dst.copyMemory(from: src, byteCount: copyW * 12)
            }
        }
        try ImageOps.resize(window, into: patch, interpolation: .linear)
    }

    /// C++'s float → int conversion (truncation), or nil where it would be undefined.
    private static func truncate(_ v: Float) -> Int? {
        guard v.isFinite, abs(v) < 1e9 else { return nil }
        return Int(v)
    }

    private static func zero(_ image: Image) {
        for y in 0..<image.height { image.baseAddress.advanced(by: y * image.stride).initializeMemory(as: UInt8.self, repeating: 0, count: image.rowBytes) }
    }

    /// Float BGR pixels → planar RGB, normalised as OpenFace does: (v - 127.5) * 0.0078125.
    static func pack(_ image: Image, into planes: UnsafeMutablePointer<Float>) {
        let w = image.width, h = image.height, plane = w * h
        for y in 0..<h {
            let row = image.baseAddress.advanced(by: y * image.stride).assumingMemoryBound(to: Float.self)
            for x in 0..<w {
                let i = y * w + x
                planes[i] = (row[3 * x + 2] - 127.5) * 0.0078125
                planes[plane + i] = (row[3 * x + 1] - 127.5) * 0.0078125
                planes[2 * plane + i] = (row[3 * x] - 127.5) * 0.0078125
            }
        }
    }
}

/// A growable float buffer handed out as an `Image` view of the size asked for (one view in use at a time).
final class FloatImageScratch {
    private var storage: ImageStorage?

    func image(width: Int, height: Int, channels: Int) -> Image {
        let stride = width * channels * 4
        let needed = stride * height
        if storage == nil || storage!.byteCount < needed {
            storage = ImageStorage(zeroedByteCount: max(needed, 2 * (storage?.byteCount ?? 0)))
        }
        return Image(width: width, height: height, channels: channels, depth: .float32, stride: stride, storage: storage!)
    }
}
