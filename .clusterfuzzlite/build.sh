#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: precompile_swift sets $SWIFTFLAGS for $SANITIZER
# (-parse-as-library -static-stdlib --static-swift-stdlib -sanitize=fuzzer,$SANITIZER ..., or the
# profile flags for coverage) and copies llvm-symbolizer into $OUT. Fuzz/build.sh sees $OUT and
# $SWIFTFLAGS and installs binaries, <Target>_seed_corpus.zip, <Target>.dict and <Target>.options.
. precompile_swift
cd "$SRC/gmemfuzz"
Fuzz/build.sh
