import Foundation
import VisageCore
import VisageMedia
import VisageRuntime

/// Identity embeddings: an aligned 112x112 crop → an L2-normalised vector. Two faces are the
/// same person when the cosine similarity of their embeddings reaches the model's threshold.
public final class FaceEmbedder: @unchecked Sendable {
    /// How one recognition model wants its input and how far apart identities are.
    public struct Profile: Sendable, Equatable {
        public var modelID: String
        public var template: AlignmentTemplate
        public var mean: Float
        public var scale: Float
        /// Cosine similarity at or above which two faces are called the same person.
        public var threshold: Float

        /// OpenCV zoo SFace: RGB 0..255 (blobFromImage with swapRB, no mean), arcface template;
        /// OpenCV publishes cosine ≥ 0.363 as "same".
        public static let sface = Profile(modelID: "sface-2021dec-int8bq", template: .arcface112, mean: 0, scale: 1, threshold: 0.363)
        /// insightface ArcFace (buffalo_l w600k_r50): RGB (x − 127.5) / 127.5 on norm_crop(112).
        public static let arcface = Profile(modelID: "arcface-w600k-r50", template: .arcface112, mean: 127.5, scale: 1 / 127.5, threshold: 0.28)

        public static func forModel(_ id: String) throws -> Profile {
            switch id {
            case Profile.sface.modelID: return .sface
            case Profile.arcface.modelID: return .arcface
            default: throw VisageError.invalidArgument("'\(id)' is not a recognition model Visage can run; use \(Profile.sface.modelID) or \(Profile.arcface.modelID)")
            }
        }
    }

    public let profile: Profile
    /// The model: one face on the file as it is, several per run where the model takes a batch.
    public let batches: BatchedSession
    public var session: InferenceSession { batches.single }
    public let dimension: Int
    private let outputIndex: Int
    public let cache: EmbeddingCache

    /// Loads the model; SFace's file declares 29 unused inputs that ONNX Runtime would want fed and
    /// lists its batch-norm weights as inputs too, so a cached copy whose only input is the image is
    /// what we load, with its int8 weights dequantised once instead of on every run
    /// (GraphRewrite.removeUnusedInputs + removeInitializerInputs + foldWeightDequantization).
    public init(profile: Profile, modelPath: String, config: SessionConfig = SessionConfig(), derivedModels: URL,
                cacheCapacity: Int = 256) throws {
        let cleaned = try Self.loadablePath(profile: profile, modelPath: modelPath, derivedModels: derivedModels)
        let session = try InferenceSession(modelPath: cleaned, config: config)
        guard session.inputs.count == 1, let input = session.inputs.first, input.shape.count == 4,
              let output = session.outputs.first else {
            throw VisageError.invalidModel(path: modelPath, reason: "expected one 1x3x112x112 input and an embedding output, found \(session.inputs) → \(session.outputs)")
        }
        self.profile = profile
        self.batches = BatchedSession(single: session, modelPath: cleaned, config: config)
        self.outputIndex = session.outputs.firstIndex { $0.name == output.name } ?? 0
        self.dimension = output.shape.last.map { $0 > 0 ? $0 : 0 } ?? 0
        self.cache = EmbeddingCache(capacity: cacheCapacity)
    }

    /// The file the embedder loads for `modelPath`: SFace's cleaned cached copy (see `init`), other
    /// models as they are. `visage diagnose` times the same file.
    public static func loadablePath(profile: Profile, modelPath: String, derivedModels: URL) throws -> String {
        guard profile.modelID == Profile.sface.modelID else { return modelPath }
        return try GraphRewrite.cached(source: modelPath, variant: "float-data-input", cacheDirectory: derivedModels) {
            GraphRewrite.removeUnusedInputs(&$0)
            GraphRewrite.removeInitializerInputs(&$0)
            GraphRewrite.foldWeightDequantization(&$0)
        }
    }

    public static func make(model: String = Profile.sface.modelID, store: ModelStore = ModelStore(), config: SessionConfig = SessionConfig()) throws -> FaceEmbedder {
        let profile = try Profile.forModel(model)
        return try FaceEmbedder(profile: profile, modelPath: try store.path(for: model), config: config, derivedModels: store.derivedDirectory)
    }

    /// The normalised embedding of the face with these 5 keypoints (frame pixels). Cached by frame
    /// content and keypoints, so the same source face is never embedded twice.
    public func embed(_ frame: Image, keypoints: [Point]) throws -> [Float] {
        let key = EmbeddingCache.Key(frame: frame, keypoints: keypoints, model: profile.modelID)
        if let hit = cache.value(for: key) { return hit }
        let aligned = try FaceAlignment.crop(frame, keypoints: keypoints, template: profile.template)
        let embedding = try embed(alignedCrop: aligned.crop)
        cache.insert(embedding, for: key)
        return embedding
    }

