// VisageCLNF: OpenFace 2.2's own face detection (MTCNN) and landmark fitting (CLNF with CCNF patch experts,
// hierarchical eye and inner-face models, CNN detection validator), reimplemented so that `visage au`
// reproduces FeatureExtraction end to end.
