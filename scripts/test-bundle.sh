#!/usr/bin/env bash
# Proves the portable bundle runs on a bare Debian 12 (no Swift, no OpenCV, no FFmpeg): builds a
# `debootstrap --variant=minbase bookworm` chroot (cached in .deps/chroot/), unpacks the bundle in it with
# a model mirror of only the models needed, the sample photos and a short MJPEG .avi (OpenCV's own AVI
# reader decodes it without FFmpeg), and runs doctor, detect, swap and au inside with `chroot`, checking
# exit codes and outputs.
#
# Usage: sudo scripts/test-bundle.sh [--bundle dist/visage-linux-x86_64.tar.xz] [--compare BINARY]
#   --compare BINARY  also runs detect (JSON) and au (CSV) with BINARY (e.g. .build/release/visage) outside
#                     the chroot and the bundle's binary inside, and reports how the outputs differ.
# Needs: root (debootstrap, chroot, mount), debootstrap (scripts/setup.sh --bundle), ffmpeg outside the
# chroot (to make the .avi), python3 outside (to check outputs), VISAGE_MODEL_MIRROR or ../shared/models.
# Not part of `make test`: the first run builds OpenCV and a Debian chroot (see docs/BUNDLE.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARBALL="$ROOT/dist/visage-linux-$(uname -m).tar.xz"
COMPARE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) TARBALL="$(readlink -f "$2")"; shift 2 ;;
    --compare) COMPARE="$(readlink -f "$2")"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "test-bundle: unknown option '$1'" >&2; exit 2 ;;
  esac
