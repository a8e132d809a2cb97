#!/usr/bin/env python3
"""Reference outputs of the GFPGAN face-enhancement pipeline on the GFPGAN v1.4 twin.

The Swift port (VisageEnhance) is tested against what this script writes into
``Tests/VisageEnhanceTests/Fixtures/`` (``gfpgan_reference.json`` + small PNGs).

What runs is the reference's OWN code wherever it exists without torch:

* facexlib 0.3.0 ``FaceRestoreHelper`` (``facexlib/utils/face_restoration_helper.py``,
  loaded from the installed wheel): ``__init__`` (the FFHQ 512 template),
  ``read_image``, ``align_warp_face`` (``cv2.estimateAffinePartial2D(..., LMEDS)`` +
  ``cv2.warpAffine`` with border value (135, 133, 132)), ``add_restored_face``,
  ``get_inverse_affine`` and ``paste_faces_to_input_image`` (the square-mask branch,
  ``use_parse=False``: 2x2 erosion, edge = int(sqrt(area)) // 20, erosion by 2*edge,
  Gaussian blur (2*edge + 1), float32 blend, truncation to uint8).
  facexlib imports torch at module level, and torch from PyPI is a multi-GB CUDA
  download, so ``torch``/``torchvision`` and facexlib's detection/parsing/misc
  modules are STUBBED in ``sys.modules`` before the module file is loaded. None of the
  methods above touches torch (they use cv2 and numpy only); the stubs only satisfy the
  imports and ``__init__``'s device/model set-up (no detector or parser is built).
* The network: ``onnxruntime.InferenceSession`` (CPU) on the filled twin
  ``GFPGANv1.4_twin.onnx`` (facefusion gfpgan_1.4.onnx's graph with seeded random
  weights, see /work/shared/models/twins/README.md).
* Pre/post-processing of the network: FaceFusion's ``prepare_crop_frame`` /
  ``normalize_crop_frame`` formulas (numpy only): BGR->RGB, (x/255 - 0.5)/0.5 in
  float64 then float32; output clip(-1, 1), (x + 1)/2, *255, round half to even,
  uint8, RGB->BGR. (GFPGANer's img2tensor/normalize/tensor2img compute the same up to
  the last float32 bit of the input.)
* The blend: FaceFusion's ``blend_paste_frame`` arithmetic with --face-enhancer-blend
  80: factor = 1 - (1 - 80/100); ``cv2.addWeighted(original, 1 - factor, pasted,
  factor, 0)``.

GFPGANer itself builds FaceRestoreHelper with ``use_parse=True`` (a ParseNet face
mask, a torch network we cannot run); FaceFusion and this port use the square mask.

Faces: the 5 keypoints come from OUR detector (``visage detect --json``, YuNet by
default) and are stored in the fixture, so the Swift test needs no detector. A face
whose eyes are closer than 16 px is skipped (Visage's rule, applied here the same way).

How to run (outside the repository; venv pinned by requirements-enhance.txt)::

    python3 -m venv /tmp/enhvenv
    /tmp/enhvenv/bin/pip install -r scripts/reference/requirements-enhance.txt
    /tmp/enhvenv/bin/pip install --no-deps facexlib==0.3.0     # torch-free install
    scripts/setup-twins.sh                                      # fills .deps/twins/GFPGANv1.4_twin.onnx
    visage detect Samples/obama.jpg Samples/biden.jpg \\
        ../shared/media/images/codeformer/whole_imgs__00.jpg --json > /tmp/enhance_detections.json
    /tmp/enhvenv/bin/python scripts/reference/gfpgan_reference.py \\
        --detections /tmp/enhance_detections.json [--twin .deps/twins/GFPGANv1.4_twin.onnx] \\
        [--shared ../shared] [--out Tests/VisageEnhanceTests/Fixtures]

Pinned: CPython 3.11, numpy 1.26.4, opencv-python-headless 4.6.0.66 (cv2 4.6.0, the
OpenCV version Debian 12 ships and Visage links), onnxruntime 1.31.1, facexlib 0.3.0.
The script refuses a twin whose sha256 is not the pinned one (--allow-other-twin to
override). It also asserts that facexlib's alignment equals a plain
estimateAffinePartial2D/warpAffine call, and that the mask steps described in
docs/ENHANCE.md reproduce facexlib's pasted image bit for bit.
"""

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import sys
import types

import cv2
import numpy as np
import onnxruntime

