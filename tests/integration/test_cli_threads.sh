#!/usr/bin/env bash
# `dhg generate` with several threads (DHG_THREADS) gives exactly what the sequential path
# (DHG_THREADS=1) gives: stdout, stderr and exit code, for every test fixture in the three
# --secrets modes, the shared corpus, a generated 500-resource input (as one directory and as
# files in reverse order), and bad inputs where the first error in input order must win (an
# early long file failing late vs a later file failing at once, a missing later path, a
# processor error after many templates were handed to the writer thread). Also -o output
# trees, that a bad DHG_THREADS is refused, and -j/--jobs. Quick enough for make asan / valgrind.
. "$(dirname "$0")/lib.sh"

IN=$T/in
mkdir -p "$IN"
n=0
# under valgrind (DHG_WRAP): 1 and 2 threads, the fixtures in one --secrets mode
COUNTS="1 2 4"
MODES="mask include external-secret"
[ -z "${DHG_WRAP:-}" ] || { COUNTS="1 2"; MODES="mask"; }

# same NAME ARGS...: runs `dhg generate ARGS --dry-run` with each of COUNTS threads, compares.
same() {
	local name=$1 t rc
	shift
	for t in $COUNTS; do
		set +e
		DHG_THREADS=$t $DHG generate "$@" --dry-run >"$T/out.$t" 2>"$T/err.$t"
		echo $? >"$T/rc.$t"
		set -e
	done
	for t in ${COUNTS#1 }; do
		cmp -s "$T/rc.1" "$T/rc.$t" || fail "$name: exit $(cat "$T/rc.$t") with $t threads, $(cat "$T/rc.1") with 1"
		cmp -s "$T/err.1" "$T/err.$t" ||
			fail "$name: stderr with $t threads differs: $(head -c 400 "$T/err.$t") / 1 thread: $(head -c 400 "$T/err.1")"
		cmp -s "$T/out.1" "$T/out.$t" || fail "$name: stdout with $t threads differs from 1 thread"
	done
	n=$((n + 1))
}

for d in "$ROOT"/tests/fixtures/*/input; do
	f=$(basename "$(dirname "$d")")
	for m in $MODES; do
		same "fixture $f $m" -f "$d" --chart-name fx --secrets "$m"
		[ "$(cat "$T/rc.1")" = 0 ] || fail "fixture $f $m: exit $(cat "$T/rc.1"): $(head -c 300 "$T/err.1")"
	done
done
all=()
for d in "$ROOT"/tests/fixtures/*/input; do all+=(-f "$d"); done
same "all fixtures as several inputs" "${all[@]}" --chart-name all
if [ -d "$CORPUS" ]; then
	for d in "$CORPUS"/*/*/ "$CORPUS"/*/*.yaml; do
		[ -e "$d" ] || continue
		same "corpus $d" -f "$d" --chart-name c
	done
fi
ok "fixtures and corpus: the same output with $COUNTS threads"

$PY "$ROOT/bench/gen_manifests.py" 500 "$IN/b500" >/dev/null
same "500 resources" -f "$IN/b500" --chart-name b
[ "$(cat "$T/rc.1")" = 0 ] || fail "500 resources: $(head -c 300 "$T/err.1")"
cp "$T/err.1" "$T/b500.err"
rev=()
for f in $(ls -r "$IN/b500"/*.yaml); do rev+=(-f "$f"); done
same "500 resources, files in reverse order" "${rev[@]}" --chart-name b
cmp -s "$T/err.1" "$T/b500.err" || fail "another file order gave another digest: $(cat "$T/err.1")"
ok "500 resources: the same chart and digest with $COUNTS threads and in reverse file order"

# 500 resources with every fixture: extra files/ entries, warnings, CRDs, all kinds, on threads
same "500 resources and every fixture" -f "$IN/b500" "${all[@]}" --chart-name all
[ "$(cat "$T/rc.1")" = 0 ] || fail "500 resources and every fixture: $(head -c 300 "$T/err.1")"
grep -q "^# Source: files/" "$T/out.1" || fail "500 resources and every fixture: no files/ entry (extra files not covered)"
grep -q "^warning: " "$T/err.1" || fail "500 resources and every fixture: no warning (not covered)"

# a values overlay (merged into the values trees: the template writer must be done by then)
printf 'nameOverride: shop\nsvc00003:\n  deployment:\n    replicas: 7\n    extra: {a: 1}\nnewKey: [1, 2]\n' >"$T/overlay.yaml"
same "500 resources with --set-values" -f "$IN/b500" --chart-name b --set-values "$T/overlay.yaml"
[ "$(cat "$T/rc.1")" = 0 ] || fail "--set-values: $(head -c 300 "$T/err.1")"
grep -q "^nameOverride: shop" "$T/out.1" || fail "--set-values: the overlay is not in values.yaml"
ok "500 resources with a values overlay: the same output with each thread count"

# -o: the same tree (and the same "written" line)
for t in 1 2; do
	DHG_THREADS=$t $DHG generate -f "$IN/b500" -o "$T/chart.$t" --chart-name b >"$T/w.$t" 2>&1 ||
		fail "-o with $t threads: $(cat "$T/w.$t")"
done
diff -r "$T/chart.1" "$T/chart.2" >/dev/null || fail "-o: the chart directories differ"
[ "$(sed "s#$T/chart.1#X#" "$T/w.1")" = "$(sed "s#$T/chart.2#X#" "$T/w.2")" ] || fail "-o: messages differ"
ok "-o: the same chart directory with 1 and 2 threads"

# bad inputs: the first error in input order, with its message
cm() { printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {k: v}\n' "$1"; }
mkdir -p "$IN/bad" "$IN/late" "$IN/gen" "$IN/dups"
for i in $(seq -w 0 39); do
	cm "c$i" >"$IN/bad/f$i.yaml"
	cm "c$i" >"$IN/late/f$i.yaml"
	for j in 0 1 2 3 4 5 6 7; do cm "c$i-$j"; echo ---; done >"$IN/gen/f$i.yaml"
done
# bad: f07 is long and fails at its end, f08 fails at once
$PY -c 'import sys; sys.stdout.write("".join("k%d: [a, b, {c: d}]\n" % i for i in range(40000)) + "bad: [\n")' >"$IN/bad/f07.yaml"
printf 'x: ]\n' >"$IN/bad/f08.yaml"
printf 'a: 1\na: 2\n' >"$IN/bad/f23.yaml"
printf '\x00\x01' >"$IN/late/f31.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: zz}\ndata: {"\\u0001x": v}\n' >>"$IN/gen/f39.yaml"
# errors of the template writer thread: late (a processor error follows; the writer's wins), first item
mkdir -p "$IN/emit_late" "$IN/emit_early"
cp "$IN"/gen/f*.yaml "$IN/emit_late/"
cm c39-8 >"$IN/emit_late/f39.yaml"
printf -- '---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: zz}\nspec: {"\\u0001x": v}\n' >>"$IN/emit_late/f39.yaml"
printf -- '---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {x: .inf}\n' >>"$IN/emit_late/f20.yaml"
cp "$IN"/emit_late/f*.yaml "$IN/emit_early/"
printf -- '---\napiVersion: example.com/v1\nkind: Aardvark\nmetadata: {name: a}\nspec: {x: .nan}\n' >>"$IN/emit_early/f20.yaml"
cm cfg >"$IN/dups/a.yaml"
{ cm other; echo ---; cm cfg; } >"$IN/dups/b.yaml"
check_err() { # NAME WANT_PATTERN ARGS...
	local name=$1 want=$2
	shift 2
	same "$name" "$@" --chart-name x
	[ "$(cat "$T/rc.1")" = 1 ] || fail "$name: exit $(cat "$T/rc.1"), want 1"
	grep -qF -- "$want" "$T/err.1" || fail "$name: stderr lacks '$want': $(head -c 300 "$T/err.1")"
	ok "$name: $(head -c 140 "$T/err.1")"
}
check_err "earlier long file fails last" "$IN/bad/f07.yaml:40002:1:" -f "$IN/bad"
check_err "binary file late in the list" "$IN/late/f31.yaml:1:1: binary data" -f "$IN/late"
check_err "processor error after 320 templates" "$IN/gen/f39.yaml (document 9, line 41) ConfigMap zz: a key starts" -f "$IN/gen"
check_err "template writer error, then a processor error" "$IN/emit_late/f20.yaml (document 10, line 42) Widget w: the number .inf" -f "$IN/emit_late"
check_err "template writer error on the first item" "$IN/emit_early/f20.yaml (document 11, line 47) Aardvark a: the number .nan" -f "$IN/emit_early"
check_err "duplicate objects across files" "duplicate object ConfigMap" -f "$IN/dups"
# a values overlay 150 levels deep: values.yaml is written, the schema's piece fails (threads)
$PY -c 'import sys; d = 150; sys.stdout.write("deep:\n" + "".join("  " * (i + 1) + "k%d:\n" % i for i in range(d)) + "  " * (d + 1) + "x: 1\n")' >"$T/deep.yaml"
check_err "values nested too deeply in the schema" "values nested too deeply" -f "$IN/b500" --set-values "$T/deep.yaml"
check_err "file error before a missing path" "$IN/bad/f07.yaml:40002:1:" -f "$IN/bad" -f "$IN/nope.yaml"
check_err "missing path after good files" "$IN/nope.yaml: No such file or directory" -f "$IN/late/f00.yaml" -f "$IN/nope.yaml" -f "$IN/bad"
check_err "missing path first" "$IN/nope.yaml: No such file or directory" -f "$IN/nope.yaml" -f "$IN/bad"

# a thread count that is not one is refused, naming the variable
set +e
DHG_THREADS=zero $DHG generate -f "$IN/late/f00.yaml" --chart-name x --dry-run >/dev/null 2>"$T/err"
rc=$?
set -e
[ $rc = 1 ] || fail "DHG_THREADS=zero: exit $rc, want 1"
grep -qF "DHG_THREADS='zero' is not a thread count" "$T/err" || fail "DHG_THREADS=zero: $(cat "$T/err")"
ok "DHG_THREADS=zero refused: $(cat "$T/err")"

# -j/--jobs N: overrides DHG_THREADS (a bad DHG_THREADS is not read then), the same output;
# a count outside 1-64 is a usage error (exit 2)
DHG_THREADS=zero $DHG generate -f "$IN/b500" --chart-name b --dry-run -j 2 >"$T/j.out" 2>"$T/j.err" ||
	fail "-j 2 with DHG_THREADS=zero: $(cat "$T/j.err")"
DHG_THREADS=2 $DHG generate -f "$IN/b500" --chart-name b --dry-run --jobs 1 >"$T/j1.out" 2>"$T/j1.err" ||
	fail "--jobs 1: $(cat "$T/j1.err")"
cmp -s "$T/j.out" "$T/j1.out" && cmp -s "$T/j.err" "$T/j1.err" || fail "-j 2 and --jobs 1 give different output"
for j in 0 65 3x ""; do
	set +e
	$DHG generate -f "$IN/late/f00.yaml" --chart-name x --dry-run -j "$j" >/dev/null 2>"$T/err"
	rc=$?
	set -e
	[ $rc = 2 ] || fail "-j '$j': exit $rc, want 2"
	grep -qF -e "--jobs '$j' is not a thread count from 1 to 64" -e "needs a value" "$T/err" || fail "-j '$j': $(cat "$T/err")"
done
ok "-j/--jobs: overrides DHG_THREADS, the same output; 0, 65, 3x and '' refused (exit 2)"
ok "$n cases: the same stdout, stderr and exit code with $COUNTS threads"
