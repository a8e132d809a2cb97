#!/usr/bin/env python3
"""Table of scripts/bench/enhance_cache_cli.sh's runs: network runs and calls saved (from each command's own
summary line), |cached - every frame| over the 8-bit samples inside the enhanced face region (pixels where
either output differs from the plain swap: the soft-mask paste region), and speed.

    PYTHONPATH=.deps/pylib python3 scripts/bench/enhance_cache_compare.py OUTDIR
"""
import json
import os
import re
import subprocess
import sys

import numpy as np

out = sys.argv[1]


def frames(name):
    folder = os.path.join(out, name + "_frames")
    first = sorted(os.listdir(folder))[0]
    w, h = map(int, subprocess.check_output(["ffprobe", "-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0",
                                             os.path.join(folder, first)]).decode().strip().split(","))
    raw = subprocess.check_output(["ffmpeg", "-v", "error", "-i", os.path.join(folder, "%06d.png"), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


times = {}
for line in open(os.path.join(out, "times.txt")):
    parts = line.split()
    if len(parts) == 4 and parts[0].isidentifier():
        times[parts[0]] = (float(parts[1]), float(parts[2]) + float(parts[3]))

plain, every = frames("plain"), frames("every")
rows = []
for name in ["every", "n2", "n4", "n8", "adaptive"]:
    test = frames(name)
    summary = open(os.path.join(out, name + ".stdout")).read()
    m = re.search(r"enhanced (\d+) faces? with \S+ \((\d+) network runs?(?:, (\d+)% from the temporal cache)?", summary)
    faces, runs = int(m.group(1)), int(m.group(2))
    mask = np.any(every != plain, axis=3) | np.any(test != plain, axis=3)
    d = np.abs(test.astype(np.int16) - every.astype(np.int16))[mask].ravel()
    hist = np.bincount(d, minlength=256)
    p99 = int(np.searchsorted(np.cumsum(hist), 0.99 * d.size)) if d.size else 0
    wall, cpu = times[name]
    n = len(test)
    rows.append(dict(policy=name, frames=n, faces=faces, runs=runs, saved=1 - runs / faces if faces else 0,
                     mean=float(d.mean()) if d.size else 0.0, p99=p99, max=int(d.max()) if d.size else 0,
                     wall_s=wall, cpu_s=cpu, fps=n / wall, cpu_per_frame_s=cpu / n))
base = rows[0]
for r in rows:
    r["speedup_wall"] = r["fps"] / base["fps"]
    r["speedup_cpu"] = base["cpu_per_frame_s"] / r["cpu_per_frame_s"]
print("| policy | frames | network runs / faces | saved | mean abs | p99 | max | fps (wall) | CPU s/frame | speed-up wall / CPU |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['policy']} | {r['frames']} | {r['runs']} / {r['faces']} | {100 * r['saved']:.0f} % | {r['mean']:.2f} | {r['p99']} | {r['max']} | "
          f"{r['fps']:.2f} | {r['cpu_per_frame_s']:.2f} | {r['speedup_wall']:.1f}x / {r['speedup_cpu']:.1f}x |")
json.dump(rows, open(os.path.join(out, "table.json"), "w"), indent=1)
