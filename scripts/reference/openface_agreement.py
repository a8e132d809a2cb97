#!/usr/bin/env python3
"""Agreement of a Visage CSV with OpenFace C++'s FeatureExtraction CSV for the same video.

Usage: openface_agreement.py OURS.csv OPENFACE.csv [--json]

Rows are matched by frame number (face_id 0 on both sides: FeatureExtraction tracks one face).
Reports: landmark error (mean point-to-point distance in px, and normalised by the outer-eye-corner
distance 36–45 of OpenFace's landmarks), per-AU Pearson r of AUxx_r, pose and gaze differences, and
how often `success` agrees. Frames that either side marks as failed are left out of the landmark
and pose numbers.
"""
import csv, json, math, sys


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = [h.strip() for h in rows[0]]
    table = {}
    for row in rows[1:]:
        r = dict(zip(header, (v.strip() for v in row)))
        if int(float(r.get("face_id", 0))) != 0:
            continue
        table[int(float(r["frame"]))] = r
    return header, table


def pearson(x, y):
    n = len(x)
    if n < 2:
        return float("nan")
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sx = math.sqrt(sum((a - mx) ** 2 for a in x))
    sy = math.sqrt(sum((b - my) ** 2 for b in y))
    return sxy / (sx * sy) if sx > 0 and sy > 0 else float("nan")


def main():
    ours_path, ref_path = sys.argv[1], sys.argv[2]
    _, ours = load(ours_path)
    header, ref = load(ref_path)
    frames = sorted(set(ours) & set(ref))
    both_ok = [f for f in frames if ours[f]["success"] == "1" and ref[f]["success"] == "1"]
    errors, normalised = [], []
    for f in both_ok:
        o, r = ours[f], ref[f]
        d = [math.hypot(float(o[f"x_{i}"]) - float(r[f"x_{i}"]), float(o[f"y_{i}"]) - float(r[f"y_{i}"])) for i in range(68)]
        iod = math.hypot(float(r["x_36"]) - float(r["x_45"]), float(r["y_36"]) - float(r["y_45"]))
        errors.append(sum(d) / 68)
        normalised.append(sum(d) / 68 / iod if iod > 0 else float("nan"))
    aus = [h for h in header if h.startswith("AU") and h.endswith("_r")]
    per_au = {a: pearson([float(ours[f][a]) for f in frames], [float(ref[f][a]) for f in frames]) for a in aus}
    valid = [v for v in per_au.values() if not math.isnan(v)]

    def mean_abs(cols, fs):
        if not fs:
            return float("nan")
        return sum(abs(float(ours[f][c]) - float(ref[f][c])) for f in fs for c in cols) / (len(fs) * len(cols))

    sorted_errors = sorted(errors)
    result = {
        "frames_compared": len(frames),
        "ours_rows": len(ours), "openface_rows": len(ref),
        "success_agreement": sum(ours[f]["success"] == ref[f]["success"] for f in frames) / max(1, len(frames)),
        "landmark_error_px_mean": sum(errors) / len(errors) if errors else float("nan"),
        "landmark_error_px_median": sorted_errors[len(errors) // 2] if errors else float("nan"),
        "landmark_error_px_max": max(errors) if errors else float("nan"),
        "landmark_error_iod_mean": sum(normalised) / len(normalised) if normalised else float("nan"),
        "pose_R_abs_diff_rad_mean": mean_abs(["pose_Rx", "pose_Ry", "pose_Rz"], both_ok),
        "pose_T_abs_diff_mm_mean": mean_abs(["pose_Tx", "pose_Ty", "pose_Tz"], both_ok),
        "gaze_angle_abs_diff_rad_mean": mean_abs(["gaze_angle_x", "gaze_angle_y"], both_ok),
        "confidence_abs_diff_mean": mean_abs(["confidence"], frames),
        "au_r": per_au,
        "au_r_mean": sum(valid) / len(valid) if valid else float("nan"),
        "au_r_min": min(valid) if valid else float("nan"),
        "au_r_min_name": min(per_au, key=lambda a: per_au[a] if not math.isnan(per_au[a]) else 9) if valid else None,
    }
    if "--json" in sys.argv:
        print(json.dumps(result, indent=1))
        return
    for k, v in result.items():
        if k == "au_r":
            print("au_r: " + " ".join(f"{a[:4]}={r:.4f}" for a, r in v.items()))
        else:
            print(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")


if __name__ == "__main__":
    main()
