#!/usr/bin/env bash
# The GPU run of issue 20: Visage's swap, enhancer, detection and diagnostics measured on the lent
# NVIDIA machine (the `device` tool; ../shared/GPU.md says what is there and what is not).
#
# That machine has no Swift, OpenCV, ffmpeg, CUDA build of ONNX Runtime or internet, and each call
# carries at most 64 MiB. So the run is split into steps, each one `run` call, back to back (the
# machine keeps /tmp only while it stays warm, about 30 s after a call):
#
#   here:    scripts/gpu-run.sh prepare      bundle + CUDA ONNX Runtime in 52 MiB pieces + payload
#            scripts/gpu-run.sh plan         prints the device calls below, with what each carries
#   device:  scripts/gpu-run.sh receive K    one call per piece: copies piece K to /tmp/visage-gpu
#   device:  scripts/gpu-run.sh bench A      unpacks, fills the twins, runs part A of the benchmarks
#   device:  scripts/gpu-run.sh bench B      part B: swap + enhancer, live, detection, embeddings
#   device:  scripts/gpu-run.sh bench C      part C: visage diagnose (each part fits the 600 s of one call)
#   device:  scripts/gpu-run.sh bench E      the batched embedding path, with ONNX Runtime's node placements
#
# Results: JSON files (one per benchmark) plus run-PART.log under /tmp/visage-gpu/results/PART, all parts
# so far archived as $OUT/results.tgz (the device tool returns only a few files per call).
# `bench --cpu` runs the same benchmarks here on the CPU with the local build (a dry run of the plumbing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STAGE=$ROOT/.gpu-run                 # git-ignored; what the device calls carry
WORK=${VISAGE_GPU_WORK:-/tmp/visage-gpu}
PIECE_MIB=52
ORT_VERSION=1.31.1
CU13=/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib
CUDNN=/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cudnn/lib
SHARED=$(cd "$ROOT/../shared" 2>/dev/null && pwd || true)
CLIP=video/openface/2015-10-15-15-14.avi

say() { echo "gpu-run: $*" >&2; }
die() { say "error: $*"; exit 1; }

# --- here -------------------------------------------------------------------------------------

ort_wheel() {
    local dir=$ROOT/.deps/gpu
    local wheel
    wheel=$(ls "$dir"/onnxruntime_gpu-"$ORT_VERSION"-*.whl 2>/dev/null | head -1 || true)
    if [ -z "$wheel" ]; then
        mkdir -p "$dir"
        say "downloading onnxruntime-gpu $ORT_VERSION (CUDA 13 build, ~250 MB) from PyPI"
        python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
            --platform manylinux_2_28_x86_64 -d "$dir" "onnxruntime-gpu==$ORT_VERSION"
        wheel=$(ls "$dir"/onnxruntime_gpu-"$ORT_VERSION"-*.whl | head -1)
    fi
    echo "$wheel"
}

