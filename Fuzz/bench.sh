#!/usr/bin/env bash
# Harness throughput under libFuzzer (SPEC §11): exec/s per target on generated 64-op inputs and on
# the shipped corpus, next to the empty target built the same way, and RSS after N executions.
#
#   Fuzz/bench.sh                 ASan release, SECONDS_PER=30 s per measurement, RUNS=1000000 for RSS
#   SECONDS_PER=10 RUNS=200000 Fuzz/bench.sh
set -euo pipefail
FUZZ_DIR="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$FUZZ_DIR/.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
SANITIZER="${SANITIZER:-address}"
SECS="${SECONDS_PER:-30}"
RUNS="${RUNS:-1000000}"
OPS="${OPS:-64}"
TARGETS=(${TARGETS:-FuzzConversion FuzzPopulate FuzzConcurrent})
export SWIFT_BACKTRACE=enable=no TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1}" GMEMFUZZ_PROFILE="${GMEMFUZZ_PROFILE:-hp-v3}"

SANITIZER="$SANITIZER" CONFIG=release "$FUZZ_DIR/build.sh" >/dev/null
OUTDIR="$FUZZ_DIR/out/$SANITIZER-release"
WORK="$FUZZ_DIR/out/bench"
rm -rf "$WORK" && mkdir -p "$WORK"
(cd "$ROOT" && swift build -c release --product gmemfuzz >/dev/null)
GMEMFUZZ="$ROOT/.build/release/gmemfuzz"

stat() { grep -E "^stat::$2" "$1" | awk '{print $2}'; }
# rss of libFuzzer's last status line
lastrss() { grep -oE 'rss: [0-9]+Mb' "$1" | tail -1 | grep -oE '[0-9]+'; }
firstrss() { grep -oE 'rss: [0-9]+Mb' "$1" | head -1 | grep -oE '[0-9]+'; }

run() { # target corpusdir label
  local t=$1 dir=$2 label=$3 log="$WORK/$1-$3.log"
  mkdir -p "$WORK/$t-$label-corpus" && cp "$dir"/* "$WORK/$t-$label-corpus/" 2>/dev/null || true
  "$OUTDIR/$t" -max_total_time="$SECS" -print_final_stats=1 -artifact_prefix="$WORK/" \
     "$WORK/$t-$label-corpus" >"$log" 2>&1 || echo "  ($t $label stopped early: see $log)"
  printf '%-18s %-14s %10s exec/s  peak rss %s MB\n' "$t" "$label" "$(stat "$log" average_exec_per_sec)" "$(stat "$log" peak_rss_mb)"
}

echo "== exec/s ($SANITIZER, release, ${SECS}s each, profile $GMEMFUZZ_PROFILE)"
mkdir -p "$WORK/empty-seed" && printf '\x01\x05' > "$WORK/empty-seed/seed"
run FuzzEmpty "$WORK/empty-seed" baseline
for t in "${TARGETS[@]}"; do
  "$GMEMFUZZ" corpus gen --target "$t" --ops "$OPS" --count 200 -o "$WORK/gen-$t" >/dev/null
  run "$t" "$WORK/gen-$t" "generated-$OPS"
  [ -d "$ROOT/Corpus/$t" ] && [ -n "$(ls -A "$ROOT/Corpus/$t")" ] && run "$t" "$ROOT/Corpus/$t" corpus
done

echo "== RSS over $RUNS executions (FuzzConversion, generated-$OPS seeds)"
log="$WORK/rss.log"
"$OUTDIR/FuzzConversion" -runs="$RUNS" -print_final_stats=1 -artifact_prefix="$WORK/" "$WORK/gen-FuzzConversion" >"$log" 2>&1 || true
echo "rss first status $(firstrss "$log") MB -> last status $(lastrss "$log") MB, peak $(stat "$log" peak_rss_mb) MB, $(stat "$log" number_of_executed_units) execs"
grep -m1 'LeakSanitizer' "$log" && echo "LEAK REPORTED (see $log)" || echo "no LeakSanitizer report"
