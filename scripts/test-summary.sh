#!/usr/bin/env bash
# Prints one plain "N passed, N failed" line from a Swift Testing log, counting the per-test
# ✔/✘ lines (the runner's own last line names only the total).
log="$1"
passed=$(grep -E '^✔ Test ' "$log" | grep -vcE '^✔ Test run ' || true)
failed=$(grep -E '^✘ Test ' "$log" | grep -E ' failed after ' | grep -vcE '^✘ Test run ' || true)
echo "swift-testing: ${passed} passed, ${failed} failed"
