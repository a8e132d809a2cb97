import Foundation
import VisageCLNF

/// OpenFace's CNN landmark validator (`validator_cnn.txt`), which decides the CSV's `success` and `confidence`.
enum CLNFValidatorFactory {
    static func make(folder: URL) -> OpenFaceLandmarkValidator? { nil }
}
