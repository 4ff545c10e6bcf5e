#!/usr/bin/env bash
# A long libFuzzer campaign on one machine: fork mode, persistent corpus, periodic merge, triage.
#
#   Fuzz/campaign.sh TARGET [--hours H] [--jobs J] [--merge-every MIN]
#     TARGET          FuzzConversion, FuzzPopulate, FuzzConcurrent, FuzzScenarioText, FuzzTraceImport
#     --hours H       wall time of this invocation (default 1; fractions allowed, e.g. 0.05 = 3 min)
#     --jobs J        libFuzzer -fork=J worker processes (default: number of cores)
#     --merge-every M minutes between corpus merges (default 30)
#     --triage-only   no fuzzing: print the triage summary of what is in crashes/
#
# State lives in Fuzz/campaigns/<TARGET>/ (gitignored): corpus/ (libFuzzer's working corpus),
# merged/ (coverage-minimized with -merge=1 after every segment), crashes/ (crash-*, timeout-*,
# oom-*), logs/, triage.txt. Stop with Ctrl-C (or SIGTERM) at any time: the running segment is
# stopped, the corpus merged and the crashes triaged. Run the same command again to resume.
#
# Environment: SANITIZER=address|thread (default address; thread also sets GMEMFUZZ_MODE=threads
# for FuzzConcurrent), GMEMFUZZ_PROFILE / GMEMFUZZ_VARIANT / GMEMFUZZ_EXPLORE (job settings,
# README "Job settings"), SKIP_BUILD=1 (reuse Fuzz/out/<san>-release).
#
# Promote new inputs into the shipped corpus by hand, never automatically (Corpus/<Target>/ is
# generated from Corpus/scenarios by `gmemfuzz corpus build`): turn an interesting input into a
# scenario with `gmemfuzz fmt Fuzz/campaigns/T/merged/<sha1> > Corpus/scenarios/.../name.gmf`, add
# its expectations, then run `swift run gmemfuzz corpus build`.
set -euo pipefail
FUZZ_DIR="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$FUZZ_DIR/.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
TARGET="${1:-}"
[ -n "$TARGET" ] && shift || { sed -n '2,25p' "$0"; exit 2; }
HOURS=1
JOBS="$(nproc)"
MERGE_EVERY=30
while [ $# -gt 0 ]; do
  case "$1" in
    --hours) HOURS="$2"; shift ;;
    --jobs) JOBS="$2"; shift ;;
    --merge-every) MERGE_EVERY="$2"; shift ;;
    --triage-only) HOURS=0 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "campaign.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
SANITIZER="${SANITIZER:-address}"
BIN="$FUZZ_DIR/out/$SANITIZER-release/$TARGET"
DIR="$FUZZ_DIR/campaigns/$TARGET"
[ "$SANITIZER" = thread ] && DIR="$FUZZ_DIR/campaigns/$TARGET-tsan"
mkdir -p "$DIR/corpus" "$DIR/merged" "$DIR/crashes" "$DIR/logs"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "campaign: building ($SANITIZER, log $DIR/logs/build.log)"
  SANITIZER="$SANITIZER" "$FUZZ_DIR/build.sh" >"$DIR/logs/build.log" 2>&1 || { echo "campaign: build failed, see $DIR/logs/build.log" >&2; exit 1; }
fi
[ -x "$BIN" ] || { echo "campaign: no binary $BIN (unknown target, or run without SKIP_BUILD=1)" >&2; exit 2; }

# Crash subprocesses hang with Swift's backtracer on (SPEC §10); ASan/TSan must stop on a report.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-dedup_token_length=3:detect_leaks=1:abort_on_error=1:symbolize=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:abort_on_error=1}"
export GMEMFUZZ_PROFILE="${GMEMFUZZ_PROFILE:-hp-v3}"
[ "$SANITIZER" = thread ] && [ "$TARGET" = FuzzConcurrent ] && export GMEMFUZZ_MODE="${GMEMFUZZ_MODE:-threads}"

# First run: start from the shipped seeds (later runs resume from corpus/ and merged/).
if [ -z "$(ls -A "$DIR/corpus")" ] && [ -d "$ROOT/Corpus/$TARGET" ]; then
  cp "$ROOT/Corpus/$TARGET"/* "$DIR/corpus/"
fi
MAXLEN="$(sed -n 's/^max_len *= *//p' "$FUZZ_DIR/options/$TARGET.options")"
DICT=(); [ -f "$FUZZ_DIR/$TARGET.dict" ] && DICT=(-dict="$FUZZ_DIR/$TARGET.dict")
TOTAL="$(awk -v h="$HOURS" 'BEGIN { printf "%d", h * 3600 }')"
SEG_MAX=$((MERGE_EVERY * 60))
START="$(date +%s)"
FUZZ_PID=""
STOPPING=0

