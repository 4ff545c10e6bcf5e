#!/usr/bin/env bash
# The main job, short: fuzz one target on the default profile and print exec/s and findings.
#
#   Fuzz/fuzz.sh [TARGET] [SECONDS]      default FuzzConversion, 60 s
#
# Uses libFuzzer + ASan when the toolchain has them (built by Fuzz/build.sh), else the built-in
# loop `gmemfuzz fuzz`. Environment: GMEMFUZZ_PROFILE (default hp-v3), GMEMFUZZ_VARIANT=+name,...
set -euo pipefail
FUZZ_DIR="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$FUZZ_DIR/.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
TARGET="${1:-FuzzConversion}"
SECS="${2:-60}"
export GMEMFUZZ_PROFILE="${GMEMFUZZ_PROFILE:-hp-v3}" SWIFT_BACKTRACE=enable=no

if "$FUZZ_DIR/build.sh" >"$FUZZ_DIR/out-build.log" 2>&1; then
  BIN="$FUZZ_DIR/out/address-release/$TARGET"
  WORK="$FUZZ_DIR/out/run-$TARGET"
  rm -rf "$WORK" && mkdir -p "$WORK/corpus" "$WORK/artifacts"
  cp "$ROOT/Corpus/$TARGET"/* "$WORK/corpus/" 2>/dev/null || true
  echo "fuzz.sh: libFuzzer + ASan, $TARGET, ${SECS}s, profile $GMEMFUZZ_PROFILE${GMEMFUZZ_VARIANT:+, variants $GMEMFUZZ_VARIANT}"
  set +e
  MAXLEN="$(sed -n 's/^max_len *= *//p' "$FUZZ_DIR/options/$TARGET.options")"
  "$BIN" -dict="$FUZZ_DIR/$TARGET.dict" -max_len="${MAXLEN:-1024}" -max_total_time="$SECS" -print_final_stats=1 -print_pcs=0 \
    -artifact_prefix="$WORK/artifacts/" "$WORK/corpus" 2>&1 | tee "$WORK/log" | grep -E '^#[0-9]+.*(pulse|DONE)|==gmemfuzz== FINDING|ERROR: (AddressSanitizer|LeakSanitizer)'
  set -e
  echo "---"
  echo "execs:    $(grep -E '^stat::number_of_executed_units' "$WORK/log" | awk '{print $2}')"
  echo "exec/s:   $(grep -E '^stat::average_exec_per_sec' "$WORK/log" | awk '{print $2}')"
  echo "peak rss: $(grep -E '^stat::peak_rss_mb' "$WORK/log" | awk '{print $2}') MB"
  echo "corpus:   $(ls "$WORK/corpus" | wc -l) inputs (started from $(ls "$ROOT/Corpus/$TARGET" 2>/dev/null | wc -l) seeds)"
  if grep -q '==gmemfuzz== FINDING\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer' "$WORK/log"; then
    echo "findings: $(grep -m1 -oE '==gmemfuzz== FINDING .*|ERROR: [A-Za-z]+Sanitizer.*' "$WORK/log")"
    echo "crash:    $(ls "$WORK"/artifacts/* 2>/dev/null | head -1)  (replay: swift run gmemfuzz run FILE)"
    exit 1
  fi
  echo "findings: none"
else
  echo "fuzz.sh: libFuzzer build unavailable (see Fuzz/out-build.log); using the built-in loop"
  cd "$ROOT"
  exec swift run -c release gmemfuzz fuzz --target "$TARGET" --seconds "$SECS" --profile "$GMEMFUZZ_PROFILE"
fi
