#!/usr/bin/env python3
"""Landmark agreement with OpenFace's FaceLandmarkImg on the reference photos.

Usage: openface_images_agreement.py VISAGE_BINARY [SHARED_DIR]

For every ../shared/reference/openface/images/<set>/<stem>.csv, runs
`visage au <image> --multi-face -o tmp.csv` (CLNF landmarks, one row per face), pairs each OpenFace face with our
face whose landmark centroid is nearest, and reports the mean point error in px and normalised by the
outer-eye-corner distance. OpenFace faces we did not find (no face within half a face width) are counted.
"""
import csv, glob, math, os, subprocess, sys, tempfile

binary = sys.argv[1]
shared = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "../../../shared")


def faces(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = [h.strip() for h in rows[0]]
    out = []
    for row in rows[1:]:
        r = dict(zip(header, (v.strip() for v in row)))
        out.append(([float(r[f"x_{i}"]) for i in range(68)], [float(r[f"y_{i}"]) for i in range(68)]))
    return out


all_errors, all_norm, missed, total = [], [], 0, 0
for ref in sorted(glob.glob(os.path.join(shared, "reference/openface/images/*/*.csv"))):
    subset, stem = ref.split("/")[-2], os.path.splitext(os.path.basename(ref))[0]
    images = [p for p in glob.glob(os.path.join(shared, "media/images", subset, stem + ".*")) if p.lower().endswith((".jpg", ".jpeg", ".png", ".bmp"))]
    if not images:
        print(f"{subset}/{stem}: image not found")
        continue
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.csv")
        run = subprocess.run([binary, "au", images[0], "--multi-face", "-o", out], capture_output=True, text=True)
        if run.returncode != 0:
            print(f"{subset}/{stem}: visage failed: {run.stderr.strip()[-200:]}")
            continue
        ours = [f for f in faces(out) if any(f[0])]
    theirs = faces(ref)
    errs = []
    for xs, ys in theirs:
        total += 1
        cx, cy = sum(xs) / 68, sum(ys) / 68
        width = max(xs) - min(xs)
        best = min(ours, key=lambda f: math.hypot(sum(f[0]) / 68 - cx, sum(f[1]) / 68 - cy), default=None)
        if best is None or math.hypot(sum(best[0]) / 68 - cx, sum(best[1]) / 68 - cy) > width / 2:
            missed += 1
            continue
        e = sum(math.hypot(a - x, b - y) for a, b, x, y in zip(best[0], best[1], xs, ys)) / 68
        iod = math.hypot(xs[36] - xs[45], ys[36] - ys[45])
        errs.append(e)
        all_errors.append(e)
        all_norm.append(e / iod if iod > 0 else float("nan"))
    mean = sum(errs) / len(errs) if errs else float("nan")
    print(f"{subset}/{stem}: {len(theirs)} OpenFace faces, {len(ours)} ours, matched {len(errs)}, mean error {mean:.3f} px")
print(f"ALL: {total} OpenFace faces, matched {len(all_errors)}, missed {missed}; mean error {sum(all_errors)/max(1,len(all_errors)):.3f} px, "
      f"median {sorted(all_errors)[len(all_errors)//2] if all_errors else float('nan'):.3f} px, "
      f"mean normalised {sum(all_norm)/max(1,len(all_norm)):.4f} (outer-eye-corner distance)")
