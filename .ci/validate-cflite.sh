#!/usr/bin/env bash
# Validates the ClusterFuzzLite / OSS-Fuzz integration locally.
#
#   .ci/validate-cflite.sh            static checks: workflows parse as YAML and name existing
#                                     scripts, CFLite inputs, .clusterfuzzlite/ recipe
#   .ci/validate-cflite.sh --build    also simulate the OSS-Fuzz build: Fuzz/build.sh with $OUT,
#                                     $SRC, $SANITIZER and precompile_swift's $SWIFTFLAGS (SPEC §10),
#                                     then check the $OUT layout (binaries, seed zips, dicts, options)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
# A fresh machine may lack PyYAML: install it (PyPI is reachable on CI machines).
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet pyyaml
python3 "$ROOT/.ci/validate-cflite.py"
[ "${1:-}" = --build ] || exit 0

OUT="${OUT:-$(mktemp -d /tmp/cfl-out.XXXXXX)}"
SAN="${SANITIZER:-address}"
# What precompile_swift exports for address/thread (google/oss-fuzz base-builder-swift).
FLAGS="-Xswiftc -parse-as-library -Xswiftc -static-stdlib --static-swift-stdlib -Xswiftc -sanitize=fuzzer,$SAN --sanitize=$SAN"
echo "validate-cflite: OSS-Fuzz-style build into $OUT"
OUT="$OUT" SRC="$ROOT/.." SANITIZER="$SAN" SWIFTFLAGS="$FLAGS" "$ROOT/Fuzz/build.sh" >"$OUT.build.log" 2>&1 \
  || { tail -20 "$OUT.build.log"; echo "validate-cflite: build FAILED (log $OUT.build.log)"; exit 1; }
status=0
for t in FuzzConversion FuzzPopulate FuzzConcurrent FuzzScenarioText FuzzTraceImport; do
  for f in "$t" "${t}_seed_corpus.zip" "$t.dict" "$t.options"; do
    [ -s "$OUT/$f" ] || { echo "validate-cflite: missing $OUT/$f"; status=1; }
  done
  [ -x "$OUT/$t" ] || { echo "validate-cflite: $OUT/$t not executable"; status=1; }
  dict="$(sed -n 's/^dict *= *//p' "$OUT/$t.options")"
  [ -z "$dict" ] || [ -f "$OUT/$dict" ] || { echo "validate-cflite: $t.options names missing $dict"; status=1; }
  n="$(unzip -Z1 "$OUT/${t}_seed_corpus.zip" | wc -l)"
  [ "$n" -eq "$(ls "$ROOT/Corpus/$t" | wc -l)" ] || { echo "validate-cflite: ${t}_seed_corpus.zip has $n files"; status=1; }
  # A statically linked target runs its seed corpus without the toolchain on the library path.
  unzip -q -o "$OUT/${t}_seed_corpus.zip" -d "$OUT/seeds-$t"
  SWIFT_BACKTRACE=enable=no LD_LIBRARY_PATH= "$OUT/$t" -runs=1 "$OUT/seeds-$t" >"$OUT/$t.seeds.log" 2>&1 \
    || { echo "validate-cflite: $t fails on its seed corpus (log $OUT/$t.seeds.log)"; status=1; }
  rm -rf "$OUT/seeds-$t"
done
[ -e "$OUT/FuzzEmpty" ] && { echo "validate-cflite: FuzzEmpty (benchmark baseline) must not be in \$OUT"; status=1; }
ls -la "$OUT"
[ $status = 0 ] && echo "validate-cflite: \$OUT layout ok ($OUT)" || echo "validate-cflite: \$OUT layout FAILED"
exit $status
