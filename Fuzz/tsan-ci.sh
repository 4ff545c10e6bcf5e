#!/usr/bin/env bash
# TSan fuzzing step of .github/workflows/cflite_tsan.yml (the ClusterFuzzLite action rejects
# `thread`). Expects `SANITIZER=thread Fuzz/build.sh` to have run.
#
#   Fuzz/tsan-ci.sh STORAGE_DIR SECONDS_PER_TARGET
#
# Seeds: STORAGE_DIR/corpus-tsan/<T>/ + the ASan batch corpus STORAGE_DIR/corpus/<T>/ + Corpus/<T>/.
# The coverage-minimized result goes back to STORAGE_DIR/corpus-tsan/<T>/; crashes to
# Fuzz/out/tsan-ci/crashes/. Exit 1 when a target crashed. TARGETS (default FuzzConcurrent: the
# only target that runs real threads, GMEMFUZZ_MODE=threads).
set -euo pipefail
FUZZ_DIR="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$FUZZ_DIR/.." && pwd)"
STORAGE="${1:?storage dir}"
SECS="${2:-600}"
TARGETS="${TARGETS:-FuzzConcurrent}"
BIN_DIR="$FUZZ_DIR/out/thread-release"
WORK="$FUZZ_DIR/out/tsan-ci"
export SWIFT_BACKTRACE=enable=no
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:abort_on_error=1}"
export GMEMFUZZ_MODE="${GMEMFUZZ_MODE:-threads}"
mkdir -p "$WORK/crashes"
status=0
for t in $TARGETS; do
  corpus="$WORK/$t/corpus"; out="$STORAGE/corpus-tsan/$t"
  rm -rf "$corpus" && mkdir -p "$corpus" "$out"
  for d in "$out" "$STORAGE/corpus/$t" "$ROOT/Corpus/$t"; do
    [ -d "$d" ] && find "$d" -maxdepth 1 -type f -exec cp {} "$corpus/" \;
  done
  maxlen="$(sed -n 's/^max_len *= *//p' "$FUZZ_DIR/options/$t.options")"
  echo "tsan-ci: $t, $SECS s, $(ls "$corpus" | wc -l) seeds"
  if ! "$BIN_DIR/$t" -dict="$FUZZ_DIR/$t.dict" -max_len="${maxlen:-1024}" -max_total_time="$SECS" \
      -print_final_stats=1 -artifact_prefix="$WORK/crashes/" "$corpus" >"$WORK/$t.log" 2>&1; then
    status=1
    echo "tsan-ci: $t: crash"; grep -m3 '==gmemfuzz== FINDING\|WARNING: ThreadSanitizer\|ERROR: ' "$WORK/$t.log" || true
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$WORK/$t.log" || true
  tmp="$WORK/$t/merged"; rm -rf "$tmp" && mkdir -p "$tmp"
  "$BIN_DIR/$t" -merge=1 -max_len="${maxlen:-1024}" "$tmp" "$corpus" >"$WORK/$t.merge.log" 2>&1 \
    && { rm -rf "$out" && mkdir -p "$out" && cp "$tmp"/* "$out/" 2>/dev/null || true; }
  echo "tsan-ci: $t: stored $(ls "$out" | wc -l) inputs in $out"
done
exit $status