TWIN_SHA256 = "e1a3627de2ef54edcbffcd9fdee077f1cc5c7bb1dcae828c44569e1edcd61518"
TWIN_FILL = ("PYTHONPATH=.deps/pylib python3 ../shared/tools/twin.py fill "
             "../shared/models/twins/GFPGANv1.4_twin.graph.onnx .deps/twins/GFPGANv1.4_twin.onnx --seed 0")
MIN_EYE_DISTANCE = 16.0
BLEND_PERCENT = 80                   # FaceFusion's --face-enhancer-blend default
# (image as the Swift test finds it, store the restored crops as PNG, store the blended region as PNG (the pasted
# region is always stored), extra face = the first detection shifted by this many pixels: two overlapping soft
# masks, where facexlib keeps float32 between faces). Blended regions of the large faces are left out to keep
# the fixture small (their sha256 is still recorded).
IMAGES = [
    ("repo:Samples/obama.jpg", True, False, None),
    ("repo:Samples/biden.jpg", False, False, None),
    ("shared:media/images/codeformer/whole_imgs__00.jpg", False, True, None),
    ("repo:Samples/obama.jpg", False, False, (70.0, 30.0)),
]


def stub_torch_and_load_helper():
    """facexlib's FaceRestoreHelper with torch and facexlib's torch-only modules stubbed."""
    def module(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    torch = module("torch", device=lambda name: name, no_grad=None, save=None,
                   cuda=types.SimpleNamespace(is_available=lambda: False))
    torch.hub = module("torch.hub", download_url_to_file=None, get_dir=None)
    tv = module("torchvision")
    tv.transforms = module("torchvision.transforms")
    tv.transforms.functional = module("torchvision.transforms.functional", normalize=None)
    spec = importlib.util.find_spec("facexlib")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("facexlib is not installed: pip install --no-deps facexlib==0.3.0")
    root = list(spec.submodule_search_locations)[0]
    # Empty package shells so that facexlib/__init__.py (which imports torch-based models) never runs.
    pkg = module("facexlib")
    pkg.__path__ = [root]
    module("facexlib.detection", init_detection_model=lambda *a, **k: None)
    module("facexlib.parsing", init_parsing_model=lambda *a, **k: None)
    utils = module("facexlib.utils")
    utils.__path__ = [os.path.join(root, "utils")]
    module("facexlib.utils.misc", img2tensor=None, imwrite=None)
    path = os.path.join(root, "utils", "face_restoration_helper.py")
    spec = importlib.util.spec_from_file_location("facexlib.utils.face_restoration_helper", path)
    helper_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper_module)
    version_path = os.path.join(root, "version.py")
    version = {}
    exec(open(version_path).read(), version)
    return helper_module.FaceRestoreHelper, path, version.get("__version__", "?")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_array(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def mat(m):
    return [[float(v) for v in row] for row in np.asarray(m, dtype=np.float64)]


def prepare_crop_frame(crop):
    """FaceFusion face_enhancer prepare_crop_frame: BGR uint8 -> [1,3,H,W] RGB in [-1, 1]."""
    x = crop[:, :, ::-1] / 255.0
    x = (x - 0.5) / 0.5
    return np.expand_dims(x.transpose(2, 0, 1), axis=0).astype(np.float32)


def normalize_crop_frame(pred):
    """FaceFusion face_enhancer normalize_crop_frame: [3,H,W] float -> BGR uint8."""
    x = np.clip(pred, -1, 1)
    x = (x + 1) / 2
    x = x.transpose(1, 2, 0)
    x = (x * 255.0).round()
    return x.astype(np.uint8)[:, :, ::-1]


def paste_per_notes(img, restored, inverse_affine):
    """paste_faces_to_input_image (square mask, upscale 1) for one face, step by step as docs/ENHANCE.md says."""
    h, w = img.shape[:2]
    inv_restored = cv2.warpAffine(restored, inverse_affine, (w, h))
    inv_mask = cv2.warpAffine(np.ones(restored.shape[:2], np.float32), inverse_affine, (w, h))
    eroded = cv2.erode(inv_mask, np.ones((2, 2), np.uint8))
    pasted_face = eroded[:, :, None] * inv_restored
    edge = int(np.sum(eroded) ** 0.5) // 20
    center = cv2.erode(eroded, np.ones((2 * edge, 2 * edge), np.uint8))
    soft = cv2.GaussianBlur(center, (2 * edge + 1, 2 * edge + 1), 0)[:, :, None]
    out = soft * pasted_face + (1 - soft) * img
    return out.astype(np.uint8), {"edge": edge, "area": float(np.sum(eroded))}


def region_of(changed):
    ys, xs = np.where(changed)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def write_png(folder, name, image):
    ok, png = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    assert ok
    with open(os.path.join(folder, name), "wb") as f:
        f.write(png.tobytes())
    return {"file": name, "sha256_raw": sha256_array(image), "bytes": len(png)}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.abspath(os.path.join(here, "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--detections", required=True, help="output of `visage detect --json` on the fixture images")
    ap.add_argument("--twin", default=os.path.join(repo, ".deps/twins/GFPGANv1.4_twin.onnx"))
    ap.add_argument("--shared", default=os.path.join(repo, "..", "shared"))
    ap.add_argument("--out", default=os.path.join(repo, "Tests/VisageEnhanceTests/Fixtures"))
    ap.add_argument("--allow-other-twin", action="store_true")
    args = ap.parse_args()

    if not os.path.exists(args.twin):
        sys.exit(f"missing {args.twin}; fill it with: {TWIN_FILL}")
    twin_sha = sha256_file(args.twin)
    if twin_sha != TWIN_SHA256:
        msg = f"{args.twin}: sha256 {twin_sha} != pinned {TWIN_SHA256}"
        if not args.allow_other_twin:
            sys.exit(msg + " (refill with the pinned command or pass --allow-other-twin)")
        print("WARNING:", msg, file=sys.stderr)

    FaceRestoreHelper, helper_path, facexlib_version = stub_torch_and_load_helper()
    detections = {os.path.normpath(os.path.abspath(r["image"])): r for r in json.load(open(args.detections))["results"]}
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(args.twin, options, providers=["CPUExecutionProvider"])
    io = {"inputs": [[i.name, list(i.shape), i.type] for i in session.get_inputs()],
          "outputs": [[o.name, list(o.shape), o.type] for o in session.get_outputs()]}
    os.makedirs(args.out, exist_ok=True)

    results = []
    template = None
    for label, keep_crops, keep_blended, shift in IMAGES:
        scope, rel = label.split(":", 1)
        path = os.path.join(repo if scope == "repo" else args.shared, rel)
        det = detections.get(os.path.normpath(os.path.abspath(path)))
        if det is None:
            sys.exit(f"{path} is not in {args.detections}; run visage detect on it")
        img = cv2.imread(path)
        faces = []
        for i, f in enumerate(det["faces"]):
            kps = np.array(f["kps"], dtype=np.float32)
            eye = float(np.hypot(*(kps[1] - kps[0])))
            faces.append({"index": i, "kps": [[float(v) for v in p] for p in kps], "box": f["box"],
                          "eye_distance": eye, "skipped": eye < MIN_EYE_DISTANCE})
        if shift is not None:
            first = faces[0]
            moved = [[p[0] + shift[0], p[1] + shift[1]] for p in first["kps"]]
            box = [first["box"][0] + shift[0], first["box"][1] + shift[1], first["box"][2] + shift[0], first["box"][3] + shift[1]]
            faces.append({"index": len(faces), "kps": moved, "box": box, "eye_distance": first["eye_distance"],
                          "skipped": False, "synthetic": f"face 0 shifted by {shift}"})
        helper = FaceRestoreHelper(upscale_factor=1, face_size=512, crop_ratio=(1, 1),
                                   det_model="retinaface_resnet50", save_ext="png", use_parse=False)
        helper.read_image(img)
        template = [[float(v) for v in p] for p in helper.face_template]
        kept = [f for f in faces if not f["skipped"]]
        helper.all_landmarks_5 = [np.array(f["kps"], dtype=np.float32) for f in kept]
        helper.align_warp_face()
        for f, M, crop in zip(kept, helper.affine_matrices, helper.cropped_faces):
            # facexlib's alignment is exactly these two OpenCV calls (checked on every run).
            again = cv2.estimateAffinePartial2D(np.array(f["kps"], np.float32), helper.face_template, method=cv2.LMEDS)[0]
            assert np.array_equal(again, M)
            assert np.array_equal(crop, cv2.warpAffine(img, M, (512, 512), borderValue=(135, 133, 132)))
            blob = prepare_crop_frame(crop)
            pred = session.run(None, {session.get_inputs()[0].name: blob})[0][0]
            restored = normalize_crop_frame(pred)
            helper.add_restored_face(restored)
            f["affine"] = mat(M)
            f["aligned_crop_sha256"] = sha256_array(crop)
            f["input_tensor_sha256"] = sha256_array(blob)
            f["output_stats"] = {"min": float(pred.min()), "max": float(pred.max()), "mean": float(pred.astype(np.float64).mean())}
            f["restored_sha256"] = sha256_array(restored)
            if keep_crops:
                f["restored_png"] = write_png(args.out, f"gfpgan_{os.path.splitext(os.path.basename(rel))[0]}_face{f['index']}_restored.png", restored)
        helper.get_inverse_affine(None)
        for f, inv in zip(kept, helper.inverse_affine_matrices):
            f["inverse_affine"] = mat(inv)
        pasted = helper.paste_faces_to_input_image()

        # The notes' step-by-step paste (per face, truncating after each) must give facexlib's image
        # when faces do not share mask pixels; with shared pixels facexlib keeps float32 between faces.
        if len(kept) == 1:
            mine, info = paste_per_notes(img, helper.restored_faces[0], helper.inverse_affine_matrices[0])
            assert np.array_equal(mine, pasted), "step-by-step paste differs from facexlib"
            kept[0]["mask"] = info

        factor = 1 - (1 - (BLEND_PERCENT / 100))
        blended = cv2.addWeighted(img, 1 - factor, pasted, factor, 0)

        entry = {"image": label, "width": int(img.shape[1]), "height": int(img.shape[0]), "faces": faces}
        base = os.path.splitext(os.path.basename(rel))[0] + ("_overlap" if shift is not None else "")
        for name, frame in (("pasted", pasted), ("blended", blended)):
            changed = np.any(frame != img, axis=2)
            if not changed.any():
                entry[name] = None
                continue
            x0, y0, x1, y1 = region_of(changed)
            region = np.ascontiguousarray(frame[y0:y1, x0:x1])
            entry[name] = {"x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0, "changed_pixels": int(changed.sum()),
                           "frame_sha256": sha256_array(frame), "region_sha256": sha256_array(region)}
            if name == "pasted" or keep_blended:
                entry[name].update(write_png(args.out, f"gfpgan_{base}_{name}.png", region))
        results.append(entry)
        print(f"{label}: {len(kept)} of {len(faces)} faces enhanced; pasted region "
              f"{entry['pasted'] and (entry['pasted']['w'], entry['pasted']['h'])}")

    out = {
        "generator": "scripts/reference/gfpgan_reference.py",
        "note": "GFPGAN v1.4 twin (seeded random weights): the restored faces are meaningless colour fields, "
                "but alignment, normalisation, output decoding, the soft mask, the paste and the blend are the reference's.",
        "versions": {"facexlib": facexlib_version, "onnxruntime": onnxruntime.__version__, "opencv": cv2.__version__,
                     "numpy": np.__version__, "python": platform.python_version(),
                     "platform": f"{platform.machine()} {platform.system()}",
                     "opencv_ipp": bool(cv2.ipp.useIPP())},
        "facexlib_helper": os.path.relpath(helper_path, os.path.dirname(os.path.dirname(os.path.dirname(helper_path)))),
        "torch": "stubbed in sys.modules (torch, torchvision, facexlib.detection/parsing/utils.misc); the methods used are cv2/numpy only",
        "twin": {"file": "GFPGANv1.4_twin.onnx", "graph": "shared/models/twins/GFPGANv1.4_twin.graph.onnx",
                 "sha256": twin_sha, "bytes": os.path.getsize(args.twin), "fill_command": TWIN_FILL, "io": io},
        "template": template,
        "rules": {"min_eye_distance": MIN_EYE_DISTANCE, "blend_percent": BLEND_PERCENT,
                  "blend": "cv2.addWeighted(original, 1 - b, pasted, b, 0) with b = 1 - (1 - 80/100) (FaceFusion blend_paste_frame)",
                  "align": "FaceRestoreHelper.align_warp_face (LMEDS, border (135,133,132))",
                  "paste": "FaceRestoreHelper.get_inverse_affine + paste_faces_to_input_image, upscale_factor 1, use_parse False"},
        "encodings": {"png": "PNG file next to this JSON, decodes to HxWx3 BGR uint8",
                      "region": "bounding rectangle [x, x+w) x [y, y+h) of the pixels that differ from the input; "
                                "outside it the frame equals the input image",
                      "affine": "2x3 float64, image pixels -> 512 crop pixels"},
        "images": results,
    }
    with open(os.path.join(args.out, "gfpgan_reference.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}/gfpgan_reference.json")


if __name__ == "__main__":
    main()