prepare() {
    [ -n "$SHARED" ] || die "../shared is not beside the checkout (models, twins, the clip come from it)"
    rm -rf "$STAGE/payload" && mkdir -p "$STAGE/payload/models"
    # 1. The CUDA ONNX Runtime: the libraries only, without TensorRT's provider (no libnvinfer there).
    #    Made once (xz takes minutes); delete .gpu-run/pieces to make them again.
    local wheel tmp
    wheel=$(ort_wheel)
    if [ -f "$STAGE/pieces" ]; then
        say "CUDA ONNX Runtime pieces already in ${STAGE#"$ROOT"/} ($(cat "$STAGE/pieces"))"
    else
    rm -rf "$STAGE"/piece-*
    tmp=$(mktemp -d)
    python3 - "$wheel" "$tmp" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in z.namelist():
        # The C API library and its providers; not TensorRT's, not the Python binding.
        if name.startswith("onnxruntime/capi/") and ".so" in name and "tensorrt" not in name and "pybind" not in name:
            z.extract(name, sys.argv[2])
EOF
    (cd "$tmp/onnxruntime/capi" && ls -la *.so* >&2)
    say "compressing the CUDA ONNX Runtime (xz, a few minutes on 2 cores)"
    tar -C "$tmp/onnxruntime/capi" -cf - . | xz -T0 -6 > "$tmp/ort.tar.xz"
    (cd "$tmp" && split -b ${PIECE_MIB}m -d -a 1 ort.tar.xz piece.)
    local k=0
    for p in "$tmp"/piece.*; do
        mkdir -p "$STAGE/piece-$k" && mv "$p" "$STAGE/piece-$k/ort.tar.xz.part$k"
        k=$((k + 1))
    done
    echo "$k" > "$STAGE/pieces"
    rm -rf "$tmp"
    fi
    # 2. The portable bundle (static Swift stdlib, minimal static OpenCV; docs/BUNDLE.md).
    [ -f dist/visage-linux-x86_64.tar.xz ] || make bundle
    cp dist/visage-linux-x86_64.tar.xz "$STAGE/payload/"
    # 3. Real detection/landmark/recognition models laid out as a mirror, the twin graphs (filled
    #    there: 600 MB of random weights would not fit a call), and an MJPEG clip (the bundle's
    #    OpenCV reads MJPEG without ffmpeg).
    cp "$SHARED/models/models.json" "$SHARED/models/SHA256SUMS" "$STAGE/payload/models/"
    for m in yunet-2023mar scrfd-500m scrfd-2.5g pfld-68 sface-2021dec-int8bq; do
        cp -r "$SHARED/models/$m" "$STAGE/payload/models/"
    done
    mkdir -p "$STAGE/payload/twins"
    cp "$SHARED"/models/twins/*.graph.onnx "$SHARED/tools/twin.py" "$STAGE/payload/twins/"
    cp "$SHARED/media/images/dlib_faces/bald_guys.jpg" "$STAGE/payload/"
    #    The clip rides with the last ORT piece, which has room (the payload has not).
    local last=$(( $(cat "$STAGE/pieces") - 1 ))
    ffmpeg -v error -y -i "$SHARED/media/$CLIP" -t 20 -c:v mjpeg -q:v 3 -an "$STAGE/piece-$last/clip.avi"
    du -sm "$STAGE/piece-$last" | awk '$1 >= 63 { exit 1 }' || die "piece $last with the clip is over one call's 64 MiB"
    # 4. OpenFace 2.2's model files (42 MiB) for the live AU benchmark: a call of their own.
    rm -rf "$STAGE/openface" && mkdir -p "$STAGE/openface" && cp -r "$SHARED/models/openface-2.2.0" "$STAGE/openface/"
    chmod -R a+rX "$STAGE"
    du -sh "$STAGE"/* >&2
    local payload
    payload=$(du -sm "$STAGE/payload" | cut -f1)
    [ "$payload" -lt 63 ] || die "payload is ${payload} MiB, over one call's 64 MiB"
    say "ready: $(cat "$STAGE/pieces") ORT pieces + payload; next: scripts/gpu-run.sh plan"
}

plan() {
    local n
    n=$(cat "$STAGE/pieces" 2>/dev/null || echo 4)
    cat <<EOF
# Device calls for the GPU run, in this order, each within 30 s of the last (the machine keeps /tmp
# only while warm). Every call: kind nvidia-h200 (or none), timeout 600.
EOF
    for ((k = 0; k < n; k++)); do
        echo "run  command='scripts/gpu-run.sh receive $k'  carry=['.gpu-run/piece-$k']"
    done
    echo "run  command='scripts/gpu-run.sh receive openface'  carry=['.gpu-run/openface']"
    echo "run  command='scripts/gpu-run.sh receive payload && scripts/gpu-run.sh bench A'  carry=['.gpu-run/payload']"
    echo "run  command='scripts/gpu-run.sh bench B'  carry=[]"
    echo "run  command='scripts/gpu-run.sh bench C'  carry=[]"
    echo "# results come back under files_at (JSON per benchmark, run.log); record them in docs/BENCHMARKS.md"
}

# --- device -----------------------------------------------------------------------------------

receive() {
    local what=$1
    mkdir -p "$WORK/parts"
    if [ "$what" = payload ]; then
        cp -r "$STAGE/payload" "$WORK/"
    elif [ "$what" = openface ]; then
        mkdir -p "$WORK/payload/models" && cp -r "$STAGE/openface/openface-2.2.0" "$WORK/payload/models/"
    else
        cp "$STAGE/piece-$what"/* "$WORK/parts/"
    fi
    ls -la "$WORK/parts" "$WORK"
    df -h /tmp | tail -1
}

# Unpacks what the calls brought (once) and fills the twins; sets VISAGE and the environment.
assemble() {
    mkdir -p "$WORK/ort" "$WORK/bundle" "$WORK/models"
    if [ ! -f "$WORK/ort/.done" ]; then
        [ -n "$(ls "$WORK/parts" 2>/dev/null)" ] || die "no ORT pieces in $WORK/parts: run the receive calls first"
        cat $(ls "$WORK"/parts/ort.tar.xz.part* | sort -V) | xz -d | tar -C "$WORK/ort" -xf -
        touch "$WORK/ort/.done"
    fi
    if [ ! -f "$WORK/bundle/.done" ]; then
        tar -C "$WORK/bundle" --strip-components=1 -xJf "$WORK/payload/visage-linux-x86_64.tar.xz"
        touch "$WORK/bundle/.done"
    fi
    for g in "$WORK"/payload/twins/*.graph.onnx; do
        local filled=$WORK/models/$(basename "$g" .graph.onnx).onnx
        [ -f "$filled" ] || python3 "$WORK/payload/twins/twin.py" fill "$g" "$filled" --seed 0 >&2
    done
    export LD_LIBRARY_PATH="$WORK/ort:$CU13:$CUDNN${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export VISAGE_ORT_LIBRARY=$WORK/ort/libonnxruntime.so.$ORT_VERSION
    [ -f "$VISAGE_ORT_LIBRARY" ] || VISAGE_ORT_LIBRARY=$(ls "$WORK"/ort/libonnxruntime.so* | head -1)
    export VISAGE_MODEL_MIRROR=$WORK/payload/models VISAGE_ACCEPT_LICENSES=1 VISAGE_MODEL_DIR=$WORK/installed
    VISAGE=$WORK/bundle/bin/visage
    [ -x "$VISAGE" ] || die "no visage binary in the bundle"
    ACCEL=cuda
    TWINS=$WORK/models
    CLIP_PATH=$WORK/parts/clip.avi
    GROUP_PHOTO=$WORK/payload/bald_guys.jpg
    RUNS=100
    DIAG_SECONDS=3
}

# The same benchmarks here, on the CPU, with the local build: proves the plumbing, not the speed.
assemble_cpu() {
    VISAGE=${VISAGE:-$(ls "$ROOT"/.build/release/visage "$ROOT"/.build/debug/visage 2>/dev/null | head -1)}
    [ -x "$VISAGE" ] || die "build first (make build)"
    export VISAGE_MODEL_MIRROR=${VISAGE_MODEL_MIRROR:-$SHARED/models} VISAGE_ACCEPT_LICENSES=1
    export VISAGE_MODEL_DIR=${VISAGE_MODEL_DIR:-$WORK/installed-cpu}
    "$ROOT/scripts/setup-twins.sh" >&2
    ACCEL=cpu
    TWINS=$ROOT/.deps/twins
    CLIP_PATH=$SHARED/media/$CLIP
    GROUP_PHOTO=$SHARED/media/images/dlib_faces/bald_guys.jpg
    RUNS=2
    DIAG_SECONDS=1
}

# Runs one benchmark, keeps its JSON (or its error) under $OUT; one failure does not stop the run.
bench_one() {
    local name=$1; shift
    say "$name: visage $*"
    local started=$SECONDS
    if "$VISAGE" "$@" > "$OUT/$name.json" 2> "$OUT/$name.log"; then
        say "$name: done in $((SECONDS - started)) s"
    else
        say "$name: FAILED (exit $?) after $((SECONDS - started)) s; see $name.log"
        tail -5 "$OUT/$name.log" >&2
    fi
}

# Flags a benchmark offers (the CLI grows; a missing flag means a setting is skipped, and says so).
has_flag() { "$VISAGE" "$1" "$2" --help 2>&1 | grep -q -- "$3"; }

part_a() {
    local twins=(--swapper inswapper --swap-model "$TWINS/inswapper_128_twin.onnx" --recognizer-model "$TWINS/w600k_r50_twin.onnx")
    local swap=(bench swap --json --accelerator "$ACCEL" --runs "$RUNS" "${twins[@]}")
    local variants=("fp32:")
    has_flag bench swap --fp16 && variants+=("fp16:--fp16") || say "bench swap has no --fp16: fp16 skipped"
    for size in 1920x1080 960x540; do
        for faces in 1 5; do
            for v in "${variants[@]}"; do
                bench_one "swap-inswapper-$size-${faces}f-${v%%:*}" "${swap[@]}" --size "$size" --faces "$faces" ${v#*:}
            done
        done
    done
    # IO binding and CUDA graphs off, for the 1080p one-face case.
    if has_flag bench swap --no-cuda-graph; then
        bench_one swap-inswapper-1920x1080-1f-fp32-no-cuda-graph "${swap[@]}" --size 1920x1080 --no-cuda-graph
    else say "bench swap has no --no-cuda-graph: skipped"; fi
    if has_flag bench swap --no-io-binding; then
        bench_one swap-inswapper-1920x1080-1f-fp32-no-io-binding "${swap[@]}" --size 1920x1080 --no-io-binding
    else say "bench swap has no --no-io-binding: skipped"; fi
    # TensorRT: the wheel's provider needs libnvinfer, which that machine lacks; the run says so.
    bench_one swap-inswapper-1920x1080-1f-tensorrt bench swap --json --accelerator tensorrt --runs "$RUNS" "${twins[@]}" --size 1920x1080
    bench_one swap-landmark-1920x1080-1f bench swap --json --accelerator "$ACCEL" --runs "$RUNS" --size 1920x1080
}

part_b() {
    # Swap + enhancer (GFPGAN twin) with and without the temporal cache.
    if has_flag bench swap --enhancer; then
        local enh=(bench swap --json --accelerator "$ACCEL" --runs "$RUNS" --swapper inswapper --size 1920x1080
                   --swap-model "$TWINS/inswapper_128_twin.onnx" --recognizer-model "$TWINS/w600k_r50_twin.onnx"
                   --enhancer gfpgan-1.4)
        has_flag bench swap --enhancer-model && enh+=(--enhancer-model "$TWINS/GFPGANv1.4_twin.onnx")
        bench_one swap-enhance-1920x1080-every-frame "${enh[@]}" --enhance-every 1
        bench_one swap-enhance-1920x1080-cache-4 "${enh[@]}" --enhance-every 4
    else say "bench swap has no --enhancer: swap + enhance skipped"; fi
    if "$VISAGE" bench --help 2>&1 | grep -q enhance; then
        local e=(bench enhance --json --accelerator "$ACCEL")
        has_flag bench enhance --model-path && e+=(--model-path "$TWINS/GFPGANv1.4_twin.onnx")
        has_flag bench enhance --enhancer-model && e+=(--enhancer-model "$TWINS/GFPGANv1.4_twin.onnx")
        bench_one enhance-gfpgan "${e[@]}"
    else say "no bench enhance: skipped"; fi
    # Live on a real clip: bench live runs it sequentially and pipelined and reports both.
    bench_one live-inswapper bench live --json --accelerator "$ACCEL" --source "$CLIP_PATH" --frames $(( RUNS * 3 > 10 ? RUNS * 3 : 10 )) \
        --workloads detect,landmark,inswapper --swap-model "$TWINS/inswapper_128_twin.onnx" \
        --recognizer-model "$TWINS/w600k_r50_twin.onnx"
    bench_one live-au bench live --json --accelerator "$ACCEL" --source "$CLIP_PATH" --frames $(( RUNS * 3 > 10 ? RUNS * 3 : 10 )) --workloads detect,au
    # Detection at 640.
    for m in scrfd-500m scrfd-2.5g yunet-2023mar; do
        bench_one "detect-$m" bench detect --json --accelerator "$ACCEL" --model "$m"
    done
    # Embeddings of 24 faces: one per run against batches (what batching buys on this accelerator).
    bench_one embed-batch bench embed --json -v --accelerator "$ACCEL" --image "$GROUP_PHOTO" --runs $((RUNS / 10 + 2))
}

part_c() {
    # Diagnostics: every model, batch sweep, device memory.
    if "$VISAGE" --help 2>&1 | grep -q diagnose; then
        # The accelerator only (the CPU sweep of the twins would not fit one call), short sweeps, the twins too.
        local models=() m
        for m in yunet-2023mar scrfd-500m scrfd-2.5g pfld-68 sface-2021dec-int8bq; do models+=(--model "$m"); done
        for m in inswapper_128_twin w600k_r50_twin det_10g_twin GFPGANv1.4_twin; do models+=(--model "$TWINS/$m.onnx"); done
        bench_one diagnose diagnose --json --only "$ACCEL" --seconds-per-batch "$DIAG_SECONDS" --no-save \
            --html "$OUT/diagnose.html" "${models[@]}"
    else say "no visage diagnose: skipped"; fi
    bench_one doctor doctor --json
}

part_e() {
    # The batched embedding path (docs/BENCHMARKS.md: one face per run 0.33 ms a face, batches 36.5 ms a face):
    # the same benchmark, then with ONNX Runtime's warnings (nodes left to the CPU), heuristic cuDNN algorithm
    # search, and without IO binding; the node placements of the batched run go to embed-placements.txt.
    local embed=(bench embed --json -v --accelerator "$ACCEL" --image "$GROUP_PHOTO")
    bench_one embed-batch "${embed[@]}" --runs $((RUNS / 10 + 2))
    VISAGE_ORT_LOG_LEVEL=warning bench_one embed-batch-ort-warnings "${embed[@]}" --runs 3
    VISAGE_CUDNN_CONV_ALGO_SEARCH=heuristic bench_one embed-batch-heuristic "${embed[@]}" --runs $((RUNS / 10 + 2))
    has_flag bench embed --no-io-binding && bench_one embed-batch-no-binding "${embed[@]}" --runs $((RUNS / 10 + 2)) --no-io-binding
    VISAGE_ORT_LOG_LEVEL=verbose "$VISAGE" "${embed[@]}" --runs 1 2>&1 >/dev/null \
        | grep -v "Removing initializer" | grep -E -A6 "Node placements|batches of up to" | head -400 > "$OUT/embed-placements.txt" || true
    # The dynamic-batch copy on its own, swept over batch sizes (and the single-face copy beside it).
    local copy
    for copy in $(find "$WORK" "$HOME/.cache" -name 'face_recognition_sface*.onnx' 2>/dev/null | sort | head -6); do
        say "copy: $copy ($(stat -c %s "$copy") bytes)"
        bench_one "diagnose-$(basename "$copy" .onnx)" diagnose --json --only "$ACCEL" --seconds-per-batch 2 --no-save --no-float16 --model "$copy"
    done
}

bench() {
    local part=${1:-all} cpu=${2:-}
    # The device tool brings back only a few files of a call's $OUT, so each part writes its files under
    # $WORK/results/PART and leaves one archive of every part so far in $OUT.
    local archive_to=${OUT:-$STAGE/out}
    [ "${1:-}" = --cpu ] || [ "$cpu" = --cpu ] && part=${part/--cpu/all}
    OUT=$WORK/results/$part
    rm -rf "$OUT" && mkdir -p "$OUT" "$archive_to"
    if [ "$cpu" = --cpu ] || [ "${1:-}" = --cpu ]; then
        assemble_cpu
    else
        assemble
    fi
    {
        echo "host: $(uname -a)"
        command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
        echo "visage: $VISAGE ($("$VISAGE" --version 2>&1 | head -1)), accelerator $ACCEL"
    } > "$OUT/run-$part.log" 2>&1
    case $part in
        A) part_a ;;
        B) part_b ;;
        C) part_c ;;
        E) part_e ;;
        all) part_a; part_b; part_c ;;
        *) die "bench A | B | C | E | all [--cpu]" ;;
    esac 2> >(tee -a "$OUT/run-$part.log" >&2)
    tar -C "$WORK/results" -czf "$archive_to/results.tgz" .
    say "results in $OUT; every part so far in $archive_to/results.tgz"
}

case ${1:-} in
    prepare) prepare ;;
    plan) plan ;;
    receive) receive "${2:?receive K|payload}" ;;
    bench) shift; bench "$@" ;;
    *) sed -n '2,20p' "$0"; exit 2 ;;
esac
