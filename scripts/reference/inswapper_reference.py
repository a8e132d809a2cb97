#!/usr/bin/env python3
"""Generate reference outputs of insightface's INSwapper pipeline on the twins.

The Swift port (VisageSwap / VisageFace) is tested for equivalence against the
JSON this script writes: ``Tests/VisageSwapTests/Fixtures/inswapper_reference.json``.

The trained inswapper_128 / w600k_r50 weights are not available, so this runs
the *architecture twins* (same graphs, I/O names, initializer names/order,
seeded random weights; see ``/work/shared/models/twins/README.md``).  Their
outputs mean nothing as images, but every pre/post-processing step around the
networks (alignment, blob layout and scaling, emap projection, output
decoding, paste-back) is exercised exactly as with the real models.

How to run (from the repository root; venv and filled twins OUTSIDE the repo)::

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install -r scripts/reference/requirements.txt

    # fill the twins (deterministic: same command -> same bytes, see TWINS below)
    mkdir -p /tmp/twins
    /tmp/refvenv/bin/python /work/shared/tools/twin.py fill \\
        /work/shared/models/twins/inswapper_128_twin.graph.onnx /tmp/twins/inswapper_128_twin.onnx --seed 0
    /tmp/refvenv/bin/python /work/shared/tools/twin.py fill \\
        /work/shared/models/twins/w600k_r50_twin.graph.onnx /tmp/twins/w600k_r50_twin.onnx --seed 0

    /tmp/refvenv/bin/python scripts/reference/inswapper_reference.py \\
        [--shared /work/shared] [--twins /tmp/twins] \\
        [--detections Tests/VisageFaceTests/Fixtures/detector_reference.json] \\
        [--out Tests/VisageSwapTests/Fixtures/inswapper_reference.json] \\
        [--bench]            # also time the twins (printed, not written)
        [--png-regions]      # pasted regions as PNG even when <= 200x200 (~90 KB smaller)

Pinned versions (requirements.txt): insightface 2.1, onnxruntime 1.31.1,
opencv-python(-headless) 5.0.0.93 (cv2 5.0.0), numpy 2.4.6, onnx 1.23.2,
scikit-image 0.26.0 (insightface dependency), CPython 3.11.  The script refuses
to run if a twin's sha256 differs from the pinned one (use --allow-other-twins
to override, e.g. after a deliberate change of twin.py).

What it runs -- insightface's OWN classes, CPU only:

* ``insightface.model_zoo.arcface_onnx.ArcFaceONNX(model_file, session)`` with
  ``session = onnxruntime.InferenceSession(model_file, providers=['CPUExecutionProvider'])``
  and ``prepare(ctx_id=-1)``.  Its mean/std detection looks at the names of the
  first 8 graph nodes (``Sub``/``_minus`` and ``Mul``/``_mul`` prefixes mean an
  mxnet export with built-in normalisation).  The twin's first nodes are named
  ``/conv1/Conv``, ``/prelu/PRelu``, ... so it picks mean 127.5, std 127.5, as
  for the real buffalo_l w600k_r50.  ``ArcFaceONNX.get(img, face)`` sets
  ``face.embedding``; ``face.normed_embedding`` is insightface's ``Face``
  property (embedding / its L2 norm, float32).
* ``insightface.model_zoo.inswapper.INSwapper(model_file, session)``: 2.1's
  constructor takes only ``model_file`` and ``session`` (no providers, no
  prepare()); it reads ``emap`` as ``numpy_helper.to_array(graph.initializer[-1])``
  from the file with onnx -- the twin's last initializer is ``buff2fs``
  (512x512 float32), checked here.  ``get(img, target_face, source_face,
  paste_back=False)`` returns ``(bgr_fake, M)``; ``paste_back=True`` returns
  the whole pasted frame.
* Faces are insightface ``Face`` objects built from the committed scrfd-500m
  detections (``detector_reference.json``): ``bbox`` and ``kps`` as float32
  arrays (what a real SCRFD returns), ``det_score`` float32.
* Images are read with ``cv2.imread(path)`` (BGR uint8, IMREAD_COLOR).

Source face: face_recognition/obama.jpg (its one face).  Targets:
skimage/astronaut.png face 0 and insightface/t1.jpg face 0.

The script also re-implements ``get(paste_back=True)`` step by step, following
INSWAPPER_NOTES.md, and asserts that the re-implementation is bit-identical to
insightface's output (so the notes are checked on every run).

Fixture encoding: images are base64 of raw uint8 bytes, row-major, BGR
interleaved (HxWx3), unless the field says ``png``.  Float vectors given in
full are base64 of little-endian float32.  Matrices are float64 at full
precision (JSON repr round-trips).
"""

