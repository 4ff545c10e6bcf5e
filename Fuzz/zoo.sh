#!/usr/bin/env bash
# Zoo benchmark (SPEC §11 "zoo recall"): time to first finding per zoo scenario, libFuzzer
# (guided) next to `gmemfuzz fuzz --unguided`, from the shipped corpus MINUS the scenario's own seed.
#
#   Fuzz/zoo.sh                          every zoo scenario, RUNS=5, CAP=60
#   RUNS=2 CAP=20 VARIANTS='lru|refcount' Fuzz/zoo.sh     a quick subset (grep -E on the file name)
#
# Environment: RUNS (runs per mode, seeds 1..RUNS), CAP (seconds per run), VARIANTS (filter),
# SKIP_BUILD=1 (reuse Fuzz/out/address-release and the release gmemfuzz), OUTDIR (Fuzz/out/zoo),
# STRICT=1 (also drop every other seed that raises the expected finding as it is once the
# variant is on, so the bug must be reached by mutation; the default keeps them, per SPEC §11),
# ONLY_EXPECTED=0 (stop at ANY first finding and count a different one as a miss; the default
# stops only at the expected signature prefix: GMEMFUZZ_STOP_ON / `fuzz --stop-on`, so another
# finding, e.g. a different invariant the same variant breaks, cannot mask the one measured).
# Output: a table on stdout, $OUTDIR/zoo.csv (one row per run), $OUTDIR/summary.csv, $OUTDIR/zoo.png.
# Runs are sequential (one core each); a run stops at its first finding.
set -euo pipefail
FUZZ_DIR="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$FUZZ_DIR/.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
RUNS="${RUNS:-5}"
CAP="${CAP:-60}"
VARIANTS="${VARIANTS:-.}"
OUTDIR="${OUTDIR:-$FUZZ_DIR/out/zoo}"
BIN_DIR="$FUZZ_DIR/out/address-release"
export SWIFT_BACKTRACE=enable=no

cd "$ROOT"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "zoo: building libFuzzer targets (Fuzz/build.sh, log $FUZZ_DIR/out-build.log) and gmemfuzz (release)"
  "$FUZZ_DIR/build.sh" >"$FUZZ_DIR/out-build.log" 2>&1 || { echo "zoo: Fuzz/build.sh failed, see $FUZZ_DIR/out-build.log" >&2; exit 1; }
  swift build -c release --product gmemfuzz >"$FUZZ_DIR/out-gmemfuzz-build.log" 2>&1 \
    || { echo "zoo: swift build failed, see $FUZZ_DIR/out-gmemfuzz-build.log" >&2; exit 1; }
fi
GM="$(swift build -c release --show-bin-path)/gmemfuzz"
[ -x "$GM" ] || { echo "zoo: $GM missing (run without SKIP_BUILD=1)" >&2; exit 1; }

rm -rf "$OUTDIR" && mkdir -p "$OUTDIR"
CSV="$OUTDIR/zoo.csv"
echo "scenario,variants,target,expected,seeds,direct_seeds,mode,run,seed,found,seconds,signature" >"$CSV"

now() { date +%s.%N; }

