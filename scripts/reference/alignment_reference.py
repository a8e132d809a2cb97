#!/usr/bin/env python3
"""Generate reference 5-point face-alignment matrices.

The Swift port (VisageFace) is tested against the JSON this script writes:
``Tests/VisageFaceTests/Fixtures/alignment_reference.json``.

How to run (from the repository root, venv OUTSIDE the repo, see
requirements.txt; scikit-image comes in as an insightface dependency)::

    /tmp/refvenv/bin/python scripts/reference/alignment_reference.py \
        [--shared /work/shared] \
        [--detections Tests/VisageFaceTests/Fixtures/detector_reference.json] \
        [--out Tests/VisageFaceTests/Fixtures/alignment_reference.json]

Input: the 5-point keypoints (``kps``, image pixels, 4 decimals) of every
scrfd-500m face in detector_reference.json.  They are parsed as float64 and
passed on as float64 arrays.

What it computes per face:

* ``M112``: ``insightface.utils.face_align.estimate_norm(kps, 112)`` (ArcFace
  crop).  insightface 2.1 still names the functions ``estimate_norm`` /
  ``norm_crop`` (plus ``norm_crop2`` which also returns M).  estimate_norm
  fits a skimage ``SimilarityTransform`` (Umeyama least squares, no
  reflection) from the keypoints to ``arcface_dst * ratio`` with an x shift:
  sizes divisible by 112 use ratio = size/112, shift 0; otherwise (sizes
  divisible by 128) ratio = size/128 and x shift 8*ratio.
* ``M128``: ``estimate_norm(kps, 128)`` (inswapper crop): ratio 1.0, template
  x + 8.0.
* ``M512_ffhq``: facexlib's ``FaceRestoreHelper.align_warp_face`` matrix,
  i.e. ``cv2.estimateAffinePartial2D(kps, ffhq512_template,
  method=cv2.LMEDS)[0]`` (facexlib 0.3.0 uses LMEDS; refineIters default 10,
  OpenCV converts the points to float32 internally; deterministic because
  OpenCV's LMeDS uses a fixed-seed RNG).  ``M512_ffhq_lstsq`` is the plain
  Umeyama least-squares similarity to the same template, for comparison.

Also written: the templates, and for three faces the per-channel mean of
``norm_crop(cv2.imread(path), kps, 112)`` (uint8 BGR crop, mean over the
112x112 pixels, channel order B, G, R) as a sanity number.

All matrices are written at full float64 precision (json repr round-trips).
"""

import argparse
import json
import os
import platform
import sys
import warnings

import cv2
import numpy as np
import onnxruntime
import skimage
from skimage import transform as sktrans
import insightface
from insightface.utils import face_align

DETECTOR_MODEL = "scrfd-500m"

# facexlib 0.3.0 facexlib/utils/face_restoration_helper.py,
# FaceRestoreHelper.__init__ (template_3points=False, face_size=512,
# crop_ratio=(1,1)): "standard 5 landmarks for FFHQ faces with 512 x 512".
# Numbers copied as data (float64); scaled by face_size/512 = 1.0.
FFHQ512_TEMPLATE = [
    [192.98138, 239.94708],
    [318.90277, 240.1936],
    [256.63416, 314.01935],
    [201.26117, 371.41043],
    [313.08905, 371.15118],
]

# Decimal literals of insightface's arcface_dst (face_align.py); insightface
# stores them as float32.
ARCFACE_DST_LITERALS = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
]

# (image, face index in the scrfd-500m results) for the crop sanity means.
CROP_MEAN_FACES = [
    ("insightface/t1.jpg", 0),
    ("face_recognition/obama.jpg", 0),
    ("skimage/astronaut.png", 0),
]


def mat(m):
    return [[float(v) for v in row] for row in np.asarray(m, dtype=np.float64)]


