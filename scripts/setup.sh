#!/usr/bin/env bash
# Installs everything Visage needs to build and run, idempotently:
#   system packages (OpenCV 4 dev files, ffmpeg, pkg-config, curl, SQLite dev files, wrk),
#   ONNX Runtime (library + C header) into .deps/ unless the system already has both.
# Usage: scripts/setup.sh [--gpu] [--bundle] [--test]
#   --gpu     takes the onnxruntime-gpu wheel: CUDA/TensorRT providers
#   --bundle  also installs the tools `make bundle` needs (cmake, ninja, debootstrap; see docs/BUNDLE.md)
#   --test    also the Debian packages the test suite needs (`make test` passes it): headless Chromium + its
#             WebDriver + python3-selenium for the web UI's browser tests, slurm-wlm and munge for the real
#             Slurm test of `visage batch`, python3-yaml and python3-jsonschema for its Kubernetes Job check
# Fast when already set up: every step checks before it acts.
set -euo pipefail

ORT_VERSION="1.31.1"           # PyPI wheel we take libonnxruntime from (API >= the header's)
ORT_HEADER_DEB="libonnxruntime-dev"   # Debian 13 ships the C header; we only extract the header
ORT_HEADER_SUITE="trixie"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.deps"
FLAVOUR="cpu"
BUNDLE_TOOLS=0
TEST_TOOLS=0
for arg in "$@"; do
  case "$arg" in
    --gpu) FLAVOUR="gpu" ;;
    --bundle) BUNDLE_TOOLS=1 ;;
    --test) TEST_TOOLS=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup: unknown option '$arg' (try --gpu, --bundle or --test)" >&2; exit 2 ;;
  esac
done

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root to run: $*"; fi; }

mkdir -p "$DEPS/include" "$DEPS/lib"

# ---------------------------------------------------------------- system packages
install_system_packages_debian() {
  # libsqlite3-dev: the server's job store (GRDB); wrk: the server's bounded load test.
  local wanted=(libopencv-dev ffmpeg pkg-config curl ca-certificates python3 xz-utils libsqlite3-dev wrk)
  # Building the portable bundle: a static OpenCV (cmake + ninja) and a bare Debian chroot to test it in.
  [ "$BUNDLE_TOOLS" = 1 ] && wanted+=(cmake ninja-build debootstrap debian-archive-keyring)
  # The web UI's browser tests: headless Chromium driven through WebDriver from Python.
  [ "$TEST_TOOLS" = 1 ] && wanted+=(chromium chromium-driver python3-selenium)
  # The test suite's own needs: a one-node Slurm cluster (started and stopped by the test itself, never as a
  # service) and a YAML + JSON-schema reader for the generated Kubernetes Job.
  [ "$TEST_TOOLS" = 1 ] && wanted+=(slurm-wlm munge python3-yaml python3-jsonschema)
  local missing=()
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then say "system packages present"; return; fi
  say "installing with apt-get: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_system_packages_macos() {
  command -v brew >/dev/null || die "Homebrew is required on macOS: https://brew.sh"
  local missing=()
  for p in opencv ffmpeg pkg-config onnxruntime; do brew list --versions "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then say "brew install ${missing[*]}"; brew install "${missing[@]}"; else say "Homebrew packages present"; fi
}

# ---------------------------------------------------------------- OpenCV headers
link_opencv_headers() {
  local inc
  local flag inc=""
  for flag in $(pkg-config --cflags-only-I opencv4 2>/dev/null || true); do
    [ -d "${flag#-I}/opencv2" ] && inc="${flag#-I}"
  done
  [ -n "$inc" ] || die "OpenCV 4 development files not found (pkg-config opencv4). Install libopencv-dev (Debian/Ubuntu) or 'brew install opencv'."
  ln -sfn "$inc" "$DEPS/include/opencv4"
  if [ "$(uname -s)" = Darwin ]; then ln -sfn "$(brew --prefix opencv)/lib" "$DEPS/opencv-lib"; fi
}

# ---------------------------------------------------------------- ONNX Runtime
system_ort_header() {
  for d in /usr/include/onnxruntime /usr/local/include/onnxruntime /usr/include /usr/local/include; do
    [ -f "$d/onnxruntime_c_api.h" ] && { echo "$d/onnxruntime_c_api.h"; return; }
  done
  if [ "$(uname -s)" = Darwin ] && command -v brew >/dev/null; then
    local p; p="$(brew --prefix onnxruntime 2>/dev/null || true)"
    [ -n "$p" ] && [ -f "$p/include/onnxruntime/onnxruntime_c_api.h" ] && echo "$p/include/onnxruntime/onnxruntime_c_api.h"
  fi
}
system_ort_library() {
  if [ "$(uname -s)" = Darwin ]; then
    local p; p="$(brew --prefix onnxruntime 2>/dev/null || true)"
    [ -n "$p" ] && ls "$p"/lib/libonnxruntime.dylib 2>/dev/null | head -1
  else
    ldconfig -p 2>/dev/null | awk '/libonnxruntime\.so(\.[0-9]+)* /{print $NF; exit}'
  fi
}

