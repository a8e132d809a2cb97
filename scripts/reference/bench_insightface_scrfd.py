#!/usr/bin/env python3
"""Time insightface's SCRFD detector on CPU, for comparison with the Swift port.

How to run (venv outside the repo, see requirements.txt for the pins:
insightface 2.1, onnxruntime 1.31.1, opencv-python-headless 5.0.0.93,
numpy 2.4.6)::

    /tmp/refvenv/bin/python scripts/reference/bench_insightface_scrfd.py \
        [--shared /work/shared] [--warmup 10] [--iters 50]

For each of scrfd-500m and scrfd-2.5g, at input 640x640, on
insightface/t1.jpg (1280x886):

* ``detect``: 10 warm-up then 50 timed calls of
  ``detector.detect(img, input_size=(640, 640))`` (whole pipeline: letterbox
  resize, blob, inference, decode, NMS) -> min / median / p90 ms.
* ``session.run``: the same count of calls of ``session.run`` alone, on the
  blob insightface builds, using the very Session insightface routes 640x640
  to (a static-shape copy in insightface 2.1) -> median ms.  The plain
  dynamic-shape session is timed as well for reference.

ONNX Runtime sessions use default SessionOptions, as insightface does
(intra_op_num_threads=0, i.e. ORT picks the thread count itself).
"""

import argparse
import os
import platform
import time

import cv2
import numpy as np
import onnxruntime
import insightface
from insightface.model_zoo.scrfd import SCRFD

MODELS = [
    ("scrfd-500m", "models/scrfd-500m/det_500m.onnx"),
    ("scrfd-2.5g", "models/scrfd-2.5g/det_2.5g.onnx"),
]
IMAGE = "media/images/insightface/t1.jpg"
INPUT_SIZE = (640, 640)


def stats(ms):
    """min / median / p90 of a list of milliseconds."""
    a = np.asarray(ms)
    return float(a.min()), float(np.median(a)), float(np.percentile(a, 90))


def time_calls(fn, warmup, iters):
    """Run fn warmup times untimed, then iters times timed (ms each)."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def letterbox(img):
    """insightface's letterbox (top-left placement, zero padding)."""
    h, w = img.shape[:2]
    im_ratio = float(h) / w
    model_ratio = float(INPUT_SIZE[1]) / INPUT_SIZE[0]
    if im_ratio > model_ratio:
        nh = INPUT_SIZE[1]
        nw = int(nh / im_ratio)
    else:
        nw = INPUT_SIZE[0]
        nh = int(nw * im_ratio)
    canvas = np.zeros((INPUT_SIZE[1], INPUT_SIZE[0], 3), dtype=np.uint8)
    canvas[:nh, :nw, :] = cv2.resize(img, (nw, nh))
    return canvas


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.environ.get("VISAGE_SHARED",
                                                       "/work/shared"))
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--iters", type=int, default=50)
    args = ap.parse_args()

    img = cv2.imread(os.path.join(args.shared, IMAGE))
    print("versions: insightface %s, onnxruntime %s, opencv %s, numpy %s, "
          "python %s" % (insightface.__version__, onnxruntime.__version__,
                         cv2.__version__, np.__version__,
                         platform.python_version()))
    print("os.cpu_count()=%s, cv2.getNumThreads()=%d"
          % (os.cpu_count(), cv2.getNumThreads()))
    print("image %s %dx%d, input %dx%d, warmup %d, iters %d"
          % (IMAGE, img.shape[1], img.shape[0], INPUT_SIZE[0], INPUT_SIZE[1],
             args.warmup, args.iters))

    for model_id, rel in MODELS:
        path = os.path.join(args.shared, rel)
        sess = onnxruntime.InferenceSession(
            path, providers=["CPUExecutionProvider"])
        det = SCRFD(model_file=path, session=sess)
        det.prepare(ctx_id=-1, input_size=INPUT_SIZE, det_thresh=0.5)

        # Whole detect() pipeline.
        d_ms = time_calls(lambda: det.detect(img, input_size=INPUT_SIZE),
                          args.warmup, args.iters)
        n = det.detect(img, input_size=INPUT_SIZE)[0].shape[0]

        # session.run alone, on the session insightface really uses.
        blob = det._prepare_input_blob(letterbox(img), INPUT_SIZE)
        used = det._session_for_input_size(INPUT_SIZE)
        so = used.get_session_options()
        r_ms = time_calls(
            lambda: used.run(det.output_names, {det.input_name: blob}),
            args.warmup, args.iters)
        # ...and on the original dynamic-shape session, for reference.
        dyn = det.session
        y_ms = time_calls(
            lambda: dyn.run(det.output_names, {det.input_name: blob}),
            args.warmup, args.iters)

        dmin, dmed, dp90 = stats(d_ms)
        print("%s: faces=%d  detect min %.2f  median %.2f  p90 %.2f ms | "
              "session.run median %.2f ms (static-shape session insightface "
              "uses), %.2f ms (dynamic session) | providers=%s "
              "intra_op_num_threads=%d inter_op_num_threads=%d "
              "graph_opt=%s static_session_is_main=%s"
              % (model_id, n, dmin, dmed, dp90, stats(r_ms)[1],
                 stats(y_ms)[1], used.get_providers(),
                 so.intra_op_num_threads, so.inter_op_num_threads,
                 so.graph_optimization_level, used is dyn))


if __name__ == "__main__":
    main()