done
say() { printf 'test-bundle: %s\n' "$*"; }
die() { printf 'test-bundle: FAIL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mount): run it with sudo"
command -v debootstrap >/dev/null || die "debootstrap not found: run scripts/setup.sh --bundle"
command -v ffmpeg >/dev/null || die "ffmpeg (outside the chroot) is needed to make the test video"
[ -f "$TARBALL" ] || die "no bundle at $TARBALL: run make bundle first"
MIRROR="${VISAGE_MODEL_MIRROR:-$ROOT/../shared/models}"
MIRROR="$(readlink -f "$MIRROR")"
[ -f "$MIRROR/models.json" ] || die "no model mirror at $MIRROR (set VISAGE_MODEL_MIRROR)"
SOURCE_VIDEO="${VISAGE_TEST_VIDEO:-$ROOT/../shared/media/video/openface/default.wmv}"
[ -f "$SOURCE_VIDEO" ] || die "no source video at $SOURCE_VIDEO (set VISAGE_TEST_VIDEO)"
MODELS=(yunet-2023mar pfld-68 sface-2021dec-int8bq openface-2.2.0)

# ---------------------------------------------------------------- the bare Debian, cached
BASE="$ROOT/.deps/chroot/bookworm-minbase"
if [ ! -f "$BASE.stamp" ]; then
  say "debootstrap --variant=minbase bookworm into ${BASE#"$ROOT"/} (once; a few minutes)"
  rm -rf "$BASE" && mkdir -p "$(dirname "$BASE")"
  debootstrap --variant=minbase bookworm "$BASE" http://deb.debian.org/debian >"$BASE.log" 2>&1 ||
    { tail -20 "$BASE.log" >&2; die "debootstrap failed (log: $BASE.log)"; }
  # Nothing of the build machine's apt cache; the image is what a fresh install would have.
  rm -rf "$BASE"/var/cache/apt/archives/*.deb
  date -u +%Y-%m-%dT%H:%M:%SZ >"$BASE.stamp"
fi

WORK="$ROOT/.build-bundle/chroot-test"
JAIL="$WORK/root"
cleanup() {
  for m in "$JAIL/proc" "$JAIL/dev"; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
  return 0
}
trap cleanup EXIT
cleanup
rm -rf "$WORK" && mkdir -p "$WORK"
say "fresh copy of the chroot in ${JAIL#"$ROOT"/}"
cp -a "$BASE" "$JAIL"
mount -t proc proc "$JAIL/proc"
mount --bind /dev "$JAIL/dev"

# The point of the exercise: none of these may be there.
in_jail() { chroot "$JAIL" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
for tool in swift swiftc ffmpeg ffprobe; do
  if in_jail sh -c "command -v $tool" >/dev/null; then die "the chroot has $tool"; fi
done
leaks="$(find "$JAIL" -xdev \( -name 'libopencv*' -o -name 'libswift*' -o -name 'libFoundation*' -o -name 'libavcodec*' \
  -o -name 'libavformat*' -o -name 'libcurl*' \) -print | head -5)"
[ -z "$leaks" ] || die "the chroot has libraries it must not have: $leaks"
say "chroot checked: $(in_jail sh -c '. /etc/os-release; echo $PRETTY_NAME'), glibc $(in_jail ldd --version | head -1 | awk '{print $NF}'), no swift/ffmpeg/libopencv/libswift/libcurl"

# ---------------------------------------------------------------- what goes in
mkdir -p "$JAIL/opt" "$JAIL/opt/models" "$JAIL/work/Samples"
tar -xJf "$TARBALL" -C "$JAIL/opt"
BUNDLE_DIR="/opt/$(basename "$TARBALL" .tar.xz)"
[ -x "$JAIL$BUNDLE_DIR/bin/visage" ] || die "$(basename "$TARBALL") has no $(basename "$BUNDLE_DIR")/bin/visage"
VISAGE="$BUNDLE_DIR/bin/visage"
cp "$MIRROR/models.json" "$JAIL/opt/models/"
for m in "${MODELS[@]}"; do cp -r "$MIRROR/$m" "$JAIL/opt/models/"; done
cp Samples/obama.jpg Samples/biden.jpg "$JAIL/work/Samples/"
VIDEO_CACHE="$ROOT/.build-bundle/test-media/default-mjpeg.avi"
if [ ! -f "$VIDEO_CACHE" ]; then
  mkdir -p "$(dirname "$VIDEO_CACHE")"
  # 3 s of the OpenFace sample as Motion-JPEG in AVI: the one video format OpenCV reads without FFmpeg.
  ffmpeg -v error -y -i "$SOURCE_VIDEO" -t 3 -an -c:v mjpeg -q:v 3 -pix_fmt yuvj420p "$VIDEO_CACHE.tmp.avi"
  mv "$VIDEO_CACHE.tmp.avi" "$VIDEO_CACHE"
fi
cp "$VIDEO_CACHE" "$JAIL/work/clip.avi"
FRAMES="$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$VIDEO_CACHE")"

# ---------------------------------------------------------------- run
failures=0
step() {   # step NAME COMMAND...: runs in the chroot (cwd /work), keeps its output, checks the exit code
  local name="$1"; shift
  local start end rc=0
  start=$(date +%s.%N)
  chroot "$JAIL" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
    VISAGE_MODEL_MIRROR=/opt/models VISAGE_ACCEPT_LICENSES=1 \
    sh -c 'cd /work && exec "$@"' sh "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
  end=$(date +%s.%N)
  if [ "$rc" = 0 ]; then
    say "ok   $name ($(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.1f", b-a}') s): $*"
  else
    say "FAIL $name (exit $rc): $*"; sed 's/^/    /' "$WORK/$name.err" | tail -15; failures=$((failures + 1))
  fi
  return 0
}
check() {  # check DESCRIPTION CONDITION-COMMAND...
  local what="$1"; shift
  if "$@"; then say "ok   $what"; else say "FAIL $what"; failures=$((failures + 1)); fi
}

step doctor "$VISAGE" doctor
check "doctor finds the bundle's ONNX Runtime in lib/" grep -q "$BUNDLE_DIR/lib/libonnxruntime" "$WORK/doctor.out" "$WORK/doctor.err"
step install "$VISAGE" models install "${MODELS[@]}" --accept-license
step detect "$VISAGE" detect Samples/obama.jpg --json
check "detect finds one face in obama.jpg" python3 - "$WORK/detect.out" <<'PY'
import json, sys
out = json.load(open(sys.argv[1]))
faces = out["results"][0]["faces"]
assert len(faces) == 1, faces
print(f"    1 face, score {faces[0].get('score')}, box {faces[0].get('box') or faces[0].get('bbox')}")
PY
step swap "$VISAGE" swap -s Samples/obama.jpg -t Samples/biden.jpg -o out.png
check "swap wrote out.png at the target's size" python3 - "$JAIL/work/out.png" "$JAIL/work/Samples/biden.jpg" <<'PY'
import struct, sys
png = open(sys.argv[1], "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", png[16:24])
jpg = open(sys.argv[2], "rb").read()
i = 2
while i < len(jpg):                       # walk the JPEG markers to the frame header
    marker, length = jpg[i + 1], struct.unpack(">H", jpg[i + 2:i + 4])[0]
    if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
        th, tw = struct.unpack(">HH", jpg[i + 5:i + 9]); break
    i += 2 + length
assert (w, h) == (tw, th), f"{w}x{h} vs target {tw}x{th}"
print(f"    {w}x{h} PNG, {len(png)} bytes")
PY
# minbase has no curl: a download must fail with a message that says so (not hang, not crash).
if chroot "$JAIL" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root "$VISAGE" models install scrfd-2.5g >"$WORK/nocurl.out" 2>"$WORK/nocurl.err"; then
  say "FAIL models install without curl and without a mirror succeeded"; failures=$((failures + 1))
else
  check "without curl, models install says to install curl or set VISAGE_MODEL_MIRROR" grep -q 'apt install curl' "$WORK/nocurl.err"
fi
step au_photo "$VISAGE" au Samples/obama.jpg -o obama-au.csv
step au_video "$VISAGE" au clip.avi -o clip-au.csv
au_check() {
  python3 - "$@" <<'PY'
import csv, sys
path, frames = sys.argv[1], int(sys.argv[2])
rows = list(csv.DictReader(open(path), skipinitialspace=True))
assert len(rows) == frames, f"{len(rows)} rows, expected {frames}"
ok = [r for r in rows if r["success"].strip() == "1"]
assert len(ok) >= max(1, int(0.9 * frames)), f"only {len(ok)} of {frames} frames tracked"
aus = [k for k in rows[0] if k.startswith("AU") and k.endswith("_r")]
assert len(aus) == 17, aus
mean = {k: sum(float(r[k]) for r in ok) / len(ok) for k in aus}
print(f"    {len(rows)} rows, {len(ok)} tracked, {len(aus)} AU intensities; mean AU12_r {mean['AU12_r']:.3f}, AU06_r {mean['AU06_r']:.3f}")
PY
}
check "au on a photo: one tracked row with 17 AU intensities" au_check "$JAIL/work/obama-au.csv" 1
check "au on the MJPEG .avi: one row per frame ($FRAMES)" au_check "$JAIL/work/clip-au.csv" "$FRAMES"

# ---------------------------------------------------------------- optional: same numbers as another build
if [ -n "$COMPARE" ]; then
  say "comparing with $COMPARE (outside the chroot)"
  ref="$WORK/reference"; mkdir -p "$ref"
  ( cd "$ref" && cp "$VIDEO_CACHE" clip.avi &&
    VISAGE_MODEL_MIRROR="$MIRROR" VISAGE_ACCEPT_LICENSES=1 VISAGE_MODEL_DIR="$ref/models" "$COMPARE" detect \
      "$ROOT/Samples/obama.jpg" "$ROOT/Samples/biden.jpg" "$ROOT/Samples/astronaut.png" --json >detect.json 2>/dev/null &&
    VISAGE_MODEL_MIRROR="$MIRROR" VISAGE_ACCEPT_LICENSES=1 VISAGE_MODEL_DIR="$ref/models" "$COMPARE" au clip.avi -o clip-au.csv 2>/dev/null ) ||
    die "the reference binary failed"
  mkdir -p "$JAIL/work/cmp" && cp "$ROOT/Samples/obama.jpg" "$ROOT/Samples/biden.jpg" "$ROOT/Samples/astronaut.png" "$JAIL/work/cmp/"
  step cmp_detect "$VISAGE" detect cmp/obama.jpg cmp/biden.jpg cmp/astronaut.png --json
  python3 - "$ref/detect.json" "$WORK/cmp_detect.out" "$ref/clip-au.csv" "$JAIL/work/clip-au.csv" <<'PY'
import csv, json, sys
def numbers(x):
    # everything the detector computed; not the timings, which differ from run to run
    if isinstance(x, dict): return [v for k in sorted(x) if not k.startswith("timings") for v in numbers(x[k])]
    if isinstance(x, list): return [v for item in x for v in numbers(item)]
    return [x] if isinstance(x, (int, float)) and not isinstance(x, bool) else []
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
na, nb = numbers(a["results"]), numbers(b["results"])
if len(na) != len(nb): print(f"    detect: different structure ({len(na)} vs {len(nb)} numbers)")
else:
    diff = max((abs(x - y) for x, y in zip(na, nb)), default=0)
    print(f"    detect JSON ({len(na)} numbers, 3 samples): {'identical' if diff == 0 else f'max |difference| {diff:.6g}'}")
ra = list(csv.reader(open(sys.argv[3]), skipinitialspace=True)); rb = list(csv.reader(open(sys.argv[4]), skipinitialspace=True))
if ra == rb: print(f"    au CSV on the .avi ({len(ra) - 1} rows): byte-for-byte the same values")
else:
    head = ra[0]; worst = {}
    for x, y in zip(ra[1:], rb[1:]):
        for k, u, v in zip(head, x, y):
            try: d = abs(float(u) - float(v))
            except ValueError: continue
            worst[k] = max(worst.get(k, 0), d)
    changed = {k: d for k, d in worst.items() if d > 0}
    groups = {"AU*_r": [d for k, d in changed.items() if k.startswith("AU") and k.endswith("_r")],
              "AU*_c": [d for k, d in changed.items() if k.startswith("AU") and k.endswith("_c")],
              "x_/y_ landmarks": [d for k, d in changed.items() if k[:2] in ("x_", "y_")]}
    print(f"    au CSV on the .avi: {len(ra) - 1} vs {len(rb) - 1} rows, {len(changed)} columns differ")
    for g, ds in groups.items():
        if ds: print(f"      {g}: max |difference| {max(ds):.4g}")
PY
fi

if [ "$failures" -gt 0 ]; then die "$failures check(s) failed (outputs in ${WORK#"$ROOT"/})"; fi
say "PASS: the bundle runs on a bare Debian 12 without Swift, OpenCV or FFmpeg"