import argparse
import base64
import hashlib
import json
import os
import platform
import statistics
import sys
import time
import warnings

import cv2
import numpy as np
import onnx
import onnxruntime
import skimage
from onnx import numpy_helper

import insightface
from insightface.app.common import Face
from insightface.model_zoo.arcface_onnx import ArcFaceONNX
from insightface.model_zoo.inswapper import INSwapper
from insightface.utils import face_align

DETECTOR_MODEL = "scrfd-500m"
SOURCE = ("face_recognition/obama.jpg", 0)
TARGETS = [("skimage/astronaut.png", 0), ("insightface/t1.jpg", 0)]
RAW_REGION_MAX = 200  # pasted-region side above which the region is stored as PNG

TWIN_FILL = "python3 /work/shared/tools/twin.py fill /work/shared/models/twins/{graph} /tmp/twins/{name} --seed 0"
TWINS = {
    "inswapper": {
        "graph": "inswapper_128_twin.graph.onnx",
        "name": "inswapper_128_twin.onnx",
        "sha256": "8088ef08d77cc06fb2b2bc6bfb3e09ba9a65f3933b4cf80f7f0ee6eabb2006a0",
        "bytes": 554268512,
    },
    "arcface": {
        "graph": "w600k_r50_twin.graph.onnx",
        "name": "w600k_r50_twin.onnx",
        "sha256": "66121093d66dbe8e21e01a4890cd78cd386ba7366e5a746fcfbe215a7d15b9d9",
        "bytes": 174395932,
    },
}


# ---------------------------------------------------------------- helpers

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def b64_f32(v):
    return base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode("ascii")


def floats(v):
    """float32/float64 values -> JSON floats (exact: float32 widened to float64)."""
    return [float(x) for x in np.asarray(v).ravel()]


def mat(m):
    return [[float(v) for v in row] for row in np.asarray(m, dtype=np.float64)]


def make_face(entry, idx):
    f = entry["faces"][idx]
    return Face(bbox=np.array(f["box"], dtype=np.float32),
                kps=np.array(f["kps"], dtype=np.float32),
                det_score=np.float32(f["score"]))


def cpu_session(path):
    so = onnxruntime.SessionOptions()
    so.log_severity_level = 3  # silence "Removing initializer 'buff2fs'" (expected)
    return onnxruntime.InferenceSession(path, so, providers=["CPUExecutionProvider"])


# ---------------------------------------------- independent re-implementation