    /// The normalised embedding of an already aligned 112x112 BGR crop.
    public func embed(alignedCrop crop: Image) throws -> [Float] {
        guard let embedding = try embeddings(alignedCrops: [crop])[0] else {
            throw VisageError.invalidModel(path: session.modelPath, reason: "it computed non-finite numbers (NaN or infinity) for a face; the file is probably corrupt")
        }
        return embedding
    }

    /// Normalised embeddings of aligned 112x112 BGR crops, in order, several faces per model run (up to
    /// `batches.maxBatch`; one at a time when the model cannot batch). A face whose embedding is not all
    /// finite numbers (a corrupt model) is nil. Batched embeddings equal one-at-a-time ones within float
    /// rounding (BatchedInferenceTests states the bound).
    public func embeddings(alignedCrops crops: [Image]) throws -> [[Float]?] {
        let size = profile.template.size
        for crop in crops where crop.width != size || crop.height != size || crop.channels != 3 {
            throw VisageError.invalidArgument("embedding input must be a \(size)x\(size) BGR crop")
        }
        var result = [[Float]?](repeating: nil, count: crops.count)
        try batches.forEachRun(crops.count) { run in
            try run.session.run(BindingShape(batch: run.batch), fill: { inputs in
                inputs[0].withUnsafeMutableBuffer(of: Float.self) { buffer in
                    for item in 0..<run.count { pack(buffer, item: item, from: crops[run.start + item]) }
                }
            }, read: { outputs in
                let output = outputs[outputIndex]
                let values = output.elementCount / max(run.batch, 1)
                guard values > 0 else { throw VisageError.runtime("embedding model returned nothing") }
                let all = output.floats()
                for item in 0..<run.count {
                    let normalized = Self.normalized(Array(all[item * values..<(item + 1) * values]))
                    result[run.start + item] = normalized.allSatisfy(\.isFinite) ? normalized : nil
                }
            })
        }
        return result
    }

    /// Item `item` of an NCHW float input: the crop's BGR pixels as RGB planes, (x − mean) · scale.
    private func pack(_ buffer: UnsafeMutableBufferPointer<Float>, item: Int, from crop: Image) {
        let size = profile.template.size, plane = size * size, base = item * 3 * plane
        for y in 0..<size {
            let row = crop.baseAddress.advanced(by: y * crop.stride).assumingMemoryBound(to: UInt8.self)
            for x in 0..<size {
                for c in 0..<3 {   // BGR → RGB planes
                    buffer[base + c * plane + y * size + x] = (Float(row[x * 3 + 2 - c]) - profile.mean) * profile.scale
                }
            }
        }
    }

    public static func normalized(_ v: [Float]) -> [Float] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? v.map { $0 / norm } : v
    }

    /// Cosine similarity of two normalised embeddings.
    public static func similarity(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "embeddings of different models")
        return zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
    }
}

/// A small LRU cache of embeddings keyed by frame content, keypoints and model.
public final class EmbeddingCache: @unchecked Sendable {
    public struct Key: Hashable, Sendable {
        let content: Int
        let points: [Int32]
        let model: String

        /// Hashes every pixel (Hasher: SipHash, seeded per process) and the keypoints at 1/8 px.
        public init(frame: Image, keypoints: [Point], model: String) {
            var hasher = Hasher()
            hasher.combine(frame.width)
            hasher.combine(frame.height)
            hasher.combine(frame.channels)
            for y in 0..<frame.height {
                hasher.combine(bytes: UnsafeRawBufferPointer(start: frame.baseAddress.advanced(by: y * frame.stride), count: frame.rowBytes))
            }
            content = hasher.finalize()
            points = keypoints.flatMap { [Int32(($0.x * 8).rounded()), Int32(($0.y * 8).rounded())] }
            self.model = model
        }
    }

    private struct State {
        var entries: [Key: (value: [Float], used: UInt64)] = [:]
        var clock: UInt64 = 0
        var hits = 0
        var misses = 0
    }
    private let capacity: Int
    private let state = Locked(State())

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    public var hits: Int { state.withLock { $0.hits } }
    public var misses: Int { state.withLock { $0.misses } }

    public func value(for key: Key) -> [Float]? {
        state.withLock { s in
            s.clock += 1
            guard let entry = s.entries[key] else { s.misses += 1; return nil }
            s.entries[key] = (entry.value, s.clock)
            s.hits += 1
            return entry.value
        }
    }

    public func insert(_ value: [Float], for key: Key) {
        state.withLock { s in
            s.clock += 1
            s.entries[key] = (value, s.clock)
            if s.entries.count > capacity, let oldest = s.entries.min(by: { $0.value.used < $1.value.used })?.key {
                s.entries.removeValue(forKey: oldest)
            }
        }
    }

    public var count: Int { state.withLock { $0.entries.count } }
}
