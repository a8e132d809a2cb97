#!/usr/bin/env bash
# The temporal cache through the real CLI path (`visage swap --enhancer`): enhancer calls saved at N = 2, 4, 8
# (and the default adaptive rule), the error against enhancing every frame, and swap + enhance speed.
#
#   scripts/bench/enhance_cache_cli.sh VIDEO FRAMES MODEL_FILE OUTDIR [extra swap flags, e.g. --many-faces]
#
# Every run writes its frames as PNGs (--keep-frames), so the comparison sees the pixels before encoding.
# Wall and CPU (user + sys) seconds of each whole command (model loading included) go to OUTDIR/times.txt;
# scripts/bench/enhance_cache_compare.py turns the folders into the table.
set -euo pipefail
video=$1; frames=$2; model=$3; out=$4; shift 4
visage=${VISAGE:-.build/debug/visage}
mkdir -p "$out"
ffmpeg -v error -y -i "$video" -frames:v "$frames" -an -c:v libx264 -crf 0 "$out/clip.mkv"
: > "$out/times.txt"
run() {   # name, flags...
    local name=$1; shift
    rm -rf "$out/$name.mkv" "$out/${name}_frames"
    /usr/bin/time -f "$name %e %U %S" -a -o "$out/times.txt" \
        "$visage" swap -s Samples/obama.jpg -t "$out/clip.mkv" -o "$out/$name.mkv" --keep-frames --video-quality 0 "$@" \
        > "$out/$name.stdout" 2> "$out/$name.stderr"
    echo "$name: $(cat "$out/$name.stdout" | tr '\n' ' ')"
}
run plain "$@"
run every "$@" --enhancer gfpgan-1.4 --enhancer-model "$model" --enhance-every 1
for n in 2 4 8; do run "n$n" "$@" --enhancer gfpgan-1.4 --enhancer-model "$model" --enhance-every "$n" --enhance-motion 0; done
run adaptive "$@" --enhancer gfpgan-1.4 --enhancer-model "$model"
