#!/usr/bin/env bash
# Builds a minimal static OpenCV for the portable bundle (docs/BUNDLE.md) and prints its install prefix.
#
# Only the modules Visage links (core imgproc imgcodecs videoio photo calib3d, plus what calib3d needs:
# features2d flann), the image codecs compiled in from OpenCV's own 3rdparty sources (zlib, libjpeg-turbo,
# libpng, libwebp, libtiff), videoio with V4L2 and OpenCV's built-in MJPEG/AVI reader and writer, and
# nothing else: no FFmpeg, GStreamer, GUI, IPP, ITT, OpenCL, LAPACK, TBB, and nothing downloaded at
# configure time. The CPU baseline/dispatch list is Debian 12's (SSE2 + runtime dispatch up to AVX-512),
# so the kernels match those of the libopencv-dev the normal build links.
#
# Source: the sdist of opencv-python 4.6.0.66 on PyPI, which carries OpenCV 4.6.0 (Debian 12's version)
# with its 3rdparty folder. Cached: a stamp in the prefix records the version and options; a second run
# with the same ones returns at once.
#
# Usage: scripts/build-opencv-static.sh [--jobs N]      (needs cmake + ninja: scripts/setup.sh --bundle)
# Output (stdout, last line): the install prefix, e.g. /path/.deps/opencv-static/4.6.0
set -euo pipefail

OPENCV_VERSION="4.6.0"
SDIST="opencv-python-4.6.0.66.tar.gz"
SDIST_URL="https://files.pythonhosted.org/packages/7a/1c/e57fe138615c29b8d1442009057dd420c58d4773cb16112e914c9e7b47d8/$SDIST"
SDIST_SHA256="c5bfae41ad4031e66bb10ec4a0a2ffd3e514d092652781e8b1ac98d1b59f1158"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.deps"
PREFIX="$DEPS/opencv-static/$OPENCV_VERSION"
WORK="$ROOT/.build-bundle/opencv-$OPENCV_VERSION"
JOBS="$(nproc)"
while [ $# -gt 0 ]; do
  case "$1" in
    --jobs) JOBS="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "build-opencv-static: unknown option '$1'" >&2; exit 2 ;;
  esac
done

say() { printf 'opencv-static: %s\n' "$*" >&2; }
die() { printf 'opencv-static: error: %s\n' "$*" >&2; exit 1; }

CMAKE_OPTIONS=(
  -DCMAKE_BUILD_TYPE=Release
  # Debian's -O2 instead of OpenCV's default -O3: the same optimiser decisions as libopencv-dev.
  "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG"
  -DOPENCV_VCSVERSION=4.6.0-pypi-opencv-python-4.6.0.66
  -DBUILD_SHARED_LIBS=OFF
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON          # linked into a PIE executable
  -DBUILD_LIST=core,imgproc,imgcodecs,videoio,photo,calib3d
  -DCPU_BASELINE=SSE2
  "-DCPU_DISPATCH=SSE4_1;SSE4_2;AVX;FP16;AVX2;AVX512_SKX"
  -DOPENCV_FORCE_3RDPARTY_BUILD=ON              # every codec from 3rdparty/, never the host's .so
  -DBUILD_ZLIB=ON -DBUILD_JPEG=ON -DBUILD_PNG=ON -DBUILD_WEBP=ON -DBUILD_TIFF=ON
  -DWITH_JPEG=ON -DWITH_PNG=ON -DWITH_WEBP=ON -DWITH_TIFF=ON
  -DWITH_OPENJPEG=OFF -DWITH_JASPER=OFF -DWITH_OPENEXR=OFF -DWITH_GDAL=OFF -DWITH_GDCM=OFF
  -DWITH_IMGCODEC_HDR=ON -DWITH_IMGCODEC_SUNRASTER=ON -DWITH_IMGCODEC_PXM=ON -DWITH_IMGCODEC_PFM=ON
  -DWITH_V4L=ON -DWITH_LIBV4L=OFF
  -DWITH_FFMPEG=OFF -DWITH_GSTREAMER=OFF -DWITH_1394=OFF -DWITH_GPHOTO2=OFF -DWITH_AVFOUNDATION=OFF
  -DWITH_MSMF=OFF -DWITH_DSHOW=OFF -DWITH_XINE=OFF -DWITH_ARAVIS=OFF -DWITH_OPENNI=OFF -DWITH_OPENNI2=OFF
  -DWITH_PVAPI=OFF -DWITH_XIMEA=OFF -DWITH_LIBREALSENSE=OFF -DWITH_UEYE=OFF -DWITH_ANDROID_MEDIANDK=OFF
  -DVIDEOIO_ENABLE_PLUGINS=OFF                  # no dlopen of libopencv_videoio_*.so at run time
  -DWITH_GTK=OFF -DWITH_QT=OFF -DWITH_OPENGL=OFF -DWITH_VTK=OFF -DWITH_WAYLAND=OFF -DWITH_FREETYPE=OFF
  -DWITH_IPP=OFF -DWITH_ITT=OFF -DWITH_OPENCL=OFF -DWITH_OPENCLAMDFFT=OFF -DWITH_OPENCLAMDBLAS=OFF
  -DWITH_VA=OFF -DWITH_VA_INTEL=OFF -DWITH_CUDA=OFF -DWITH_OPENVX=OFF -DWITH_HALIDE=OFF
  -DWITH_LAPACK=OFF -DWITH_EIGEN=OFF -DWITH_TBB=OFF -DWITH_OPENMP=OFF -DWITH_PTHREADS_PF=ON
  -DWITH_PROTOBUF=OFF -DWITH_QUIRC=OFF -DWITH_ADE=OFF -DWITH_TENGINE=OFF -DWITH_TIMVX=OFF
  -DWITH_CAROTENE=OFF -DWITH_KLEIDICV=OFF -DWITH_ONNX=OFF
  -DBUILD_TESTS=OFF -DBUILD_PERF_TESTS=OFF -DBUILD_EXAMPLES=OFF -DBUILD_DOCS=OFF -DBUILD_opencv_apps=OFF
  -DBUILD_JAVA=OFF -DBUILD_opencv_python2=OFF -DBUILD_opencv_python3=OFF -DBUILD_opencv_js=OFF
  -DINSTALL_C_EXAMPLES=OFF -DINSTALL_PYTHON_EXAMPLES=OFF -DINSTALL_TESTS=OFF
  -DOPENCV_GENERATE_PKGCONFIG=ON
)
STAMP_TEXT="opencv $OPENCV_VERSION from $SDIST ($SDIST_SHA256); ${CMAKE_OPTIONS[*]}"

