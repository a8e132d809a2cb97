#!/usr/bin/env python3
"""Compare Visage's float16 conversion (ModelOptimizer, rewrite `fp16`) with onnxconverter-common's
`convert_float_to_float16(keep_io_types=True)` on the same models and inputs.

Usage:
  VISAGE_REWRITE_KEEP=/tmp/visage-keep swift test --skip-build --filter ModelRewriteEquivalenceTests
  pip install onnx numpy onnxruntime==1.31.1 onnxconverter-common==1.16.0   # into any virtualenv
  python3 scripts/reference/fp16_reference.py /tmp/visage-keep

For every manifest in the folder whose rewrites are exactly ["fp16"], the source model is converted
by onnxconverter-common and both float16 models run on ONNX Runtime's CPU provider with the same
seeded input (uniform [0, 1), dynamic dims set to 640, batch 1). Prints, per model, the largest
difference between the two float16 models' outputs and each one's error against float32, relative
to the largest float32 output magnitude.
"""
import glob
import json
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnxconverter_common import float16

TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64,
         "tensor(int32)": np.int32, "tensor(uint8)": np.uint8}


def feeds(session, seed):
    rng = np.random.default_rng(seed)
    out = {}
    for i in session.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else (1 if k == 0 else 640) for k, d in enumerate(i.shape)]
        if i.name == "source":
            v = rng.standard_normal(shape).astype(np.float32)
            out[i.name] = v / np.linalg.norm(v)
        elif TYPES.get(i.type, np.float32) == np.float32:
            out[i.name] = rng.random(shape, dtype=np.float32)
        else:
            out[i.name] = np.zeros(shape, dtype=TYPES[i.type])
    return out


def run(path, inputs):
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return s.run(None, {k: v for k, v in inputs.items() if k in {i.name for i in s.get_inputs()}})


def main(folder):
    print("| model | ours vs onnxconverter-common (max abs) | ours vs fp32 (rel) | onnxconverter-common vs fp32 (rel) |")
    print("|---|---|---|---|")
    for manifest in sorted(glob.glob(os.path.join(folder, "*.json"))):
        info = json.load(open(manifest))
        if info["options"]["rewrites"] != ["fp16"]:
            continue
        source, ours = info["sourcePath"], info["path"]
        name = os.path.basename(source)
        inputs = feeds(ort.InferenceSession(source, providers=["CPUExecutionProvider"]), 0)
        reference32 = run(source, inputs)
        try:
            converted = float16.convert_float_to_float16(onnx.load(source), keep_io_types=True)
            with tempfile.NamedTemporaryFile(suffix=".onnx", delete=False) as f:
                theirs = f.name
            onnx.save(converted, theirs)
            reference16 = run(theirs, inputs)
            os.unlink(theirs)
        except Exception as e:  # the reference converter fails on some graphs: say so
            reference16 = None
            failure = str(e).splitlines()[0][:120]
        ours16 = run(ours, inputs)
        scale = max(float(np.abs(r).max()) for r in reference32) or 1.0
        ours_err = max(float(np.abs(a.astype(np.float32) - b).max()) for a, b in zip(ours16, reference32)) / scale
        if reference16 is None:
            print(f"| {name} | reference failed: {failure} | {ours_err:.1e} | — |")
            continue
        theirs_err = max(float(np.abs(a.astype(np.float32) - b).max()) for a, b in zip(reference16, reference32)) / scale
        between = max(float(np.abs(a.astype(np.float32) - b.astype(np.float32)).max()) for a, b in zip(ours16, reference16))
        print(f"| {name} | {between:.1e} | {ours_err:.1e} | {theirs_err:.1e} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/visage-keep")
