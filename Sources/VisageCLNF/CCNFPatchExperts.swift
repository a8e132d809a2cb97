import Foundation
import VisageCore

/// One CCNF patch expert (`CCNF_patch_expert`): a set of logistic neurons over a contrast-normalised
/// `width × height` patch, the betas that weigh the file's sigma components, and the patch confidence
/// NU-RLMS uses as landmark weight.
///
/// The neurons are kept in the combined form `ResponseOpenBlas` uses: one row per neuron of
/// `[bias, weights · norm_weights]` in float. The weights are stored row-major over the patch (OpenFace
/// flattens column-major to match its column-major im2col; the order is irrelevant to the dot product as
/// long as patch and weights agree). Neurons with alpha ≤ 1e-4 are dropped, as OpenFace skips them.
public struct CCNFPatchExpert: Sendable {
    public let width: Int
    public let height: Int
    /// Number of neurons in the file (including the ones too weak to contribute).
    public let neuronCount: Int
    /// Σ alpha over all neurons (the diagonal of Σ⁻¹/2 before the betas).
    public let alphaSum: Float
    public let betas: [Double]
    public let confidence: Double
    /// Contributing neurons: row k is `[bias, w(0,0)…w(h-1,w-1)]`, `1 + width·height` floats.
    let weightRows: [Float]
    /// 2·alpha of each contributing neuron.
    let twoAlphas: [Double]

    public var isEmpty: Bool { neuronCount == 0 }
    var activeNeuronCount: Int { twoAlphas.count }
    var rowLength: Int { 1 + width * height }

    static let empty = CCNFPatchExpert(width: 0, height: 0, neuronCount: 0, alphaSum: 0, betas: [], confidence: 0,
                                       weightRows: [], twoAlphas: [])
}

/// The experts of one scale (`ccnf_patches_<scale>_*.txt`, a binary file despite the name): the patch
/// scaling relative to the PDM, the view orientations, per-view visibilities and one expert per view and
/// landmark, plus the file's sigma components (edge structure of the CCNF for each response window size).
public struct CCNFScale: Sendable {
    public let patchScaling: Double
    /// View orientations (rx, ry, rz) in radians (the file stores degrees; OpenFace converts in double).
    public let viewCenters: [SIMD3<Double>]
    /// `visibilities[view][landmark]`.
    public let visibilities: [[Bool]]
    /// `experts[view][landmark]`.
    public let experts: [[CCNFPatchExpert]]
    /// Sigma components keyed by response window size: each a list of (ws² × ws²) row-major matrices.
    public let sigmaComponents: [Int: [[Float]]]

    public var viewCount: Int { viewCenters.count }
    public var landmarkCount: Int { visibilities.first?.count ?? 0 }

    /// `Read_CCNF_patch_experts`.
    public init(contentsOf url: URL) throws {
        var reader = try OpenFaceBinaryReader(contentsOf: url)
        patchScaling = try reader.float64("patch scaling")
        let views = try reader.int32("number of views")
        guard patchScaling > 0, patchScaling.isFinite, (1...64).contains(views) else {
            throw reader.corrupt("not a CCNF patch expert file: scaling \(patchScaling), \(views) views")
        }
        var centers: [SIMD3<Double>] = []
        for v in 0..<views {
            let c = try reader.matrix("view \(v) centre")
            guard c.values.count == 3 else { throw reader.corrupt("view \(v) centre has \(c.values.count) values, expected 3") }
            centers.append(SIMD3(c.values[0], c.values[1], c.values[2]) * .pi / 180)
        }
        var visibilities: [[Bool]] = []
        for v in 0..<views {
            let m = try reader.matrix("view \(v) visibility")
            guard m.cols == 1, m.rows > 0, visibilities.isEmpty || m.rows == visibilities[0].count else {
                throw reader.corrupt("view \(v) visibility is \(m.rows)×\(m.cols)")
            }
            visibilities.append(m.values.map { $0 != 0 })
        }
        let n = visibilities[0].count
        let windowCount = try reader.int32("number of window sizes")
        guard (0...16).contains(windowCount) else { throw reader.corrupt("\(windowCount) window sizes") }
        var components: [Int: [[Float]]] = [:]
        var betaCount = 0
        for w in 0..<windowCount {
            let window = try reader.int32("window size")
            let count = try reader.int32("number of sigma components")
            guard (1...64).contains(window), (0...64).contains(count) else {
                throw reader.corrupt("window \(w): size \(window) with \(count) sigma components")
            }
            var list: [[Float]] = []
            for s in 0..<count {
                let m = try reader.matrix("sigma component \(s) of window \(window)")
                guard m.rows == window * window, m.cols == window * window else {
                    throw reader.corrupt("sigma component \(s) of window \(window) is \(m.rows)×\(m.cols)")
                }
                list.append(m.values.map(Float.init))
            }
            components[window] = list
            if w == 0 { betaCount = count }
        }
        sigmaComponents = components
        var experts: [[CCNFPatchExpert]] = []
        for v in 0..<views {
            var row: [CCNFPatchExpert] = []
            row.reserveCapacity(n)
            for j in 0..<n {
                row.append(try Self.readExpert(&reader, betaCount: windowCount > 0 ? betaCount : 0, label: { "view \(v) landmark \(j)" }))
            }
            experts.append(row)
        }
        viewCenters = centers
        self.visibilities = visibilities
        self.experts = experts
    }