if [ -f "$PREFIX/.stamp" ] && [ "$(cat "$PREFIX/.stamp")" = "$STAMP_TEXT" ]; then
  say "ready (cached in ${PREFIX#"$ROOT"/})"
  echo "$PREFIX"; exit 0
fi

command -v cmake >/dev/null || die "cmake not found: run scripts/setup.sh --bundle"
command -v ninja >/dev/null || die "ninja not found: run scripts/setup.sh --bundle"
command -v c++ >/dev/null || die "no C++ compiler (c++) on PATH: install g++"

# ---------------------------------------------------------------- source
downloads="$DEPS/downloads"; mkdir -p "$downloads"
tarball="$downloads/$SDIST"
if ! echo "$SDIST_SHA256  $tarball" | sha256sum -c --status 2>/dev/null; then
  say "downloading $SDIST from PyPI (OpenCV $OPENCV_VERSION source with its 3rdparty codecs)"
  curl -fL --retry 3 --connect-timeout 30 -o "$tarball.part" "$SDIST_URL" || die "download of $SDIST_URL failed"
  echo "$SDIST_SHA256  $tarball.part" | sha256sum -c --status || { rm -f "$tarball.part"; die "$SDIST: sha256 mismatch"; }
  mv "$tarball.part" "$tarball"
fi
src="$WORK/src"
if [ ! -f "$src/opencv/CMakeLists.txt" ]; then
  say "unpacking the OpenCV tree of $SDIST"
  rm -rf "$src" && mkdir -p "$src"
  # The sdist also holds the Python packaging and opencv_contrib/opencv_extra; only opencv/ is built.
  tar -xzf "$tarball" -C "$src" --strip-components=1 \
    --exclude='*/opencv/.git' \
    "${SDIST%.tar.gz}/opencv"
fi
IFS=. read -r major minor revision <<<"$OPENCV_VERSION"
version_header="$src/opencv/modules/core/include/opencv2/core/version.hpp"
for part in "MAJOR $major" "MINOR $minor" "REVISION $revision"; do
  grep -Eq "#define CV_VERSION_${part% *} +${part#* }\b" "$version_header" || die "the sdist does not carry OpenCV $OPENCV_VERSION"
done

# ---------------------------------------------------------------- configure, build, install
build="$WORK/build"
rm -rf "$PREFIX" && mkdir -p "$build"
say "configuring (log: ${build#"$ROOT"/}/configure.log)"
( cd "$build" && cmake -G Ninja "${CMAKE_OPTIONS[@]}" -DCMAKE_INSTALL_PREFIX="$PREFIX" "$src/opencv" ) \
  >"$build/configure.log" 2>&1 || { tail -30 "$build/configure.log" >&2; die "cmake configure failed"; }
# configure must not have fetched anything (no internet on build machines but PyPI and Debian).
if grep -qi 'download' "$build/CMakeDownloadLog.txt" 2>/dev/null && grep -q '#do_copy\|#do_unpack\|#cmake_download' "$build/CMakeDownloadLog.txt"; then
  die "OpenCV's configure tried to download something: see ${build#"$ROOT"/}/CMakeDownloadLog.txt"
fi
say "compiling with $JOBS job(s) under nice (log: ${build#"$ROOT"/}/build.log)"
start=$(date +%s)
nice -n 10 ninja -C "$build" -j "$JOBS" install >"$build/build.log" 2>&1 ||
  { tail -30 "$build/build.log" >&2; die "OpenCV build failed"; }
say "built and installed in $(( $(date +%s) - start )) s"
# OpenCV installs its codecs' licences but not its own nor libwebp's; the bundle ships all of them.
cp "$src/opencv/LICENSE" "$PREFIX/share/licenses/opencv4/opencv-LICENSE"
cp "$src/opencv/3rdparty/libwebp/COPYING" "$PREFIX/share/licenses/opencv4/libwebp-COPYING"
sed -n '/General configuration/,/Install to/s/^-- //p' "$build/configure.log" >"$PREFIX/build-summary.txt" || true
echo "$STAMP_TEXT" >"$PREFIX/.stamp"
echo "$PREFIX"
