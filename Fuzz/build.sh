#!/usr/bin/env bash
# Builds the libFuzzer targets (SPEC §10).
#
#   Fuzz/build.sh                      ASan, release, into Fuzz/out/
#   SANITIZER=thread Fuzz/build.sh     TSan
#   CONFIG=debug Fuzz/build.sh         debug build
#   Fuzz/build.sh --run-regressions    build, then replay Corpus/<target>/ and Fuzz/FailCases/<target>/
#                                      (TSan: also Fuzz/FailCases-tsan/<target>/ in threads mode)
#   Fuzz/build.sh --smoke SECONDS      build, then fuzz each target for SECONDS on its seed corpus
#
# Under OSS-Fuzz / ClusterFuzzLite ($OUT and $SWIFTFLAGS set by precompile_swift) it builds with
# their flags and installs binaries, <target>_seed_corpus.zip, .dict and .options into $OUT.
set -euo pipefail
FUZZ_DIR="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$FUZZ_DIR/.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
SANITIZER="${SANITIZER:-address}"
CONFIG="${CONFIG:-release}"
TARGETS=(FuzzConversion FuzzPopulate FuzzConcurrent FuzzScenarioText FuzzTraceImport FuzzEmpty)
# Targets that replay corpora / get installed with seeds (FuzzEmpty is the benchmark baseline).
REAL_TARGETS=(FuzzConversion FuzzPopulate FuzzConcurrent FuzzScenarioText FuzzTraceImport)
RUN_REGRESSIONS=0
SMOKE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --run-regressions) RUN_REGRESSIONS=1 ;;
    --smoke) SMOKE="$2"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

OSSFUZZ=0
[ -n "${OUT:-}" ] && [ -n "${SWIFTFLAGS:-}" ] && OSSFUZZ=1
case "$SANITIZER" in
  address|thread) ;;
  # The ClusterFuzzLite coverage job: precompile_swift put the profile flags into $SWIFTFLAGS.
  coverage) [ "$OSSFUZZ" = 1 ] || { echo "build.sh: SANITIZER=coverage needs precompile_swift's \$SWIFTFLAGS and \$OUT" >&2; exit 2; } ;;
  *) echo "build.sh: SANITIZER must be address or thread (Swift on Linux has no UBSan/MSan)" >&2; exit 2 ;;
esac

SCRATCH=()
if [ "$OSSFUZZ" = 1 ]; then
  # OSS-Fuzz / ClusterFuzzLite: precompile_swift's flags (-parse-as-library, -static-stdlib,
  # -sanitize=fuzzer,$SANITIZER ...). The package is tools-version 5.3 so the entry points link.
  MODE=ossfuzz
  DEST="$OUT"
  # shellcheck disable=SC2086
  (cd "$FUZZ_DIR" && swift build -c "$CONFIG" $SWIFTFLAGS)
else
  MODE=local
  DEST="$FUZZ_DIR/out/$SANITIZER-$CONFIG"
  SCRATCH=(--scratch-path "$FUZZ_DIR/.build-$SANITIZER-$CONFIG")
  # Two -sanitize= flags from SwiftPM would leave only the last one in effect: pass the
  # combined swiftc flag explicitly (SPEC §10).
  # -sanitize=fuzzer defaults to edge,trace-cmp,inline-8bit-counters,pc-table. trace-cmp calls
  # a hook on every comparison (the invariant checker's loops are full of them): 2-3x fewer
  # exec/s, for comparison operands our op-level mutator does not need. TRACE_CMP=1 keeps it.
  COV=(-Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table)
  [ "${TRACE_CMP:-0}" = 1 ] && COV=()
  (cd "$FUZZ_DIR" && swift build -c "$CONFIG" "${SCRATCH[@]}" \
      --sanitize=fuzzer --sanitize="$SANITIZER" \
      -Xswiftc -sanitize=fuzzer,"$SANITIZER" "${COV[@]}" -Xswiftc -parse-as-library)
fi
# shellcheck disable=SC2086
BIN_DIR="$(cd "$FUZZ_DIR" && swift build -c "$CONFIG" "${SCRATCH[@]}" ${SWIFTFLAGS:-} --show-bin-path)"
mkdir -p "$DEST"
# Everything in $OUT that is executable gets fuzzed there: leave the benchmark baseline out.
[ "$MODE" = ossfuzz ] && TARGETS=("${REAL_TARGETS[@]}")

for t in "${TARGETS[@]}"; do
  cp "$BIN_DIR/$t" "$DEST/$t"