    /// `CCNF_patch_expert::Read` and `CCNF_neuron::Read`.
    private static func readExpert(_ reader: inout OpenFaceBinaryReader, betaCount: Int, label name: () -> String) throws -> CCNFPatchExpert {
        // Named only when something is wrong: the label is built for an error message, never on the way.
        var label: String { name() }
        let type = try reader.int32("\(label) type")
        guard type == 5 else { throw reader.corrupt("\(label): patch expert type \(type), expected 5 (CCNF)") }
        let width = try reader.int32("\(label) width"), height = try reader.int32("\(label) height")
        let neurons = try reader.int32("\(label) neuron count")
        guard (0...64).contains(width), (0...64).contains(height), (0...1024).contains(neurons) else {
            throw reader.corrupt("\(label): implausible patch \(width)×\(height) with \(neurons) neurons")
        }
        if neurons == 0 {
            // An invisible landmark's empty expert is followed by one more int in the file.
            _ = try reader.int32("\(label) empty marker")
            return .empty
        }
        let rowLength = 1 + width * height
        var rows: [Float] = []
        var twoAlphas: [Double] = []
        var alphaSum: Float = 0
        for k in 0..<neurons {
            let neuronType = try reader.int32("\(label) neuron \(k) marker")
            guard neuronType == 2 else { throw reader.corrupt("\(label): neuron \(k) marker \(neuronType), expected 2") }
            let kind = try reader.int32("\(label) neuron \(k) kind")
            // Only intensity neurons (type 0) exist in OpenFace's CCNF files; the im2col path assumes them.
            guard kind == 0 else { throw reader.corrupt("\(label): neuron \(k) has unsupported type \(kind)") }
            let normWeights = try reader.float64("\(label) neuron \(k) norm")
            let bias = try reader.float64("\(label) neuron \(k) bias")
            let alpha = try reader.float64("\(label) neuron \(k) alpha")
            let weights = try reader.matrix("\(label) neuron \(k) weights")
            guard weights.rows == height, weights.cols == width else {
                throw reader.corrupt("\(label): neuron \(k) weights are \(weights.rows)×\(weights.cols), patch \(height)×\(width)")
            }
            alphaSum += Float(alpha)
            // OpenFace skips weak neurons in the response; they still count in Σ alpha.
            guard alpha > 1e-4 else { continue }
            rows.append(Float(bias))
            // `weights_flat * norm_weights` on a float matrix: OpenCV scales float data by a float factor.
            let scaleFactor = Float(normWeights)
            for value in weights.values { rows.append(Float(value) * scaleFactor) }
            twoAlphas.append(2 * alpha)
        }
        var betas: [Double] = []
        for _ in 0..<betaCount { betas.append(try reader.float64("\(label) beta")) }
        let confidence = try reader.float64("\(label) confidence")
        assert(rows.count == twoAlphas.count * rowLength)
        return CCNFPatchExpert(width: width, height: height, neuronCount: neurons, alphaSum: alphaSum, betas: betas,
                               confidence: confidence, weightRows: rows, twoAlphas: twoAlphas)
    }
}

/// All scales of a CLNF model's patch experts (`Patch_experts` with CCNF experts only).
public struct CCNFPatchExperts: Sendable {
    public let scales: [CCNFScale]
    /// OpenFace keeps only the sigma components of the last file read and uses them at every scale.
    let sigmaComponents: [Int: [[Float]]]

    public init(files: [URL]) throws {
        guard !files.isEmpty else { throw VisageError.invalidArgument("a CLNF model needs at least one PatchesCCNF file") }
        let scales = try files.map { try CCNFScale(contentsOf: $0) }
        let n = scales[0].landmarkCount
        for (k, s) in scales.enumerated() where s.landmarkCount != n {
            throw VisageError.invalidModel(path: files[k].path, reason: "has \(s.landmarkCount) landmarks, the first scale \(n)")
        }
        self.scales = scales
        sigmaComponents = scales[scales.count - 1].sigmaComponents
    }

    public var landmarkCount: Int { scales[0].landmarkCount }
    public var patchScaling: [Double] { scales.map(\.patchScaling) }

    /// `GetViewIdx`: the view whose centre is nearest the rotation (squared distance in float, first wins ties).
    public func viewIndex(rx: Float, ry: Float, rz: Float, scale: Int) -> Int {
        var best = 0
        var bestDistance: Float = 0
        for (i, c) in scales[scale].viewCenters.enumerated() {
            let v1 = Float(Double(rx) - c.x), v2 = Float(Double(ry) - c.y), v3 = Float(Double(rz) - c.z)
            let d = v1 * v1 + v2 * v2 + v3 * v3
            if i == 0 || d < bestDistance { bestDistance = d; best = i }
        }
        return best
    }
}
