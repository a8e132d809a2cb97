// VisageAU: OpenFace 2.2's facial action unit stage (FaceAnalyser), reimplemented.
//
// Landmarks (68 points) → PDM fit (CalcParams) → similarity-aligned, masked 112×112 crop →
// FHOG (cell 8, 12×12×31) + PDM geometry (238) → per-person running median → SVR/SVM
// predictors → online correction or offline post-processing. Every stage follows the
// OpenFace 2.2 sources so the numbers match its FeatureExtraction CSV.
