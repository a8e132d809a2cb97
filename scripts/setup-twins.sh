#!/usr/bin/env bash
# Makes runnable random-weight "twins" of models whose weights we cannot get (inswapper_128,
# ArcFace w600k_r50, SCRFD det_10g, GFPGAN v1.4) for the plumbing/equivalence tests, with shared/tools/twin.py and seed 0.
# Output: .deps/twins/*.onnx (git-ignored). Needs python3 + pip (onnx and numpy are installed into
# .deps/pylib, pinned, so the filled weights are the ones the committed fixtures were made with).
# Idempotent: files already present with the expected sha256 are kept.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${VISAGE_SHARED:-$ROOT/../shared}"
OUT="$ROOT/.deps/twins"
PYLIB="$ROOT/.deps/pylib"
TWIN="$SHARED/tools/twin.py"
say() { printf 'setup-twins: %s\n' "$*"; }

[ -f "$TWIN" ] || { say "no $TWIN (shared/ is not beside the checkout): twins not made; the tests that need them will say so"; exit 0; }
mkdir -p "$OUT"
if ! PYTHONPATH="$PYLIB" python3 -c 'import onnx, numpy' 2>/dev/null; then
  say "installing onnx and numpy into .deps/pylib"
  python3 -m pip install -q --disable-pip-version-check --target "$PYLIB" "onnx==1.23.2" "numpy==2.4.6"
fi
fill() {   # graph name, output name, expected sha256
  local graph="$SHARED/models/twins/$1" out="$OUT/$2" want="$3"
  if [ -f "$out" ] && [ "$(sha256sum "$out" | cut -d' ' -f1)" = "$want" ]; then return; fi
  say "filling $2 (seed 0)"
  PYTHONPATH="$PYLIB" python3 "$TWIN" fill "$graph" "$out.partial" --seed 0 >/dev/null
  local got; got="$(sha256sum "$out.partial" | cut -d' ' -f1)"
  [ "$got" = "$want" ] || say "warning: $2 sha256 $got differs from the fixture's $want (different numpy/onnx?)"
  mv "$out.partial" "$out"
}
fill inswapper_128_twin.graph.onnx inswapper_128_twin.onnx 8088ef08d77cc06fb2b2bc6bfb3e09ba9a65f3933b4cf80f7f0ee6eabb2006a0
fill w600k_r50_twin.graph.onnx w600k_r50_twin.onnx 66121093d66dbe8e21e01a4890cd78cd386ba7366e5a746fcfbe215a7d15b9d9
fill det_10g_twin.graph.onnx det_10g_twin.onnx bf6ff78b265b46c6f6da0bfcca7d4fee159b25339ca0a68755ad3af2f3c5e3d1
fill GFPGANv1.4_twin.graph.onnx GFPGANv1.4_twin.onnx e1a3627de2ef54edcbffcd9fdee077f1cc5c7bb1dcae828c44569e1edcd61518
say "ready in .deps/twins"
