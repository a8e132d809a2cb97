#!/usr/bin/env bash
# Alternates `visage bench detect` (release build) and insightface's Python SCRFD on the same image,
# model and input size, ROUNDS times, so both see the same machine noise. Prints each run's medians.
# Needs: make build; the reference venv of scripts/reference/requirements.txt at $REF_PY.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS="${ROUNDS:-3}"
REF_PY="${REF_PY:-/tmp/refvenv/bin/python}"
IMAGE="${IMAGE:-../shared/media/images/insightface/t1.jpg}"
for round in $(seq "$ROUNDS"); do
  for model in scrfd-500m scrfd-2.5g; do
    .build/release/visage bench detect --model "$model" --image "$IMAGE" --runs 50 --warmup 10 --json 2>/dev/null |
      python3 -c "import json,sys; d=json.load(sys.stdin); s=d['stages_ms']; print(f\"round $round visage  {d['model']:11s} median {s['total']['median']:7.2f} ms (inference {s['inference']['median']:.2f}, pre {s['preprocess']['median']:.2f}, post {s['postprocess']['median']:.2f})\")"
  done
  [ -x "$REF_PY" ] && "$REF_PY" scripts/reference/bench_insightface_scrfd.py 2>/dev/null |
    sed -n "s/^\(scrfd-[^:]*\): faces=[0-9]*  detect min [0-9.]*  median \([0-9.]*\).*session.run median \([0-9.]*\) ms (static.*/round $round python  \1 median \2 ms (session.run \3)/p"
done
