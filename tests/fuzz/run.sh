#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined), linking the
# util + engine extract sources directly, and runs each for a bounded time.
#   FUZZ_TIME  seconds per target (default 60)    FUZZ_BUILD  output dir (default build/fuzz)
# Exit: 0 no crash, 1 a crash/leak/timeout (the reproducer is in $FUZZ_BUILD/<target>/),
# 77 when clang or libFuzzer's runtime is missing (install clang: scripts/install-deps.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
FUZZ_TIME=${FUZZ_TIME:-60}
OUT=${FUZZ_BUILD:-$ROOT/build/fuzz}
CLANG=${CLANG:-clang}

if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "fuzz: clang not found; installing it (scripts/install-deps.sh, DHG_DEPS_FUZZ=1)"
	DHG_DEPS_MINIMAL=1 DHG_DEPS_FUZZ=1 bash scripts/install-deps.sh || true
fi
if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "fuzz: clang not found and could not be installed; skipping"; exit 77
fi
mkdir -p "$OUT"
probe=$OUT/probe.c
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}' >"$probe"
if ! "$CLANG" -fsanitize=fuzzer "$probe" -o "$OUT/probe" 2>"$OUT/probe.log"; then
	echo "fuzz: clang cannot link libFuzzer's runtime (libclang_rt.fuzzer missing?): $(head -n 3 "$OUT/probe.log")"
	exit 77
fi

PKGS="yaml-0.1 jansson"
CFLAGS="-std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Iinternal -I. -pthread $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -lssl -lcrypto -lm -pthread"
SRCS="$(ls internal/util/*.c) internal/engine/objects.c $(ls internal/engine/extract/*.c)"

rc=0
for target in yaml; do
	bin=$OUT/fuzz_$target
	echo "fuzz: building $bin"
	# shellcheck disable=SC2086
	if ! "$CLANG" $CFLAGS -o "$bin" "tests/fuzz/fuzz_$target.c" $SRCS $LIBS; then
		echo "fuzz: build of fuzz_$target failed"; exit 1
	fi
	corpus=$OUT/corpus_$target
	mkdir -p "$corpus" "$OUT/$target"
	cp -n tests/fuzz/corpus/$target/* "$corpus/" 2>/dev/null || true
	echo "fuzz: running fuzz_$target for ${FUZZ_TIME}s (corpus $corpus)"
	(cd "$OUT/$target" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		"$bin" -max_total_time="$FUZZ_TIME" -max_len=16384 -timeout=20 -rss_limit_mb=2048 \
		-print_final_stats=1 "$corpus") >"$OUT/fuzz_$target.log" 2>&1
	r=$?
	grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$OUT/fuzz_$target.log" | sed 's/^/    /'
	if [ $r -ne 0 ]; then
		echo "fuzz: fuzz_$target FAILED (rc=$r); see $OUT/fuzz_$target.log and crash-* in $OUT/$target/"
		grep -E 'ERROR|SUMMARY|runtime error' "$OUT/fuzz_$target.log" | head -n 10 | sed 's/^/    /'
		rc=1
	else
		echo "fuzz: fuzz_$target ok"
	fi
done
exit $rc
