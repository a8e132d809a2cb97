import Foundation
import VisageCLNF
import VisageCore

/// OpenFace's CNN landmark validator (`validator_cnn.txt`, the one main_clnf_general.txt names), which decides
/// the CSV's `success` and `confidence`. A missing or unreadable file is an error: without it every frame
/// would count as a success.
enum CLNFValidatorFactory {
    static func make(folder: URL) throws -> OpenFaceLandmarkValidator {
        try CNNDetectionValidator(contentsOf: folder.appendingPathComponent("detection_validation/validator_cnn.txt"))
    }
}
