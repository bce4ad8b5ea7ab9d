#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined), linking the
# sources each target needs directly, and runs each for a bounded time.
#   FUZZ_TIME     seconds per target (default 60)
#   FUZZ_TOTAL    if set, seconds for all targets together (split evenly; overrides FUZZ_TIME)
#   FUZZ_TARGETS  space-separated subset (default: all below)   FUZZ_BUILD  output dir (default build/fuzz)
# Targets (tests/fuzz/fuzz_<name>.c, seed corpus tests/fuzz/corpus/<name>/):
#   yaml           untrusted YAML -> objects -> normalize (engine)
#   oci_auth       registry WWW-Authenticate challenges, Docker config / dockerconfigjson Secrets,
#                  oci:// references, version -> tag (output/oci)
#   kube_watch     watch event streams, whole vs chunked (kube)
#   kube_selector  label selector strings and LabelSelector JSON (kube)
#   kubeconfig     kubeconfig files, the YAML->JSON and base64 helpers (kube)
#   webhook        push-webhook bodies and signature headers (httpserver)
#   git_secret     git credential Secrets (output/git)
# Known crashes found in others' code are kept under tests/fuzz/crashes/<target>/ (not run here;
# replay one with: $FUZZ_BUILD/fuzz_<target> tests/fuzz/crashes/<target>/<file>).
# Exit: 0 no crash, 1 a crash/leak/timeout (the reproducer is in $FUZZ_BUILD/<target>/),
# 77 when clang or libFuzzer's runtime is missing (install clang: scripts/install-deps.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
FUZZ_TIME=${FUZZ_TIME:-60}
OUT=${FUZZ_BUILD:-$ROOT/build/fuzz}
CLANG=${CLANG:-clang}
ALL_TARGETS="yaml oci_auth kube_watch kube_selector kubeconfig webhook git_secret"
TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}

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
if [ -n "${FUZZ_TOTAL:-}" ]; then
	n=$(wc -w <<<"$TARGETS")
	FUZZ_TIME=$(( FUZZ_TOTAL / n ))
	[ "$FUZZ_TIME" -ge 1 ] || FUZZ_TIME=1
fi

UTIL=$(echo internal/util/*.c)
# libarchive is loaded at run time (internal/util/dl.h): its SONAME is compiled in, as by the Makefile
DL_CFLAGS="-DDHG_LIBARCHIVE_SONAME=\"$(bash scripts/soname.sh libarchive)\""
# target -> "pkg-config packages|sources|extra libs"
target_spec() {
	case $1 in
	yaml) echo "yaml-0.1 jansson|$UTIL internal/engine/objects.c $(echo internal/engine/extract/*.c)|" ;;
	oci_auth) echo "yaml-0.1 jansson libarchive|$UTIL internal/output/oci/ociout_auth.c internal/output/oci/ociout_manifest.c internal/output/package/pkgchart.c internal/output/package/pkgchart_dl.c internal/engine/objects.c|" ;;
	kube_watch | kube_selector | kubeconfig) echo "yaml-0.1 jansson libcurl|$UTIL $(echo internal/kube/*.c)|" ;;
	webhook) echo "jansson libwebsockets|$UTIL $(echo internal/httpserver/*.c)|" ;;
	git_secret) echo "jansson libgit2|$UTIL internal/output/git/gitout_plan.c|" ;;
	*) return 1 ;;
	esac
}

rc=0
for target in $TARGETS; do
	spec=$(target_spec "$target") || { echo "fuzz: unknown target $target (known: $ALL_TARGETS)"; exit 2; }
	IFS='|' read -r pkgs srcs extra <<<"$spec"
	bin=$OUT/fuzz_$target
	CFLAGS="-std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Iinternal -I. -pthread $(pkg-config --cflags $pkgs) $DL_CFLAGS"
	LIBS="$(pkg-config --libs $pkgs) $extra -lssl -lcrypto -lm -pthread"
	echo "fuzz: building $bin"
	# shellcheck disable=SC2086
	if ! "$CLANG" $CFLAGS -o "$bin" "tests/fuzz/fuzz_$target.c" $srcs $LIBS; then
		echo "fuzz: build of fuzz_$target failed"; exit 1
	fi
	corpus=$OUT/corpus_$target
	mkdir -p "$corpus" "$OUT/$target"
	cp -n tests/fuzz/corpus/$target/* "$corpus/" 2>/dev/null || true
	echo "fuzz: running fuzz_$target for ${FUZZ_TIME}s (corpus $corpus)"
	(cd "$OUT/$target" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		"$bin" -max_total_time="$FUZZ_TIME" -max_len=16384 -timeout=20 -rss_limit_mb=2048 \
		-print_final_stats=1 "$corpus" </dev/null) >"$OUT/fuzz_$target.log" 2>&1
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
