#!/usr/bin/env bash
# Every allocation failure of `dhg generate` is reported or harmless: with
# build/failalloc.so (tests/preload/failalloc.c) the Nth allocation of a run fails, for N
# stepping through the whole run. Each run must exit 1 with an out-of-memory message, or
# exit 0 with exactly the output of a normal run; never crash, never print a different chart
# with exit 0. On one thread (deterministic: every OOM_STEP-th allocation over all the test
# fixtures, the three --secrets modes in turn) and on two threads (a 500-resource input:
# parallel parse, pass 1, pass 2 and values pieces), and with -o: a failed run leaves no chart
# directory and no temporary sibling behind. `dhg analyze --format json` likewise (a lookup
# that ran out of memory once became a "missing reference" finding). A failing N is printed, to reproduce with
# FAILALLOC_AT=N DHG_ALLOC=malloc LD_PRELOAD=build/failalloc.so.
. "$(dirname "$0")/lib.sh"

PRELOAD=$BUILD/failalloc.so
[ -f "$PRELOAD" ] || fail "$PRELOAD missing (make tools)"
[ -z "${DHG_WRAP:-}" ] || skip "not under valgrind: it replaces malloc itself"
if nm -D "$BUILD/dhg" 2>/dev/null | grep -q __asan_init; then skip "not with AddressSanitizer: it replaces malloc itself"; fi
STEP=${OOM_STEP:-11}
STEP2=${OOM_STEP2:-401}

mkdir -p "$T/fx"
for d in "$ROOT"/tests/fixtures/*/input; do cp -r "$d" "$T/fx/$(basename "$(dirname "$d")")"; done
$PY "$ROOT/bench/gen_manifests.py" 500 "$T/b500" >/dev/null

# sweep NAME THREADS STEP MODES INPUT: runs `dhg generate --dry-run` failing every STEP-th
# allocation; MODES: the --secrets modes used in turn ("analyze": `dhg analyze --format json`).
run_dhg() { # MODE INPUT
	if [ "$1" = analyze ]; then
		$DHG analyze -f "$2" --format json
	else
		$DHG generate -f "$2" --chart-name c --secrets "$1" --dry-run
	fi
}
sweep() {
	local name=$1 threads=$2 step=$3 modes=($4) in=$5 total k m rc n=0 nfail=0
	for m in "${modes[@]}"; do
		DHG_THREADS=$threads DHG_ALLOC=malloc FAILALLOC_COUNT="$T/count" LD_PRELOAD="$PRELOAD" \
			run_dhg "$m" "$in" >"$T/ref.$m" 2>"$T/ref.err" ||
			fail "$name: the run without a failure failed: $(head -c 300 "$T/ref.err")"
	done
	total=$(cat "$T/count")
	[ "$total" -gt 1000 ] || fail "$name: only $total allocations counted (preload not active?)"
	for ((k = 1; k <= total; k += step)); do
		m=${modes[$((n % ${#modes[@]}))]}
		set +e
		DHG_THREADS=$threads DHG_ALLOC=malloc FAILALLOC_AT=$k LD_PRELOAD="$PRELOAD" \
			run_dhg "$m" "$in" >"$T/out" 2>"$T/err"
		rc=$?
		set -e
		n=$((n + 1))
		case $rc in
		0) cmp -s "$T/out" "$T/ref.$m" || fail "$name: allocation $k ($m) failed, exit 0 but a different output" ;;
		1)
			nfail=$((nfail + 1))
			grep -qiE "out of memory|cannot allocate" "$T/err" ||
				fail "$name: allocation $k ($m) failed: exit 1 without an out-of-memory message: $(head -c 300 "$T/err")"
			;;
		*) fail "$name: allocation $k ($m) failed: exit $rc (crash?): $(tail -c 300 "$T/err")" ;;
		esac
	done
	ok "$name: $n runs over $total allocations (every ${step}th), $nfail reported out of memory, the others gave the same output"
}

sweep "fixtures, one thread" 1 "$STEP" "mask include external-secret" "$T/fx"
sweep "500 resources, two threads" 2 "$STEP2" "mask" "$T/b500"
sweep "analyze, fixtures" 1 $((STEP + 2)) "analyze" "$T/fx"

# -o: nothing half-written
DHG_ALLOC=malloc FAILALLOC_COUNT="$T/count" LD_PRELOAD="$PRELOAD" $DHG generate -f "$T/fx" --chart-name c -o "$T/chart" \
	>/dev/null 2>"$T/err" || fail "-o without a failure: $(head -c 300 "$T/err")"
total=$(cat "$T/count")
rm -rf "$T/chart"
n=0
for ((k = 1; k <= total; k += STEP * 13)); do
	set +e
	DHG_THREADS=2 DHG_ALLOC=malloc FAILALLOC_AT=$k LD_PRELOAD="$PRELOAD" $DHG generate -f "$T/fx" --chart-name c \
		-o "$T/out/chart" >/dev/null 2>"$T/err"
	rc=$?
	set -e
	n=$((n + 1))
	case $rc in
	0) [ -f "$T/out/chart/Chart.yaml" ] || fail "-o: allocation $k failed, exit 0 but no chart" ;;
	1) [ ! -e "$T/out/chart" ] || fail "-o: allocation $k failed, exit 1 but $T/out/chart exists" ;;
	*) fail "-o: allocation $k failed: exit $rc (crash?): $(tail -c 300 "$T/err")" ;;
	esac
	leftover=
	[ ! -d "$T/out" ] || leftover=$(find "$T/out" -mindepth 1 -maxdepth 1 ! -name chart | head -1)
	[ -z "$leftover" ] || fail "-o: allocation $k failed, left $leftover behind"
	rm -rf "$T/out"
done
ok "-o: $n runs with an allocation failing, none left a chart or a temporary directory behind"
