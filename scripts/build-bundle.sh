#!/usr/bin/env bash
# Builds the portable Linux bundle (docs/BUNDLE.md): dist/visage-linux-<arch>.tar.xz, a folder with
#   bin/visage   Swift's standard library, Foundation and a minimal OpenCV linked in statically
#   lib/         only what visage loads at run time (ONNX Runtime, CPU build), found through $ORIGIN/../lib
# that runs on a bare glibc >= 2.36 Linux without Swift, OpenCV or FFmpeg installed.
#
# Usage: scripts/build-bundle.sh [--jobs N]     (run `scripts/setup.sh --bundle` first; `make bundle` does)
# Environment: DIST (default dist/), SWIFT (default swift).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DIST="${DIST:-$ROOT/dist}"
SWIFT="${SWIFT:-swift}"
SCRATCH="$ROOT/.build-bundle"
JOBS="$(nproc)"
while [ $# -gt 0 ]; do
  case "$1" in
    --jobs) JOBS="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "build-bundle: unknown option '$1'" >&2; exit 2 ;;
  esac
done
say() { printf 'bundle: %s\n' "$*" >&2; }
die() { printf 'bundle: error: %s\n' "$*" >&2; exit 1; }

[ "$(uname -s)" = Linux ] || die "the bundle is a Linux build; on macOS use 'make build'"
ARCH="$(uname -m)"
NAME="visage-linux-$ARCH"
STAGE="$DIST/$NAME"
TARBALL="$DIST/$NAME.tar.xz"
for tool in readelf ldd strip xz tar; do command -v "$tool" >/dev/null || die "$tool not found (binutils, xz-utils, tar)"; done

# ---------------------------------------------------------------- 1. static OpenCV (cached)
started=$(date +%s)
OPENCV_PREFIX="$(scripts/build-opencv-static.sh --jobs "$JOBS" | tail -1)"
opencv_done=$(date +%s)

# ---------------------------------------------------------------- 2. the binary
ort_lib="$(ls "$ROOT"/.deps/lib/libonnxruntime.so.* 2>/dev/null | grep -v providers | sort -V | tail -1 || true)"
[ -n "$ort_lib" ] || die "no .deps/lib/libonnxruntime.so.*: run scripts/setup.sh first"
say "swift build -c release --static-swift-stdlib (scratch ${SCRATCH#"$ROOT"/}, OpenCV from ${OPENCV_PREFIX#"$ROOT"/})"
# '$ORIGIN/../lib': the loader looks in the bundle's lib/ first, wherever the folder is unpacked.
VISAGE_OPENCV_STATIC="$OPENCV_PREFIX" nice -n 10 "$SWIFT" build -c release --product visage --static-swift-stdlib \
  --scratch-path "$SCRATCH" -j "$JOBS" -Xlinker -rpath -Xlinker '$ORIGIN/../lib' >&2
binary="$SCRATCH/release/visage"
swift_done=$(date +%s)

# ---------------------------------------------------------------- 3. the folder
rm -rf "$STAGE" "$TARBALL" && mkdir -p "$STAGE/bin" "$STAGE/lib" "$STAGE/licenses"
strip -o "$STAGE/bin/visage" "$binary"
cp "$ort_lib" "$STAGE/lib/"
ln -s "$(basename "$ort_lib")" "$STAGE/lib/libonnxruntime.so"
# SQLite (the server's job store, through GRDB, which links the system's libsqlite3): public domain; the
# loader finds it in lib/ through the RUNPATH.
sqlite_lib="$(ldd "$binary" | awk '$1 ~ /^libsqlite3\.so/ { print $3; exit }')"
[ -z "$sqlite_lib" ] || cp -L "$sqlite_lib" "$STAGE/lib/$(basename "$sqlite_lib")"
# The CPU build dlopens it only to load an execution-provider plug-in; 15 kB, kept for parity with the wheel.
[ -f "$ROOT/.deps/lib/libonnxruntime_providers_shared.so" ] && cp "$ROOT/.deps/lib/libonnxruntime_providers_shared.so" "$STAGE/lib/"

# Licences of what is inside: ONNX Runtime's from its wheel, OpenCV's and its codecs' from its install.
ort_version="$(basename "$ort_lib")"; ort_version="${ort_version#libonnxruntime.so.}"
wheel="$(ls "$ROOT"/.deps/wheels/onnxruntime-"$ort_version"-*.whl 2>/dev/null | head -1 || true)"
if [ -n "$wheel" ]; then
  python3 - "$wheel" "$STAGE/licenses/onnxruntime" <<'PY'
import os, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        base = os.path.basename(name)
        if base in ("LICENSE", "ThirdPartyNotices.txt", "Privacy.md") or (".dist-info/licenses/" in name and not name.endswith("/")):
            with z.open(name) as src, open(os.path.join(out, base), "wb") as dst:
                dst.write(src.read())
PY
else
  say "warning: the onnxruntime $ort_version wheel is not in .deps/wheels; its licence files are not in the bundle"
