#!/usr/bin/env bash
# `make run`'s server check: starts `visage serve` on a free loopback port with a fresh data directory,
# calls /health, prints the essentials, and stops the server (SIGTERM, as systemd would).
# Usage: scripts/serve-check.sh [BINARY]
set -euo pipefail
BIN="${1:-.build/release/visage}"
DATA="$(mktemp -d "${TMPDIR:-/tmp}/visage-serve-check.XXXXXX")"
LOG="$DATA/serve.log"
"$BIN" serve --port 0 --data-dir "$DATA/data" 2>"$LOG" &
PID=$!
cleanup() { kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
PORT=""
for _ in $(seq 1 100); do
  PORT="$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$LOG" | head -1)"
  [ -n "$PORT" ] && break
  kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; echo "serve-check: the server exited before listening" >&2; exit 1; }
  sleep 0.1
done
[ -n "$PORT" ] || { cat "$LOG" >&2; echo "serve-check: no 'listening on' line within 10 s" >&2; exit 1; }
HEALTH="$(curl -fsS --max-time 30 "http://127.0.0.1:$PORT/health")"
python3 - "$HEALTH" "$PORT" <<'PY'
import json, sys
h = json.loads(sys.argv[1])
ort = h["system"]["onnxruntime"]
chosen = (ort.get("accelerator") or {}).get("chosen", [])
print(f"visage serve: /health on port {sys.argv[2]}: {h['status']}, version {h['version']}, mode {h['mode']}, "
      f"ONNX Runtime {ort.get('version')} ({', '.join(chosen) or 'unavailable'}), {len(h['models_installed'])} models installed, "
      f"queue {h['queue']['queued']} waiting / {h['queue']['workers']} worker(s)")
assert h["status"] == "ok"
PY
kill -TERM "$PID"
wait "$PID"
echo "visage serve: stopped cleanly"
trap - EXIT
rm -rf "$DATA"