fetch_ort_header_from_debian() {
  # A private apt state directory: the system's apt sources stay untouched.
  local apt="$DEPS/apt" keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$keyring" ] || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debian-archive-keyring >/dev/null
  mkdir -p "$apt/state/lists/partial" "$apt/cache/archives/partial" "$apt/etc" "$apt/debs"
  echo "deb [signed-by=$keyring] http://deb.debian.org/debian $ORT_HEADER_SUITE main" > "$apt/etc/sources.list"
  local opts=(-o "Dir::State=$apt/state" -o "Dir::Cache=$apt/cache" -o "Dir::Etc::SourceList=$apt/etc/sources.list"
              -o "Dir::Etc::SourceParts=/dev/null" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
  say "fetching $ORT_HEADER_DEB ($ORT_HEADER_SUITE) for onnxruntime_c_api.h (private apt state in .deps/apt)"
  apt-get "${opts[@]}" -qq update
  (cd "$apt/debs" && rm -f ./*.deb && apt-get "${opts[@]}" -qq download "$ORT_HEADER_DEB")
  rm -rf "$apt/x" && dpkg-deb -x "$apt"/debs/*.deb "$apt/x"
  cp "$apt/x/usr/include/onnxruntime/onnxruntime_c_api.h" "$DEPS/include/onnxruntime_c_api.h"
}

fetch_ort_library_from_pypi() {
  local pkg="onnxruntime"; [ "$FLAVOUR" = gpu ] && pkg="onnxruntime-gpu"
  local wheels="$DEPS/wheels"; mkdir -p "$wheels"
  local whl; whl="$(ls "$wheels"/"${pkg//-/_}"-"$ORT_VERSION"-*.whl 2>/dev/null | head -1 || true)"
  if [ -z "$whl" ]; then
    say "downloading $pkg==$ORT_VERSION wheel from PyPI (only its shared library is used)"
    local plat="manylinux_2_28_x86_64"
    case "$(uname -m)" in aarch64|arm64) plat="manylinux_2_28_aarch64";; esac
    if python3 -m pip --version >/dev/null 2>&1; then
      python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform "$plat" --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        "$pkg==$ORT_VERSION" -d "$wheels"
    else
      # No pip: ask PyPI's JSON API for the wheel URL.
      local url
      url="$(curl -fsSL "https://pypi.org/pypi/$pkg/$ORT_VERSION/json" | python3 -c '
import json,sys
files=json.load(sys.stdin)["urls"]
c=[f["url"] for f in files if f["filename"].endswith(".whl") and "cp312" in f["filename"] and "manylinux" in f["filename"] and sys.argv[1] in f["filename"]]
print(c[0] if c else "")' "$(uname -m)")"
      [ -n "$url" ] || die "no $pkg $ORT_VERSION wheel for this platform on PyPI"
      curl -fL --retry 3 -o "$wheels/$(basename "$url")" "$url"
    fi
    whl="$(ls "$wheels"/"${pkg//-/_}"-"$ORT_VERSION"-*.whl | head -1)"
  fi
  rm -rf "$DEPS/lib" && mkdir -p "$DEPS/lib"
  python3 - "$whl" "$DEPS/lib" <<'PY'
import sys, zipfile, os
whl, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        base = os.path.basename(n)
        # the C API library and the provider plug-ins it dlopens; TensorRT's needs libnvinfer, keep it anyway
        if "/capi/" in n and base.startswith("libonnxruntime"):
            with z.open(n) as src, open(os.path.join(out, base), "wb") as dst:
                dst.write(src.read())
PY
  local so; so="$(ls "$DEPS"/lib/libonnxruntime.so.* | head -1)"
  ln -sfn "$(basename "$so")" "$DEPS/lib/libonnxruntime.so"
}

setup_onnxruntime() {
  local stamp="$DEPS/onnxruntime.stamp" want="$FLAVOUR $ORT_VERSION"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$DEPS/include/onnxruntime_c_api.h" ]; then
    say "ONNX Runtime ready ($(cat "$stamp"))"; return
  fi
  local header lib; header="$(system_ort_header || true)"; lib="$(system_ort_library || true)"
  if [ -n "$header" ] && [ -n "$lib" ] && [ "$FLAVOUR" = cpu ]; then
    say "using the system's ONNX Runtime: $lib (header $header)"
    ln -sfn "$header" "$DEPS/include/onnxruntime_c_api.h"
    echo "system $lib" > "$stamp"; return
  fi
  if [ "$(uname -s)" = Darwin ]; then die "brew install onnxruntime did not provide the header and library"; fi
  [ -f "$DEPS/include/onnxruntime_c_api.h" ] || fetch_ort_header_from_debian
  fetch_ort_library_from_pypi
  echo "$want" > "$stamp"
  say "ONNX Runtime $ORT_VERSION ($FLAVOUR) in .deps/lib"
}

# The C target reaches the header through a link inside its include folder (git-ignored).
link_ort_header_into_target() {
  ln -sfn ../../../.deps/include/onnxruntime_c_api.h "$ROOT/Sources/CONNXRuntime/include/onnxruntime_c_api.h"
}

case "$(uname -s)" in
  Linux)
    command -v dpkg-query >/dev/null || die "this script knows Debian/Ubuntu (apt); install OpenCV 4 dev files, ffmpeg and pkg-config yourself, then run it again"
    install_system_packages_debian ;;
  Darwin)
    [ "$BUNDLE_TOOLS" = 1 ] && die "--bundle builds a Linux bundle; run it on Debian/Ubuntu"
    install_system_packages_macos ;;
  *) die "unsupported OS $(uname -s)" ;;
esac
command -v swift >/dev/null || die "Swift 6 toolchain not found on PATH (https://swift.org/install)"
link_opencv_headers
setup_onnxruntime
link_ort_header_into_target
say "ready"
