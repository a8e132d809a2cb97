#!/usr/bin/env bash
# Regenerates Sources/VisageRuntime/ONNX/onnx.pb.swift (Swift types for the ONNX protobufs:
# Onnx_ModelProto, Onnx_GraphProto, Onnx_NodeProto, Onnx_TensorProto, ...).
#
# The generated file is committed; neither the build nor CI runs this script. Run it by hand
# only to move to another onnx.proto or swift-protobuf version (keep SWIFT_PROTOBUF_VERSION
# equal to the version Package.swift resolves, or the generated code may not compile).
#
# Steps (every one skipped when its result is already there, so reruns are cheap):
#   1. protoc from Debian's protobuf-compiler (apt-get install, as root or via sudo).
#   2. protoc-gen-swift built from swift-protobuf $SWIFT_PROTOBUF_VERSION (swift build -c release,
#      ~10 min on 2 cores the first time; cached in $WORK_DIR afterwards).
#   3. onnx.proto taken from the onnx $ONNX_VERSION wheel on PyPI (pip download --no-deps).
#   4. protoc --swift_out with Visibility=Public, plus a provenance comment on line 1.
#
# Usage: scripts/gen_onnx_proto.sh [--plugin PATH/TO/protoc-gen-swift] [--out FILE]
#   --plugin  use an already built protoc-gen-swift (must be $SWIFT_PROTOBUF_VERSION) instead of building one
#   --out     write somewhere else than Sources/VisageRuntime/ONNX/onnx.pb.swift
# Environment overrides:
#   ONNX_VERSION             onnx wheel to take onnx.proto from        (default 1.23.2)
#   SWIFT_PROTOBUF_VERSION   tag of swift-protobuf to build the plugin (default 1.39.0)
#   SWIFT_PROTOBUF_URL       git URL of swift-protobuf                 (default https://github.com/apple/swift-protobuf)
#   WORK_DIR                 scratch/cache dir, outside the repo       (default ${TMPDIR:-/tmp}/visage-gen-onnx-proto)
set -euo pipefail

ONNX_VERSION="${ONNX_VERSION:-1.23.2}"
SWIFT_PROTOBUF_VERSION="${SWIFT_PROTOBUF_VERSION:-1.39.0}"
SWIFT_PROTOBUF_URL="${SWIFT_PROTOBUF_URL:-https://github.com/apple/swift-protobuf}"
WORK_DIR="${WORK_DIR:-${TMPDIR:-/tmp}/visage-gen-onnx-proto}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_FILE="$ROOT/Sources/VisageRuntime/ONNX/onnx.pb.swift"
PLUGIN=""

while [ $# -gt 0 ]; do
  case "$1" in
    --plugin) PLUGIN="${2:?--plugin needs a path}"; shift 2 ;;
    --out) OUT_FILE="${2:?--out needs a path}"; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "gen_onnx_proto: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'gen_onnx_proto: %s\n' "$*"; }
die() { printf 'gen_onnx_proto: error: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root to run: $*"; fi; }

mkdir -p "$WORK_DIR"

# ---------------------------------------------------------------- 1. protoc
if ! command -v protoc >/dev/null; then
  say "installing protobuf-compiler (apt)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler
fi
PROTOC_VERSION="$(protoc --version | awk '{print $NF}')"
say "protoc $PROTOC_VERSION"

# ---------------------------------------------------------------- 2. protoc-gen-swift
if [ -z "$PLUGIN" ]; then
  SRC="$WORK_DIR/swift-protobuf-$SWIFT_PROTOBUF_VERSION"
  PLUGIN="$SRC/.build/release/protoc-gen-swift"
  if [ ! -x "$PLUGIN" ]; then
    if [ ! -d "$SRC/.git" ]; then
      say "cloning swift-protobuf $SWIFT_PROTOBUF_VERSION"
      git -c advice.detachedHead=false clone --quiet --depth 1 --branch "$SWIFT_PROTOBUF_VERSION" "$SWIFT_PROTOBUF_URL" "$SRC"
    fi
    say "building protoc-gen-swift (swift build -c release; slow the first time)"
    (cd "$SRC" && swift build -c release --product protoc-gen-swift)
  fi
fi
[ -x "$PLUGIN" ] || die "protoc-gen-swift not found at $PLUGIN"
PLUGIN_VERSION="$("$PLUGIN" --version 2>/dev/null | awk '{print $NF}')"
[ "$PLUGIN_VERSION" = "$SWIFT_PROTOBUF_VERSION" ] \
  || die "protoc-gen-swift is $PLUGIN_VERSION, expected $SWIFT_PROTOBUF_VERSION"
say "protoc-gen-swift $PLUGIN_VERSION"

# ---------------------------------------------------------------- 3. onnx.proto
PROTO_DIR="$WORK_DIR/onnx-$ONNX_VERSION"
if [ ! -f "$PROTO_DIR/onnx.proto" ]; then
  say "downloading the onnx $ONNX_VERSION wheel (PyPI) for onnx.proto"
  mkdir -p "$PROTO_DIR/wheel"
  python3 -m pip download --quiet --no-deps --only-binary=:all: "onnx==$ONNX_VERSION" -d "$PROTO_DIR/wheel"
  WHEEL="$(ls "$PROTO_DIR"/wheel/onnx-"$ONNX_VERSION"-*.whl | head -n1)"
  python3 - "$WHEEL" "$PROTO_DIR/onnx.proto" <<'PY'
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    with open(dest, "wb") as f:
        f.write(z.read("onnx/onnx.proto"))
PY
fi
grep -q '^package onnx;' "$PROTO_DIR/onnx.proto" || die "unexpected onnx.proto (no 'package onnx;')"

# ---------------------------------------------------------------- 4. generate
GEN_DIR="$(mktemp -d "$WORK_DIR/gen.XXXXXX")"
trap 'rm -rf "$GEN_DIR"' EXIT
(cd "$PROTO_DIR" && protoc \
  --plugin=protoc-gen-swift="$PLUGIN" \
  --swift_out="$GEN_DIR" \
  --swift_opt=Visibility=Public \
  --swift_opt=FileNaming=DropPath \
  onnx.proto)
[ -f "$GEN_DIR/onnx.pb.swift" ] || die "protoc produced no onnx.pb.swift"

mkdir -p "$(dirname "$OUT_FILE")"
{
  printf '// Generated once by scripts/gen_onnx_proto.sh from onnx.proto (onnx %s) with protoc %s and protoc-gen-swift %s. Do not edit; regenerate with that script.\n' \
    "$ONNX_VERSION" "$PROTOC_VERSION" "$PLUGIN_VERSION"
  cat "$GEN_DIR/onnx.pb.swift"
} > "$OUT_FILE.tmp"
mv "$OUT_FILE.tmp" "$OUT_FILE"
say "wrote $OUT_FILE ($(wc -l < "$OUT_FILE") lines)"