for gmf in "$ROOT"/Corpus/scenarios/zoo/*.gmf; do
  name="$(basename "$gmf" .gmf)"
  echo "$name" | grep -Eq -- "$VARIANTS" || continue
  variants="$(sed -n 's/^variant //p' "$gmf" | tr -s ' \n' ',' | sed 's/,$//')"
  profile="$(sed -n 's/^profile //p' "$gmf" | head -1)"; profile="${profile:-hp-v3}"
  expected="$(grep -o '=> finding:[^ ]*' "$gmf" | head -1 | sed 's/^=> finding://')"
  read -r _ target sha _rest <<<"$("$GM" corpus seed-name "$gmf")"
  if [ ! -x "$BIN_DIR/$target" ]; then
    echo "zoo: $name: skipped (no libFuzzer binary for $target)"; continue
  fi
  work="$OUTDIR/$name"
  mkdir -p "$work/base" "$work/seeds"
  cp "$ROOT/Corpus/$target"/* "$work/base/"
  # The benchmark must rediscover the bug: drop the scenario's own seed.
  [ "$sha" != - ] && rm -f "$work/base/$sha"
  # Variants on through the input header (the mutator keeps headers unless GMEMFUZZ_EXPLORE=1).
  vflags=(); IFS=',' read -ra vs <<<"$variants"; for v in "${vs[@]}"; do vflags+=(--variant "$v"); done
  "$GM" corpus set-header "$work/base" -o "$work/seeds" --profile "$profile" "${vflags[@]}" >/dev/null
  # Seeds that raise the expected finding as they are once the variant is on (other scenarios
  # that walk the same path): reported, and with STRICT=1 removed so the fuzzer must mutate.
  direct="$("$GM" run --json "$work/seeds"/* 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    if any(f["signature"].startswith(sys.argv[1]) for f in d.get("findings", [])):
        print(d["file"])' "$expected" || true)"
  ndirect="$(printf '%s' "$direct" | grep -c . || true)"
  if [ "${STRICT:-0}" = 1 ] && [ "$ndirect" -gt 0 ]; then
    printf '%s\n' "$direct" | xargs rm -f
  fi
  nseeds="$(ls "$work/seeds" | wc -l)"
  [ "$nseeds" -gt 0 ] || { echo "zoo: $name: no seeds left"; continue; }
  echo "zoo: $name ($target, $variants, profile $profile, expect $expected): $nseeds seeds without its own, $ndirect of them fire it directly${STRICT:+ (STRICT=$STRICT)}"
  maxlen="$(sed -n 's/^max_len *= *//p' "$FUZZ_DIR/options/$target.options")"
  stop=(); stopenv=()
  if [ "${ONLY_EXPECTED:-1}" = 1 ]; then stop=(--stop-on "$expected"); stopenv=(GMEMFUZZ_STOP_ON="$expected"); fi
  for k in $(seq 1 "$RUNS"); do
    # guided: libFuzzer + ASan, stops at the first crash; time = wall clock of the process.
    run="$work/guided-$k"; mkdir -p "$run/corpus" "$run/artifacts"; cp "$work/seeds"/* "$run/corpus/"
    t0="$(now)"
    env GMEMFUZZ_PROFILE="$profile" "${stopenv[@]}" timeout -k 5 $((CAP + 30)) "$BIN_DIR/$target" -seed="$k" -max_total_time="$CAP" \
      -dict="$FUZZ_DIR/$target.dict" -max_len="${maxlen:-1024}" -print_final_stats=1 \
      -artifact_prefix="$run/artifacts/" "$run/corpus" >"$run/log" 2>&1 || true
    t1="$(now)"
    secs="$(python3 -c "print(f'{$t1-$t0:.2f}')")"
    sig="$(sed -n 's/^==gmemfuzz== FINDING \([^ ]*\).*/\1/p' "$run/log" | head -1)"
    [ -z "$sig" ] && sig="$(grep -m1 -oE 'ERROR: [A-Za-z]+Sanitizer: [a-z-]+|ERROR: libFuzzer: [a-z-]+' "$run/log" | tr ' ,' '__' || true)"
    found=0; case "$sig" in "$expected"*) [ -n "$sig" ] && found=1 ;; esac
    [ $found = 1 ] || secs="$CAP"
    echo "$name,$variants,$target,$expected,$nseeds,$ndirect,guided,$k,$k,$found,$secs,$sig" >>"$CSV"
    printf '  guided   seed %-3s %s %7ss %s\n' "$k" "$([ $found = 1 ] && echo found || echo miss )" "$secs" "$sig"
    # unguided: the built-in loop without pool growth, same seeds, same variants, same cap.
    run="$work/unguided-$k"; mkdir -p "$run"
    json="$("$GM" fuzz --target "$target" --unguided --seconds "$CAP" --profile "$profile" "${vflags[@]}" \
      "${stop[@]}" --seed "$k" --json --quiet --corpus "$work/seeds" --artifacts "$run" 2>"$run/log" || true)"
    echo "$json" >"$run/summary.json"
    # The expected signature's first-find time if it was found, else the first other finding.
    read -r sig usecs < <(python3 -c '
import json, sys
d = json.loads(sys.argv[1] or "{}"); f = sorted(d.get("findings", []), key=lambda x: x["seconds"])
f = [x for x in f if x["signature"].startswith(sys.argv[2])] or f
print(f[0]["signature"], "%.2f" % f[0]["seconds"]) if f else print("-", "-")' "$json" "$expected")
    [ "$sig" = - ] && sig=""
    found=0; case "$sig" in "$expected"*) [ -n "$sig" ] && found=1 ;; esac
    [ $found = 1 ] && secs="$usecs" || secs="$CAP"
    echo "$name,$variants,$target,$expected,$nseeds,$ndirect,unguided,$k,$k,$found,$secs,$sig" >>"$CSV"
    printf '  unguided seed %-3s %s %7ss %s\n' "$k" "$([ $found = 1 ] && echo found || echo miss )" "$secs" "$sig"
  done
done

python3 "$FUZZ_DIR/zoo_report.py" "$CSV" "$CAP" "$OUTDIR"
