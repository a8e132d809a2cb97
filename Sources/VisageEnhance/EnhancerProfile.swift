import VisageCore
import VisageMedia

/// Everything about one face-restoration model that is not its weights: which catalogue entry it is,
/// the crop it expects and how faces are aligned to it. All three families share one tensor
/// convention (RGB in [−1, 1] in, RGB out clipped to [−1, 1]), so a profile is all that differs.
public struct EnhancerProfile: Sendable, Equatable {
    public enum Family: String, Sendable, Codable, CaseIterable {
        case gfpgan, gpen, codeformer
    }

    /// How the 5 keypoints are fitted to the template.
    public enum Fit: Sendable, Equatable {
        /// facexlib's FaceRestoreHelper: estimateAffinePartial2D with LMEDS.
        case lmeds
        /// FaceFusion's warp_face_by_face_landmark_5: RANSAC with this reprojection threshold (100).
        case ransac(threshold: Double)
    }

    /// What the crop shows where the face's square leaves the frame.
    public enum CropBorder: Sendable, Equatable {
        /// A constant BGR colour (facexlib: gray (135, 133, 132)).
        case constant([Double])
        /// The nearest frame pixel (FaceFusion).
        case replicate
    }

    /// Catalogue id (`visage models list`).
    public var modelID: String
    public var family: Family
    /// Side of the square crop the network takes and returns, in pixels.
    public var size: Int
    /// The 5 keypoints' places in the crop (crop pixels, detector order: eye, eye, nose, mouth, mouth),
    /// as the reference computes them in double precision (OpenCV fits in float32).
    public var template: [(Double, Double)]
    public var fit: Fit
    public var border: CropBorder
    /// The network takes CodeFormer's fidelity weight w as a second input.
    public var takesFidelity: Bool

    public static func == (a: EnhancerProfile, b: EnhancerProfile) -> Bool {
        a.modelID == b.modelID && a.family == b.family && a.size == b.size && a.fit == b.fit && a.border == b.border
            && a.takesFidelity == b.takesFidelity && a.template.elementsEqual(b.template, by: { $0 == $1 })
    }

    /// Template points in crop pixels, converted to float as OpenCV does before fitting.
    public var templatePoints: [Point] { template.map { Point(Float($0.0), Float($0.1)) } }

    /// Eye-to-eye distance of the template in crop pixels (how much a face is magnified).
    public var templateEyeDistance: Double {
        let dx = template[1].0 - template[0].0, dy = template[1].1 - template[0].1
        return (dx * dx + dy * dy).squareRoot()
    }

    // MARK: - Templates

    /// facexlib FaceRestoreHelper's 5 FFHQ landmarks of a 512 face (GFPGAN, CodeFormer's own code).
    public static let facexlibFFHQ512: [(Double, Double)] = [
        (192.98138, 239.94708), (318.90277, 240.1936), (256.63416, 314.01935), (201.26117, 371.41043), (313.08905, 371.15118),
    ]
    /// FaceFusion's `ffhq_512` warp template (normalised; the same face as facexlib's divided by 512).
    public static let faceFusionFFHQ512: [(Double, Double)] = [
        (0.37691676, 0.46864664), (0.62285697, 0.46912813), (0.50123859, 0.61331904), (0.39308822, 0.72541100), (0.61150205, 0.72490465),
    ]
    /// FaceFusion's `arcface_128` warp template (normalised), used for GPEN-BFR-256.
    public static let faceFusionArcface128: [(Double, Double)] = [
        (0.36167656, 0.40387734), (0.63696719, 0.40235469), (0.50019687, 0.56044219), (0.38710391, 0.72160547), (0.61507734, 0.72034453),
    ]

    static func scaled(_ normalised: [(Double, Double)], by size: Int) -> [(Double, Double)] {
        normalised.map { ($0.0 * Double(size), $0.1 * Double(size)) }
    }

    // MARK: - Models

    /// GFPGAN v1.4 (FaceFusion's gfpgan_1.4.onnx), aligned exactly as GFPGAN's own FaceRestoreHelper does.
    public static let gfpgan14 = EnhancerProfile(
        modelID: "gfpgan-1.4", family: .gfpgan, size: 512, template: facexlibFFHQ512, fit: .lmeds,
        border: .constant([135, 133, 132]), takesFidelity: false)
    /// GPEN-BFR-256 with FaceFusion's arcface_128 template and warp.
    public static let gpenBFR256 = EnhancerProfile(
        modelID: "gpen-bfr-256", family: .gpen, size: 256, template: scaled(faceFusionArcface128, by: 256),
        fit: .ransac(threshold: 100), border: .replicate, takesFidelity: false)
    /// GPEN-BFR-512 with FaceFusion's ffhq_512 template and warp.
    public static let gpenBFR512 = EnhancerProfile(
        modelID: "gpen-bfr-512", family: .gpen, size: 512, template: scaled(faceFusionFFHQ512, by: 512),
        fit: .ransac(threshold: 100), border: .replicate, takesFidelity: false)
    /// CodeFormer (FaceFusion's codeformer.onnx) with FaceFusion's ffhq_512 template and warp.
    public static let codeformer = EnhancerProfile(
        modelID: "codeformer", family: .codeformer, size: 512, template: scaled(faceFusionFFHQ512, by: 512),
        fit: .ransac(threshold: 100), border: .replicate, takesFidelity: true)

    /// Every model Visage can run as a face enhancer.
    public static let all: [EnhancerProfile] = [gfpgan14, gpenBFR256, gpenBFR512, codeformer]

    /// The profile of a catalogue id, or nil when Visage has no enhancer pipeline for it.
    public static func forModel(_ id: String) -> EnhancerProfile? { all.first { $0.modelID == id } }
}