def paste_back_per_notes(target_img, bgr_fake, M):
    """get(paste_back=True) after the network, as described in INSWAPPER_NOTES.md.

    Returns (frame, info).  fake_diff is left out on purpose: insightface
    computes it but never uses it in the blend.
    """
    h, w = target_img.shape[:2]
    IM = cv2.invertAffineTransform(M)
    fake_full = cv2.warpAffine(bgr_fake, IM, (w, h), borderValue=0.0)            # uint8 BGR
    white = cv2.warpAffine(np.full(bgr_fake.shape[:2], 255, np.float32), IM, (w, h),
                           borderValue=0.0)                                         # float32
    white[white > 20] = 255            # values in (0, 20] are kept as they are
    ys, xs = np.where(white == 255)
    mask_h = int(ys.max() - ys.min())  # no +1
    mask_w = int(xs.max() - xs.min())
    mask_size = int(np.sqrt(mask_h * mask_w))
    k_erode = max(mask_size // 10, 10)
    mask = cv2.erode(white, np.ones((k_erode, k_erode), np.uint8), iterations=1)
    k_blur = max(mask_size // 20, 5)
    ks = 2 * k_blur + 1
    mask = cv2.GaussianBlur(mask, (ks, ks), 0)
    mask /= 255                                                                     # float32
    mask = mask.reshape(h, w, 1)
    merged = mask * fake_full + (1 - mask) * target_img.astype(np.float32)          # float32
    frame = merged.astype(np.uint8)                                                 # truncation
    info = {
        "mask_bbox_xyxy": [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())],
        "mask_h": mask_h, "mask_w": mask_w, "mask_size": mask_size,
        "erode_kernel": k_erode, "blur_k": k_blur, "blur_kernel_size": ks,
        "blur_sigma": 0.3 * ((ks - 1) * 0.5 - 1) + 0.8,
        "mask_nonzero_pixels": int((mask > 0).sum()),
        "mask_one_pixels": int((mask == 1).sum()),
    }
    return frame, info


def bench(fn, n):
    fn()  # warm-up
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), ts