def umeyama_similarity(src, dst):
    """Least-squares similarity src->dst in float64 via skimage (for comparison)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        t = sktrans.SimilarityTransform()
        t.estimate(np.asarray(src, np.float64), np.asarray(dst, np.float64))
    return t.params[0:2, :]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.abspath(os.path.join(here, "..", ".."))
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="/work/shared")
    ap.add_argument("--detections", default=os.path.join(
        repo, "Tests/VisageFaceTests/Fixtures/detector_reference.json"))
    ap.add_argument("--out", default=os.path.join(
        repo, "Tests/VisageFaceTests/Fixtures/alignment_reference.json"))
    args = ap.parse_args()

    det = json.load(open(args.detections))
    results = det["scrfd"]["results"][DETECTOR_MODEL]
    template = np.array(FFHQ512_TEMPLATE, dtype=np.float64)

    faces = []
    max_f32_diff = {"M112": 0.0, "M128": 0.0}
    max_f64dst_diff = 0.0
    max_lmeds_vs_lstsq = 0.0
    for entry in results:
        for idx, f in enumerate(entry["faces"]):
            kps = np.array(f["kps"], dtype=np.float64)
            with warnings.catch_warnings():
                # skimage 0.26 deprecates SimilarityTransform.estimate (still works)
                warnings.simplefilter("ignore", FutureWarning)
                m112 = face_align.estimate_norm(kps, image_size=112)
                m128 = face_align.estimate_norm(kps, image_size=128)
                # What insightface gets at runtime (SCRFD kps are float32):
                m112_32 = face_align.estimate_norm(kps.astype(np.float32), 112)
                m128_32 = face_align.estimate_norm(kps.astype(np.float32), 128)
            max_f32_diff["M112"] = max(max_f32_diff["M112"], float(np.abs(m112 - m112_32).max()))
            max_f32_diff["M128"] = max(max_f32_diff["M128"], float(np.abs(m128 - m128_32).max()))
            # Same fit with the template as float64 decimal literals:
            m112_64 = umeyama_similarity(kps, np.array(ARCFACE_DST_LITERALS, np.float64))
            max_f64dst_diff = max(max_f64dst_diff, float(np.abs(m112 - m112_64).max()))

            m512, inl = cv2.estimateAffinePartial2D(kps, template, method=cv2.LMEDS)
            m512_ls = umeyama_similarity(kps, template)
            max_lmeds_vs_lstsq = max(max_lmeds_vs_lstsq, float(np.abs(m512 - m512_ls).max()))
            faces.append({
                "image": entry["image"],
                "face_index": idx,
                "kps": f["kps"],
                "M112": mat(m112),
                "M128": mat(m128),
                "M512_ffhq": mat(m512),
                "M512_ffhq_inliers": [int(v) for v in inl.ravel()],
                "M512_ffhq_lstsq": mat(m512_ls),
            })

    crop_means = {}
    for image, idx in CROP_MEAN_FACES:
        img = cv2.imread(os.path.join(args.shared, "media/images", image))
        entry = next(e for e in results if e["image"] == image)
        kps = np.array(entry["faces"][idx]["kps"], dtype=np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            crop = face_align.norm_crop(img, kps, image_size=112)
        crop_means[f"{image}#{idx}"] = [float(v) for v in crop.reshape(-1, 3).astype(np.float64).mean(axis=0)]

    arc32 = face_align.arcface_dst.astype(np.float64)
    dst128 = face_align.arcface_dst * 1.0
    dst128[:, 0] += 8.0

    out = {
        "generator": "scripts/reference/alignment_reference.py",
        "versions": {
            "insightface": insightface.__version__,
            "scikit_image": skimage.__version__,
            "opencv": cv2.__version__,
            "onnxruntime": onnxruntime.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "facexlib_template_source": "facexlib 0.3.0 (PyPI wheel) facexlib/utils/face_restoration_helper.py FaceRestoreHelper.__init__",
            "platform": f"{platform.machine()} {platform.system()}",
        },
        "source": f"detector_reference.json scrfd.results['{DETECTOR_MODEL}'] kps (4 decimals, parsed as float64)",
        "api": {
            "M112": "insightface.utils.face_align.estimate_norm(kps_float64, image_size=112)",
            "M128": "insightface.utils.face_align.estimate_norm(kps_float64, image_size=128)  # 128 % 112 != 0 -> ratio=128/128=1.0, template x += 8.0*ratio",
            "M512_ffhq": "cv2.estimateAffinePartial2D(kps_float64, ffhq512_template, method=cv2.LMEDS)[0]  # as facexlib FaceRestoreHelper.align_warp_face",
            "M512_ffhq_lstsq": "least-squares (Umeyama) similarity to the same template, for comparison only",
            "crop_means": "norm_crop(cv2.imread(path) BGR uint8, kps, 112) -> per-channel mean [B,G,R] over 112x112 (warpAffine INTER_LINEAR, BORDER_CONSTANT 0)",
            "M_convention": "2x3, dst = M @ [x, y, 1] maps image pixels -> crop pixels (cv2.warpAffine forward matrix)",
        },
        "arcface_dst": ARCFACE_DST_LITERALS,
        "arcface_dst_float32_as_float64": mat(arc32),
        "arcface_dst_note": "insightface stores arcface_dst as float32; estimate_norm fits against the float32 values (second field). Fitting against the float64 literals instead changes M112 by at most max_abs_diff.M112_float64_template_vs_float32.",
        "template_128_float32_as_float64": mat(dst128),
        "ffhq512_template": FFHQ512_TEMPLATE,
        "ffhq512_method": "cv2.LMEDS (facexlib comment: 'use cv2.LMEDS method for the equivalence to skimage transform'); warpAffine to (512,512), BORDER_CONSTANT, borderValue=(135,133,132)",
        "max_abs_diff": {
            "M112_kps_float32_vs_float64": max_f32_diff["M112"],
            "M128_kps_float32_vs_float64": max_f32_diff["M128"],
            "M112_float64_template_vs_float32": max_f64dst_diff,
            "M512_lmeds_vs_lstsq": max_lmeds_vs_lstsq,
        },
        "faces": faces,
        "crop_means": crop_means,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    print(f"wrote {args.out}: {len(faces)} faces", file=sys.stderr)
    print(json.dumps(out["max_abs_diff"], indent=1), file=sys.stderr)
    print(json.dumps(crop_means, indent=1), file=sys.stderr)


if __name__ == "__main__":
    main()
