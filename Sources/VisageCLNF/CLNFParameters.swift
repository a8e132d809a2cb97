import Foundation

/// OpenFace's `FaceModelParameters` as far as CLNF fitting and video tracking use them.
/// `.openFaceVideo` is what FeatureExtraction runs with `-mloc model/main_clnf_general.txt` (the defaults of
/// `FaceModelParameters::init`; main_clnf_general changes none of them).
public struct CLNFParameters: Sendable, Equatable {
    /// Response window per scale for a fresh detection (0 skips the scale).
    public var windowSizesInit: [Int]
    /// Response window per scale while tracking successfully.
    public var windowSizesSmall: [Int]
    /// KDE standard deviation of the mean shift, in response-map pixels.
    public var sigma: Float
    /// Tikhonov factor on the local parameters (divided by each mode's eigenvalue).
    public var regFactor: Float
    /// NU-RLMS landmark weighting (0: identity weights, OpenFace's default for video).
    public var weightFactor: Float
    /// RLMS iterations per rigid / non-rigid pass.
    public var iterations: Int
    /// Adapt regFactor, sigma and weightFactor to each scale (`refine_parameters`).
    public var refineParameters: Bool
    /// Run the part models (eyes, inner face) after the main fit (`refine_hierarchical`).
    public var refineHierarchical: Bool
    /// Ask the landmark validator after each fit (`validate_detections`); needs a validator.
    public var validateDetections: Bool
    /// Certainty above which a validated fit counts as a success (`validation_boundary`).
    public var validationBoundary: Float
    /// While tracking fails, re-detect every this many frames (`reinit_video_every`).
    public var reinitVideoEvery: Int

    public init(windowSizesInit: [Int], windowSizesSmall: [Int], sigma: Float, regFactor: Float, weightFactor: Float,
                iterations: Int, refineParameters: Bool, refineHierarchical: Bool, validateDetections: Bool,
                validationBoundary: Float, reinitVideoEvery: Int) {
        self.windowSizesInit = windowSizesInit
        self.windowSizesSmall = windowSizesSmall
        self.sigma = sigma
        self.regFactor = regFactor
        self.weightFactor = weightFactor
        self.iterations = iterations
        self.refineParameters = refineParameters
        self.refineHierarchical = refineHierarchical
        self.validateDetections = validateDetections
        self.validationBoundary = validationBoundary
        self.reinitVideoEvery = reinitVideoEvery
    }

    /// `FaceModelParameters::init()`.
    public static let openFaceVideo = CLNFParameters(
        windowSizesInit: [11, 9, 7, 5], windowSizesSmall: [0, 9, 7, 0], sigma: 1.5, regFactor: 25, weightFactor: 0,
        iterations: 5, refineParameters: true, refineHierarchical: true, validateDetections: true,
        validationBoundary: OpenFaceDetectionCertainty.validationBoundary, reinitVideoEvery: 2)

    /// The parameters `CLNF::Read` gives a part model by its name in the main file (validation, hierarchy
    /// and parameter refinement off; window sizes, regularisation and sigma per part). Nil for unknown names.
    public static func part(named name: String) -> CLNFParameters? {
        var p = openFaceVideo
        p.validateDetections = false
        p.refineHierarchical = false
        p.refineParameters = false
        switch name {
        case "left_eye", "right_eye":
            p.windowSizesInit = [5, 3]; p.regFactor = 0.1; p.sigma = 2
        case "left_eye_28", "right_eye_28":
            p.windowSizesInit = [3, 5, 9]; p.regFactor = 0.5; p.sigma = 1
        case "mouth":
            p.windowSizesInit = [7, 7]; p.regFactor = 1; p.sigma = 2
        case "brow":
            p.windowSizesInit = [11, 9]; p.regFactor = 10; p.sigma = 3.5
        case "inner":
            p.windowSizesInit = [9]; p.regFactor = 2.5; p.sigma = 1.75; p.weightFactor = 2.5
        default:
            return nil
        }
        p.windowSizesSmall = p.windowSizesInit
        return p
    }

    /// `refine_parameters`: less regularisation, wider KDE and more weighting at finer scales
    /// (OpenFace evaluates the logs in double and stores floats).
    func adapted(toPatchScaling scaling: Double) -> CLNFParameters {
        var p = self
        let octaves = log(scaling / 0.25) / log(2.0)
        p.regFactor = Float(Double(regFactor) - 15 * octaves)
        if p.regFactor <= 0 { p.regFactor = 0.001 }
        p.sigma = Float(Double(sigma) + 0.25 * octaves)
        p.weightFactor = Float(Double(weightFactor) + 2 * Double(weightFactor) * octaves)
        return p
    }
}