# ---------------------------------------------------------------- main

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.abspath(os.path.join(here, "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default="/work/shared")
    ap.add_argument("--twins", default="/tmp/twins")
    ap.add_argument("--detections", default=os.path.join(
        repo, "Tests/VisageFaceTests/Fixtures/detector_reference.json"))
    ap.add_argument("--out", default=os.path.join(
        repo, "Tests/VisageSwapTests/Fixtures/inswapper_reference.json"))
    ap.add_argument("--allow-other-twins", action="store_true")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--png-regions", action="store_true",
                    help="store every pasted region as PNG (smaller file) instead of raw bytes")
    args = ap.parse_args()

    images_root = os.path.join(args.shared, "media/images")
    paths = {k: os.path.join(args.twins, t["name"]) for k, t in TWINS.items()}
    shas = {}
    for k, p in paths.items():
        if not os.path.exists(p):
            sys.exit(f"missing {p}; fill it with: " + TWIN_FILL.format(**TWINS[k]))
        shas[k] = sha256_file(p)
        if shas[k] != TWINS[k]["sha256"]:
            msg = f"{p}: sha256 {shas[k]} != pinned {TWINS[k]['sha256']}"
            if not args.allow_other_twins:
                sys.exit(msg + " (refill with the pinned command or pass --allow-other-twins)")
            print("WARNING:", msg, file=sys.stderr)

    det = json.load(open(args.detections))
    results = {e["image"]: e for e in det["scrfd"]["results"][DETECTOR_MODEL]}

    # ---- models, through insightface's classes
    arc_sess = cpu_session(paths["arcface"])
    arc = ArcFaceONNX(model_file=paths["arcface"], session=arc_sess)
    arc.prepare(ctx_id=-1)
    arc_graph = onnx.load(paths["arcface"], load_external_data=False).graph
    arc_first_nodes = [n.name for n in arc_graph.node[:8]]
    del arc_graph

    sw_sess = cpu_session(paths["inswapper"])
    swapper = INSwapper(model_file=paths["inswapper"], session=sw_sess)
    sw_model = onnx.load(paths["inswapper"])
    last = sw_model.graph.initializer[-1]
    emap_from_file = numpy_helper.to_array(last)
    assert last.name == "buff2fs", last.name
    assert np.array_equal(swapper.emap, emap_from_file)
    emap_info = {
        "initializer_name": last.name,
        "initializer_index": len(sw_model.graph.initializer) - 1,
        "initializer_count": len(sw_model.graph.initializer),
        "shape": [int(d) for d in swapper.emap.shape],
        "dtype": str(swapper.emap.dtype),
        "onnx_data_type": int(last.data_type),
        "stored_as": "raw_data" if last.raw_data else "float_data",
        "used_by_nodes": sum(1 for n in sw_model.graph.node if last.name in n.input),
        "row0_first8": floats(swapper.emap[0, :8]),
        "col0_first8": floats(swapper.emap[:8, 0]),
        "sha256_f32le": hashlib.sha256(swapper.emap.astype("<f4").tobytes()).hexdigest(),
    }
    sw_io = {
        "inputs": [[i.name, list(i.shape), i.type] for i in sw_sess.get_inputs()],
        "outputs": [[o.name, list(o.shape), o.type] for o in sw_sess.get_outputs()],
    }
    del sw_model

    # ---- source embedding
    src_img = cv2.imread(os.path.join(images_root, SOURCE[0]))
    src_face = make_face(results[SOURCE[0]], SOURCE[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # skimage 0.26: estimate() deprecated
        arc.get(src_img, src_face)
        m112 = face_align.estimate_norm(src_face.kps, arc.input_size[0])
        crop112 = face_align.norm_crop(src_img, src_face.kps, arc.input_size[0])
    emb = src_face.embedding
    nemb = src_face.normed_embedding
    latent = nemb.reshape((1, -1))
    latent = np.dot(latent, swapper.emap)
    latent /= np.linalg.norm(latent)
    # double-precision version of the same maths, to size the float32 error
    lat64 = (nemb.astype(np.float64) @ swapper.emap.astype(np.float64))
    lat64 /= np.linalg.norm(lat64)

    source = {
        "image": SOURCE[0], "face_index": SOURCE[1],
        "bbox": floats(src_face.bbox), "kps": [floats(p) for p in src_face.kps],
        "arcface_M112": mat(m112),
        "arcface_crop112_sha256": hashlib.sha256(crop112.tobytes()).hexdigest(),
        "arcface_crop112_mean_bgr": floats(crop112.reshape(-1, 3).astype(np.float64).mean(axis=0)),
        "embedding_dtype": str(emb.dtype),
        "embedding_l2_norm": float(np.linalg.norm(emb)),
        "embedding_first8": floats(emb[:8]),
        "embedding_f32le_b64": b64_f32(emb),
        "normed_embedding_first8": floats(nemb[:8]),
        "normed_embedding_f32le_b64": b64_f32(nemb),
        "latent_first8": floats(latent[0, :8]),
        "latent_f32le_b64": b64_f32(latent[0]),
        "latent_dtype": str(latent.dtype),
        "latent_max_abs_diff_vs_float64_math": float(np.abs(latent[0] - lat64).max()),
    }

    # ---- targets
    targets = []
    for image, idx in TARGETS:
        img = cv2.imread(os.path.join(images_root, image))
        face = make_face(results[image], idx)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            bgr_fake, M = swapper.get(img, face, src_face, paste_back=False)
            pasted = swapper.get(img.copy(), face, src_face, paste_back=True)
            aimg, M2 = face_align.norm_crop2(img, face.kps, swapper.input_size[0])
        assert np.array_equal(M, M2)
        # the network output itself (same code path as get())
        blob = cv2.dnn.blobFromImage(aimg, 1.0 / swapper.input_std, swapper.input_size,
                                     (swapper.input_mean,) * 3, swapRB=True)
        pred = sw_sess.run(swapper.output_names, {swapper.input_names[0]: blob,
                                                   swapper.input_names[1]: latent})[0]
        fake_again = np.clip(255 * pred.transpose((0, 2, 3, 1))[0], 0, 255).astype(np.uint8)[:, :, ::-1]
        assert np.array_equal(fake_again, bgr_fake)
        scaled = 255 * pred
        frac = scaled - np.floor(scaled)
        near_int = int(((frac < 1e-3) | (frac > 1 - 1e-3)).sum())

        # checks of the notes
        blob_notes = ((aimg[:, :, ::-1].astype(np.float32) - np.float32(0.0)) * np.float32(1.0 / 255.0)
                      ).transpose(2, 0, 1)[None]
        assert np.array_equal(blob_notes, blob)
        mine, info = paste_back_per_notes(img, bgr_fake, M)
        assert np.array_equal(mine, pasted), "re-implementation differs from insightface"

        changed = np.any(pasted != img, axis=2)
        ys, xs = np.where(changed)
        x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
        region = np.ascontiguousarray(pasted[y0:y1, x0:x1])
        rw, rh = x1 - x0, y1 - y0
        if rw <= RAW_REGION_MAX and rh <= RAW_REGION_MAX and not args.png_regions:
            enc, data = "raw_bgr_uint8", b64(region)
        else:
            ok, png = cv2.imencode(".png", region)
            assert ok
            enc, data = "png", base64.b64encode(png.tobytes()).decode("ascii")

        targets.append({
            "image": image, "face_index": idx,
            "width": int(img.shape[1]), "height": int(img.shape[0]),
            "bbox": floats(face.bbox),
            "kps": [floats(p) for p in face.kps],
            "M": mat(M),
            "aligned_crop128_sha256": hashlib.sha256(aimg.tobytes()).hexdigest(),
            "aligned_crop128_mean_bgr": floats(aimg.reshape(-1, 3).astype(np.float64).mean(axis=0)),
            "pred_stats": {"min": float(pred.min()), "max": float(pred.max()),
                           "mean": float(pred.astype(np.float64).mean()),
                           "first8_ch0_row0": floats(pred[0, 0, 0, :8]),
                           "values_within_1e-3_of_integer_after_x255": near_int},
            "bgr_fake": {"width": 128, "height": 128, "encoding": "raw_bgr_uint8",
                         "sha256": hashlib.sha256(bgr_fake.tobytes()).hexdigest(),
                         "data": b64(bgr_fake)},
            "paste_back": {
                "frame_sha256": hashlib.sha256(np.ascontiguousarray(pasted).tobytes()).hexdigest(),
                "changed_pixels": int(changed.sum()),
                "max_abs_change": int(np.abs(pasted.astype(int) - img.astype(int)).max()),
                "region": {"x": x0, "y": y0, "w": rw, "h": rh,
                           "encoding": enc,
                           "sha256_raw": hashlib.sha256(region.tobytes()).hexdigest(),
                           "data": data},
                "mask": info,
            },
        })

    out = {
        "generator": "scripts/reference/inswapper_reference.py",
        "note": "Architecture twins with seeded random weights: outputs are meaningless images but "
                "exercise every pre/post-processing step. See scripts/reference/INSWAPPER_NOTES.md.",
        "versions": {
            "insightface": insightface.__version__,
            "onnxruntime": onnxruntime.__version__,
            "opencv": cv2.__version__,
            "numpy": np.__version__,
            "onnx": onnx.__version__,
            "scikit_image": skimage.__version__,
            "python": platform.python_version(),
            "platform": f"{platform.machine()} {platform.system()}",
        },
        "twins": {
            k: {"file": t["name"], "graph": "shared/models/twins/" + t["graph"],
                "sha256": shas[k], "bytes": os.path.getsize(paths[k]),
                "fill_command": TWIN_FILL.format(**t)}
            for k, t in TWINS.items()
        },
        "images_root": "shared/media/images",
        "faces_from": f"Tests/VisageFaceTests/Fixtures/detector_reference.json scrfd.results['{DETECTOR_MODEL}'] "
                      "(box/kps 4 decimals) -> float32 arrays in insightface Face(bbox, kps, det_score)",
        "api": {
            "arcface": "ArcFaceONNX(model_file, session=InferenceSession(model_file, providers=['CPUExecutionProvider'])); "
                       "prepare(ctx_id=-1); get(cv2.imread(src), face) -> face.embedding; face.normed_embedding",
            "inswapper": "INSwapper(model_file, session=InferenceSession(model_file, providers=['CPUExecutionProvider'])); "
                         "get(cv2.imread(target), target_face, source_face, paste_back=False) -> (bgr_fake, M); "
                         "get(..., paste_back=True) -> frame",
            "latent": "normalize(normed_embedding.reshape(1,-1) @ emap) in float32 (np.dot, then /= np.linalg.norm)",
        },
        "encodings": {
            "raw_bgr_uint8": "base64 of HxWx3 uint8, row-major, BGR interleaved",
            "png": "base64 of a PNG file (cv2.imencode), decodes to HxWx3 BGR uint8",
            "f32le_b64": "base64 of little-endian float32 values",
            "matrices": "float64, 2x3, maps image pixels -> crop pixels (cv2.warpAffine forward matrix)",
            "paste_back.region": "bounding rectangle [x, x+w) x [y, y+h) of the pixels where the pasted frame "
                                 "differs from the original; outside it the frame equals the original image",
        },
        "arcface": {
            "input_mean": float(arc.input_mean), "input_std": float(arc.input_std),
            "input_size": list(arc.input_size),
            "input_name": arc.input_name, "output_names": arc.output_names,
            "first8_node_names": arc_first_nodes,
        },
        "inswapper": {
            "input_mean": float(swapper.input_mean), "input_std": float(swapper.input_std),
            "input_size": list(swapper.input_size), "io": sw_io, "emap": emap_info,
        },
        "source": source,
        "targets": targets,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")

    if args.bench:
        # Timings are printed, not written: they depend on the machine.
        img = cv2.imread(os.path.join(images_root, TARGETS[0][0]))
        face = make_face(results[TARGETS[0][0]], TARGETS[0][1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            aimg, _ = face_align.norm_crop2(img, face.kps, swapper.input_size[0])
            blob = cv2.dnn.blobFromImage(aimg, 1.0 / 255.0, (128, 128), (0.0, 0.0, 0.0), swapRB=True)
            feeds = {swapper.input_names[0]: blob, swapper.input_names[1]: latent}
            t_sw, all_sw = bench(lambda: sw_sess.run(swapper.output_names, feeds), 3)
            t_get, all_get = bench(lambda: swapper.get(img, face, src_face, paste_back=True), 3)
            ablob = cv2.dnn.blobFromImages([crop112], 1.0 / 127.5, (112, 112), (127.5,) * 3, swapRB=True)
            t_arc, all_arc = bench(lambda: arc_sess.run(arc.output_names, {arc.input_name: ablob}), 5)
            t_arc_get, all_arc_get = bench(lambda: arc.get(src_img, make_face(results[SOURCE[0]], 0)), 5)
        print(f"cpu_count={os.cpu_count()} onnxruntime={onnxruntime.__version__} default SessionOptions, CPU EP")
        print(f"inswapper twin session.run: median of 3 = {t_sw * 1000:.1f} ms  {[round(t * 1000, 1) for t in all_sw]}")
        print(f"INSwapper.get(paste_back=True) on {TARGETS[0][0]}: median of 3 = {t_get * 1000:.1f} ms  "
              f"{[round(t * 1000, 1) for t in all_get]}")
        print(f"arcface twin session.run (1x3x112x112): median of 5 = {t_arc * 1000:.1f} ms  "
              f"{[round(t * 1000, 1) for t in all_arc]}")
        print(f"ArcFaceONNX.get: median of 5 = {t_arc_get * 1000:.1f} ms  {[round(t * 1000, 1) for t in all_arc_get]}")


if __name__ == "__main__":
    main()