merge() {
  # Coverage-minimize corpus/ + merged/ into a fresh dir, then swap it in (an interrupted merge
  # leaves the previous merged/ intact).
  local tmp="$DIR/merged.new"
  rm -rf "$tmp" && mkdir -p "$tmp"
  if "$BIN" -merge=1 "${DICT[@]}" -max_len="${MAXLEN:-1024}" "$tmp" "$DIR/merged" "$DIR/corpus" >"$DIR/logs/merge.log" 2>&1; then
    rm -rf "$DIR/merged" && mv "$tmp" "$DIR/merged"
    echo "campaign: merged: $(ls "$DIR/merged" | wc -l) inputs (corpus/ has $(ls "$DIR/corpus" | wc -l))"
  else
    echo "campaign: merge failed (see $DIR/logs/merge.log); merged/ unchanged"
  fi
}

summary() {
  local n; n="$(find "$DIR/crashes" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)"
  {
    echo "campaign summary: $TARGET ($SANITIZER, profile $GMEMFUZZ_PROFILE${GMEMFUZZ_VARIANT:+, variants $GMEMFUZZ_VARIANT}), $(( $(date +%s) - START )) s this run, $JOBS jobs"
    grep -h '^#[0-9]*: cov:' "$DIR"/logs/fuzz-*.log 2>/dev/null | tail -1 | sed 's/^/  last status: /' || true
    echo "  corpus: $(ls "$DIR/corpus" | wc -l) inputs, merged: $(ls "$DIR/merged" | wc -l), crash files: $n"
    if [ "$n" -gt 0 ]; then
      GM="$(cd "$ROOT" && swift build -c release --show-bin-path 2>/dev/null)/gmemfuzz"
      # (An unknown subcommand's --help prints the top-level help: look for triage in the list.)
      if [ -x "$GM" ] && "$GM" --help 2>/dev/null | grep -qE '^ +triage( |$)'; then
        vflags=(); IFS=',' read -ra vs <<<"${GMEMFUZZ_VARIANT:-}"; for v in "${vs[@]}"; do [ -n "$v" ] && vflags+=(--variant "$v"); done
        echo "  gmemfuzz triage $DIR/crashes:"
        (cd "$ROOT" && "$GM" triage "$DIR/crashes" --fuzzer "$BIN" --profile "$GMEMFUZZ_PROFILE" "${vflags[@]}" 2>&1 | sed 's/^/    /') || true
      else
        # No `gmemfuzz triage` in this build: replay each file once with the target itself (same
        # job settings, so variants and sanitizer reports reproduce too) and group by signature.
        echo "  grouped by replay signature (count, signature, smallest file):"
        for f in "$DIR"/crashes/*; do
          [ -f "$f" ] || continue
          sig="$(timeout -k 5 60 "$BIN" -runs=1 "$f" 2>&1 | grep -m1 -oE '==gmemfuzz== FINDING [^ ]+|SUMMARY: [A-Za-z]+Sanitizer: [^ ]+( [^ ]+)?|ERROR: libFuzzer: [a-z-]+' || true)"
          sig="${sig#==gmemfuzz== FINDING }"; sig="${sig// /_}"
          echo "$(stat -c %s "$f") ${sig:-no-crash-on-replay} $f"
        done | sort -k2,2 -k1,1n | awk '{ c[$2]++; if (!($2 in s)) s[$2] = $3 } END { for (k in c) printf "    %5d  %s  %s\n", c[k], k, s[k] }' | sort -rn
      fi
    fi
  } | tee "$DIR/triage.txt"
}

on_signal() {
  STOPPING=1
  echo; echo "campaign: stopping (signal); merging and triaging"
  [ -n "$FUZZ_PID" ] && kill -TERM "$FUZZ_PID" 2>/dev/null || true
}
trap on_signal INT TERM

echo "campaign: $TARGET, $TOTAL s, -fork=$JOBS, corpus $DIR/corpus ($(ls "$DIR/corpus" | wc -l) inputs), crashes $DIR/crashes"
seg=0
while [ "$STOPPING" = 0 ]; do
  left=$(( START + TOTAL - $(date +%s) ))
  [ "$left" -le 0 ] && break
  secs=$(( left < SEG_MAX ? left : SEG_MAX ))
  seg=$((seg + 1))
  log="$DIR/logs/fuzz-$(date +%Y%m%d-%H%M%S).log"
  echo "campaign: segment $seg, ${secs} s (log $log)"
  # -ignore_crashes: keep fuzzing after a finding (fork mode); crash files go to crashes/.
  "$BIN" -fork="$JOBS" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -max_total_time="$secs" \
    "${DICT[@]}" -max_len="${MAXLEN:-1024}" -print_final_stats=1 -print_funcs=0 \
    -artifact_prefix="$DIR/crashes/" "$DIR/corpus" >"$log" 2>&1 &
  FUZZ_PID=$!
  wait "$FUZZ_PID" || true
  # `wait` returns early on a trapped signal: let the fork server finish its shutdown.
  while kill -0 "$FUZZ_PID" 2>/dev/null; do sleep 1; done
  FUZZ_PID=""
  grep -E '^#[0-9]+: cov:' "$log" | tail -1 | sed 's/^/campaign: /' || true
  merge
done
trap - INT TERM
summary
