import Foundation

// VisageCLNF: OpenFace 2.2's own face detection (MTCNN) and landmark fitting (CLNF with CCNF patch experts,
// hierarchical eye and inner-face models, CNN detection validator), reimplemented so that `visage au`
// reproduces FeatureExtraction end to end.

/// Which loops compute CLNF's patch responses on this machine, for logs and `visage doctor`.
public enum CLNFKernels {
    public static var summary: String {
        if CCNFResponseWorkspace.wideKernels { return "AVX kernels" }
        if ProcessInfo.processInfo.environment["VISAGE_NO_AVX"] != nil { return "portable SIMD loops (VISAGE_NO_AVX is set)" }
        return "portable SIMD loops (this CPU has no AVX)"
    }
}