done
for t in "${REAL_TARGETS[@]}"; do
  [ -f "$FUZZ_DIR/$t.dict" ] && cp "$FUZZ_DIR/$t.dict" "$DEST/$t.dict"
  cp "$FUZZ_DIR/options/$t.options" "$DEST/$t.options"
  rm -f "$DEST/${t}_seed_corpus.zip"
  if [ -d "$ROOT/Corpus/$t" ] && [ -n "$(ls -A "$ROOT/Corpus/$t")" ]; then
    (cd "$ROOT/Corpus/$t" && zip -q -j "$DEST/${t}_seed_corpus.zip" ./*)
  fi
done
echo "build.sh: $MODE build ($SANITIZER, $CONFIG) -> $DEST"
ls "$DEST"

export SWIFT_BACKTRACE=enable=no
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1}"

if [ "$RUN_REGRESSIONS" = 1 ]; then
  status=0
  for t in "${REAL_TARGETS[@]}"; do
    inputs=()
    for d in "$ROOT/Corpus/$t" "$FUZZ_DIR/FailCases/$t"; do
      [ -d "$d" ] || continue
      for f in "$d"/*; do
        [ -f "$f" ] || continue
        case "$f" in *.expect) continue ;; esac
        if [ -f "$f.expect" ]; then
          # A reproducer of an open finding: it must still crash with its signature.
          want="$(tr -d '[:space:]' < "$f.expect")"
          if "$DEST/$t" -runs=1 "$f" >"$DEST/$t.expect.log" 2>&1; then
            echo "regressions: $t: $(basename "$f") no longer raises $want"; status=1
          elif ! grep -q "==gmemfuzz== FINDING $want" "$DEST/$t.expect.log"; then
            echo "regressions: $t: $(basename "$f") raises $(grep -m1 -o '==gmemfuzz== FINDING .*' "$DEST/$t.expect.log" || echo 'a crash'), expected $want"; status=1
          fi
          continue
        fi
        inputs+=("$f")
      done
    done
    [ ${#inputs[@]} -eq 0 ] && { echo "regressions: $t: no inputs"; continue; }
    if "$DEST/$t" -runs=1 "${inputs[@]}" >"$DEST/$t.regressions.log" 2>&1; then
      echo "regressions: $t: ${#inputs[@]} inputs ok"
    else
      echo "regressions: $t: FAILED (see $DEST/$t.regressions.log)"; status=1
      grep -m5 '==gmemfuzz==\|ERROR' "$DEST/$t.regressions.log" || true
    fi
  done
  # TSan only: Fuzz/FailCases-tsan/<target>/<input> runs in threads mode (GMEMFUZZ_MODE=threads)
  # and must raise the TSan report named in <input>.expect (e.g. "data race"): a variant that
  # drops a kernel lock is a race on model state. A race shows on some runs only, so the input
  # is replayed up to TSAN_RACE_RUNS times (halt_on_error=1 stops at the first report).
  if [ "$SANITIZER" = thread ]; then
    for t in "${REAL_TARGETS[@]}"; do
      d="$FUZZ_DIR/FailCases-tsan/$t"
      [ -d "$d" ] || continue
      for f in "$d"/*; do
        case "$f" in *.expect|*.gmf) continue ;; esac
        [ -f "$f.expect" ] || continue
        want="$(tr -d '\n' < "$f.expect")"
        reps=(); for _ in $(seq "${TSAN_RACE_RUNS:-300}"); do reps+=("$f"); done
        if GMEMFUZZ_MODE=threads "$DEST/$t" -runs=1 "${reps[@]}" >"$DEST/$t.tsan-race.log" 2>&1; then
          echo "regressions: $t: $(basename "$f") raised no TSan report in ${#reps[@]} runs, expected $want"; status=1
        elif grep -qE "WARNING: ThreadSanitizer: $want" "$DEST/$t.tsan-race.log"; then
          echo "regressions: $t: $(basename "$f") raises TSan $want ($(grep -c '^Running: ' "$DEST/$t.tsan-race.log") runs)"
        else
          echo "regressions: $t: $(basename "$f") failed without TSan $want (see $DEST/$t.tsan-race.log)"; status=1
        fi
      done
    done
  fi
  [ $status = 0 ] || exit 1
fi

if [ "$SMOKE" != 0 ]; then
  status=0
  for t in "${REAL_TARGETS[@]}"; do
    work="$DEST/smoke-$t"
    rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
    [ -d "$ROOT/Corpus/$t" ] && cp "$ROOT/Corpus/$t"/* "$work/corpus/" 2>/dev/null || true
    dict=(); [ -f "$DEST/$t.dict" ] && dict=(-dict="$DEST/$t.dict")
    dict+=(-max_len="$(sed -n 's/^max_len *= *//p' "$DEST/$t.options")")
    if GMEMFUZZ_PROFILE="${GMEMFUZZ_PROFILE:-hp-v3}" "$DEST/$t" "${dict[@]}" -seed="${SMOKE_SEED:-1}" -max_total_time="$SMOKE" -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1; then
      echo "smoke: $t: $(grep -E '^stat::number_of_executed_units' "$work/log" | awk '{print $2}') execs, $(grep -E '^stat::average_exec_per_sec' "$work/log" | awk '{print $2}') exec/s, peak rss $(grep -E '^stat::peak_rss_mb' "$work/log" | awk '{print $2}') MB, no finding"
    else
      echo "smoke: $t: FINDING (log: $work/log)"; status=1
      grep -m3 '==gmemfuzz== FINDING\|ERROR: AddressSanitizer\|WARNING: ThreadSanitizer' "$work/log" || true
    fi
  done
  [ $status = 0 ] || exit 1
fi
