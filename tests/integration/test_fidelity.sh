#!/usr/bin/env bash
# Fidelity with real Helm (issue 2, "What must show"): for every corpus folder and every
# fixture, `dhg generate --secrets include`, then with Helm 3 AND Helm 4: `helm lint --strict`
# passes and `helm template --include-crds` reproduces every input object exactly (see
# tests/integration/fidelity.py for the three documented differences that are allowed).
# Prints one line per case and helm; fails if any case fails. FIDELITY_CASES=regex narrows.
. "$(dirname "$0")/lib.sh"
[ -x "$BUILD/dhg" ] || skip "no $BUILD/dhg"
$DHG generate --help >/dev/null 2>&1 || skip "dhg generate is not part of this build"
[ -x "$HELM3" ] && [ -x "$HELM4" ] || skip "helm 3/4 not installed (make deps)"
FIDELITY="$PY $ROOT/tests/integration/fidelity.py"

# The comparator must itself catch differences before it is trusted.
$FIDELITY --self-test >"$T/selftest.log" || { cat "$T/selftest.log"; fail "comparator self-test"; }

cases=() # "name|input path"
for d in "$CORPUS"/dhg-examples/*/; do
	[ -d "$d" ] && cases+=("dhg-$(basename "$d")|${d%/}")
done
[ -f "$CORPUS/helmify/sample-app.yaml" ] && cases+=("helmify-sample-app|$CORPUS/helmify/sample-app.yaml")
[ -d "$CORPUS/helmify/dir" ] && cases+=("helmify-dir|$CORPUS/helmify/dir")
for d in "$ROOT"/tests/fixtures/*/input; do
	[ -d "$d" ] && cases+=("fx-$(basename "$(dirname "$d")")|$d")
done
[ ${#cases[@]} -ge 10 ] || fail "only ${#cases[@]} cases found (corpus at $CORPUS?)"

failed=() passed=0
for c in "${cases[@]}"; do
	name=${c%%|*} input=${c#*|}
	[ -n "${FIDELITY_CASES:-}" ] && ! [[ $name =~ $FIDELITY_CASES ]] && continue
	dir="$T/$name"
	mkdir -p "$dir"
	ns=$($FIDELITY --namespace-of "$input")
	if ! $DHG generate --secrets include -f "$input" -o "$dir/chart" --chart-name "$name" --namespace "$ns" \
		>"$dir/generate.log" 2>&1; then
		echo "FAIL $name: dhg generate: $(tail -n 3 "$dir/generate.log")"
		failed+=("$name(generate)")
		continue
	fi
	for h in helm3 helm4; do
		helm=$HELM3
		[ $h = helm4 ] && helm=$HELM4
		if ! $helm lint --strict "$dir/chart" >"$dir/lint-$h.log" 2>&1; then
			echo "FAIL $name [$h]: helm lint --strict:"
			grep -E '\[(ERROR|WARNING)\]|Error' "$dir/lint-$h.log" | head -n 10 | sed 's/^/    /'
			failed+=("$name($h lint)")
		fi
		if ! $helm template rel "$dir/chart" --include-crds --namespace "$ns" >"$dir/rendered-$h.yaml" 2>"$dir/template-$h.log"; then
			echo "FAIL $name [$h]: helm template: $(head -n 5 "$dir/template-$h.log")"
			failed+=("$name($h template)")
			continue
		fi
		if $FIDELITY --input "$input" --rendered "$dir/rendered-$h.yaml" --namespace "$ns" --case "$name [$h]" \
			>"$dir/compare-$h.log" 2>&1; then
			cat "$dir/compare-$h.log"
			passed=$((passed + 1))
		else
			head -n 40 "$dir/compare-$h.log"
			n=$(wc -l <"$dir/compare-$h.log")
			[ "$n" -gt 40 ] && echo "    ... $((n - 40)) more lines"
			failed+=("$name($h)")
		fi
	done
done
# The harness must see a real change made through Helm: set the first `replicas` value of
# the web-app chart to 7 and expect the comparator to report exactly that field.
wa="$T/fx-web-app/chart"
if [ -d "$wa" ]; then
	key=$($PY - "$wa/values.yaml" <<'PY'
import sys, yaml
def walk(v, path):
    if isinstance(v, dict):
        for k in sorted(v):
            if k == "replicas" and type(v[k]) is int:
                return path + [k]
            r = walk(v[k], path + [k])
            if r:
                return r
    return None
p = walk(yaml.safe_load(open(sys.argv[1])), [])
print(".".join(p) if p else "")
PY
)
	[ -n "$key" ] || fail "web-app values.yaml has no replicas value"
	$HELM4 template rel "$wa" --include-crds --namespace shop --set "$key=7" >"$T/mutated.yaml" || fail "helm --set $key=7"
	if $FIDELITY --input "$ROOT/tests/fixtures/web-app/input" --rendered "$T/mutated.yaml" --namespace shop \
		--case mutated >"$T/mutated.log"; then
		fail "comparator accepted a chart rendered with --set $key=7"
	fi
	grep -qE 'spec\.replicas: int [0-9]+ != int 7$' "$T/mutated.log" || fail "unexpected report: $(cat "$T/mutated.log")"
	[ "$(grep -c '^  ' "$T/mutated.log")" -eq 1 ] || fail "--set $key=7 changed more than one field: $(cat "$T/mutated.log")"
	ok "comparator reports the one field changed with --set $key=7"
fi

echo "fidelity: $passed case/helm pairs identical, ${#failed[@]} failures"
[ ${#failed[@]} -eq 0 ] || fail "fidelity failures: ${failed[*]}"
ok "fidelity: every case reproduced by helm 3 and helm 4"