fi
[ -d "$OPENCV_PREFIX/share/licenses/opencv4" ] && cp -r "$OPENCV_PREFIX/share/licenses/opencv4" "$STAGE/licenses/opencv"
swift_licence="$(dirname "$(dirname "$(readlink -f "$(command -v "$SWIFT")")")")/share/swift/LICENSE.txt"
[ -f "$swift_licence" ] && { mkdir -p "$STAGE/licenses/swift"; cp "$swift_licence" "$STAGE/licenses/swift/"; }

commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || commit="$commit-dirty"
glibc_needed="$(objdump -T "$STAGE/bin/visage" "$STAGE"/lib/*.so* 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
glibcxx_needed="$(objdump -T "$STAGE/bin/visage" "$STAGE"/lib/*.so* 2>/dev/null | grep -o 'GLIBCXX_[0-9.]*' | sort -uV | tail -1)"
cat >"$STAGE/BUILD-INFO.txt" <<EOF
visage portable bundle ($NAME)
commit:        $commit
built:         $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME")
swift:         $("$SWIFT" --version 2>/dev/null | head -1) (--static-swift-stdlib)
opencv:        $(sed -n 's/^opencv \([0-9.]*\) from \([^ ]*\) .*/\1 (static, from \2)/p' "$OPENCV_PREFIX/.stamp")
onnxruntime:   $ort_version (CPU, lib/; VISAGE_ORT_LIBRARY picks another build)
needs:         Linux $ARCH, $glibc_needed or newer, libstdc++ with $glibcxx_needed (GCC 12+)
EOF
cat >"$STAGE/README.txt" <<'EOF'
Visage, portable Linux build. Nothing to install: unpack anywhere and run bin/visage.

  bin/visage doctor                      what it found (ONNX Runtime, OpenCV, ffmpeg, models)
  bin/visage models install yunet-2023mar   models go to ~/.cache/visage (downloads use the `curl` program;
                                         offline: VISAGE_MODEL_MIRROR=<folder laid out like shared/models>)
  bin/visage detect photo.jpg

OpenCV decodes images and MJPEG/AVI video itself; other video formats, encoding and audio need the
`ffmpeg` program on PATH. GPU: point VISAGE_ORT_LIBRARY at a CUDA build of libonnxruntime.so
(docs/BUNDLE.md in the source repository). BUILD-INFO.txt says what this build needs; licenses/ has the
licences of what is linked in.
EOF

# ---------------------------------------------------------------- 4. check what it needs
needed="$(readelf -d "$STAGE/bin/visage" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
runpath="$(readelf -d "$STAGE/bin/visage" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')"
case ":$runpath:" in *':$ORIGIN/../lib:'*) ;; *) die "bin/visage has RUNPATH '$runpath', not \$ORIGIN/../lib" ;; esac
# What every glibc system has (glibc, GCC's C++ runtime, zlib: Debian's zlib1g is Priority: required,
# so even debootstrap's minbase has it); anything else must be in lib/. libz comes from swift-nio-extras
# (HTTP compression, linked with -lz before OpenCV's static zlib could serve it).
base_system='^(libc|libm|libdl|libpthread|librt|libutil|libstdc\+\+|libgcc_s|libz|ld-linux-x86-64|ld-linux-aarch64)\.so'
for lib in $needed; do
  [[ "$lib" =~ $base_system ]] || [ -e "$STAGE/lib/$lib" ] || die "bin/visage needs $lib, which is neither a base-system library nor in lib/"
done
if ldd "$STAGE/bin/visage" | grep -q 'not found'; then ldd "$STAGE/bin/visage" >&2; die "unresolved libraries"; fi
if ldd "$STAGE/bin/visage" | grep -Eiq 'libopencv|libcurl|libav|libswift|libFoundation|libicu|libxml'; then
  ldd "$STAGE/bin/visage" >&2; die "a library that should be linked in statically (or not at all) is loaded dynamically"
fi
"$STAGE/bin/visage" --version >/dev/null || die "bin/visage does not start"
bundle_done=$(date +%s)

# ---------------------------------------------------------------- 5. the tarball
say "compressing $(du -sh "$STAGE" | cut -f1) into ${TARBALL#"$ROOT"/}"
tar -C "$DIST" --owner=0 --group=0 --numeric-owner --sort=name -cf - "$NAME" | xz -T"$JOBS" -9 >"$TARBALL.part"
mv "$TARBALL.part" "$TARBALL"
finished=$(date +%s)

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
say "NEEDED by bin/visage: $(echo $needed)"
say "lib/: $(cd "$STAGE/lib" && ls | tr '\n' ' ')"
say "size: $(mib "$(stat -c %s "$TARBALL")") compressed, $(mib "$(du -sb "$STAGE" | cut -f1)") unpacked (bin/visage $(mib "$(stat -c %s "$STAGE/bin/visage")"))"
say "time: OpenCV $((opencv_done - started)) s (0 when cached), swift build $((swift_done - opencv_done)) s, packing $((finished - swift_done)) s"
echo "$TARBALL"
