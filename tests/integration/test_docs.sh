#!/usr/bin/env bash
# The user docs cover what the code and the CRD define (issue 6: "a test fails if the docs'
# HelmChart reference misses a CRD field"). tests/integration/docs_check.py does the work:
#   - every property path under spec and status of the CRD's openAPIV3Schema has a row in
#     docs/helmchart-reference.md (type, CRD default and enum values included), and no row
#     documents a field the CRD no longer has; every printer column is listed;
#   - every condition reason and Event reason the controller (controller/*.c) sets is listed,
#     and the reconcile annotation is documented;
#   - every --flag of `dhg-operator --help` (and its DHG_* variable) is in docs/operations.md,
#     every --flag of `dhg generate|analyze|push --help` is in docs/cli.md;
#   - every metric the operator registers is in docs/operations.md; relative links resolve.
# Then it proves the checker can fail: a copy of the docs with one reference row, one
# condition reason, one operator flag and one metric removed must be rejected, naming each.
. "$(dirname "$0")/lib.sh"

[ -x "$BUILD/dhg" ] && [ -x "$BUILD/dhg-operator" ] || fail "build dhg and dhg-operator first ($BUILD)"
$PY -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed (scripts/install-deps.sh)"
CHECK=$ROOT/tests/integration/docs_check.py

# 1. The real docs pass.
$PY "$CHECK" "$ROOT" "$BUILD" || fail "docs are out of step with the code (see above)"
ok "docs cover the CRD, condition reasons, flags and metrics"

# 2. The checker fails on a doc with gaps (a mutated copy; the real files are not touched).
M=$T/root
mkdir -p "$M/docs" "$M/tests/integration"
cp -r "$ROOT/crd" "$ROOT/controller" "$M/"
mkdir -p "$M/internal" && cp -r "$ROOT/internal/httpserver" "$M/internal/"
cp "$ROOT"/docs/*.md "$M/docs/"
cp -r "$ROOT/examples" "$M/" 2>/dev/null || true
# links from the docs to files outside docs/
for p in crd examples README.md; do [ -e "$M/$p" ] || cp -r "$ROOT/$p" "$M/" 2>/dev/null || true; done
ref=$M/docs/helmchart-reference.md ops=$M/docs/operations.md
grep -q '^| `spec.output.git.secretRef.name` |' "$ref" || fail "reference row spec.output.git.secretRef.name not found"
sed -i '/^| `spec.output.git.secretRef.name` |/d' "$ref"
sed -i '/^| `GitFailed` |/d' "$ref"
sed -i 's/`--webhook-secret-file/`--webhook-secret-FILE/g' "$ops"
sed -i 's/`dhg_reconcile_total`/`dhg_reconcile_TOTAL`/g' "$ops"
if $PY "$CHECK" "$M" "$BUILD" >"$T/mutated.out" 2>&1; then
	cat "$T/mutated.out"
	fail "docs_check.py passed on docs with removed entries"
fi
for want in 'CRD field `spec.output.git.secretRef.name` is not documented' \
	'condition reason GitFailed' 'flag --webhook-secret-file' 'metric dhg_reconcile_total'; do
	grep -qF -- "$want" "$T/mutated.out" || { cat "$T/mutated.out"; fail "docs_check.py did not report: $want"; }
done
ok "docs_check.py rejects a reference missing a field, a reason, a flag and a metric"

# 3. A stale row (a field the CRD does not have) is rejected too.
cp "$ROOT/docs/helmchart-reference.md" "$ref"
cp "$ROOT/docs/operations.md" "$ops"
echo '| `spec.chart.nonexistent` | string | | | stale |' >>"$ref"
if $PY "$CHECK" "$M" "$BUILD" >"$T/stale.out" 2>&1; then
	fail "docs_check.py accepted a row for a field the CRD does not have"
fi
grep -qF 'documents `spec.chart.nonexistent`' "$T/stale.out" || { cat "$T/stale.out"; fail "stale row not named"; }
ok "docs_check.py rejects a row for a field that is not in the CRD"

# 4. When the code moves ahead of the docs: a new CRD field (as h8 might add) and a new
#    condition reason in the controller are reported.
cp "$ROOT/docs/helmchart-reference.md" "$ref"
$PY - "$M/crd/helmcharts.dhg.deckhouse.io.yaml" <<'PYX'
import sys, yaml
p = sys.argv[1]
crd = yaml.safe_load(open(p))
v = [v for v in crd["spec"]["versions"] if v.get("storage")][0]
chart = v["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["chart"]
chart["properties"]["icon"] = {"type": "string", "description": "Chart icon URL."}
yaml.safe_dump(crd, open(p, "w"))
PYX
sed -i '0,/"InvalidSpec", RT_EVENT_WARNING/s//"InvalidSpecNew", RT_EVENT_WARNING/' "$M/controller/reconcile.c"
if $PY "$CHECK" "$M" "$BUILD" >"$T/ahead.out" 2>&1; then
	fail "docs_check.py accepted a CRD field and a reason the docs do not have"
fi
for want in 'CRD field `spec.chart.icon` is not documented' 'condition reason InvalidSpecNew'; do
	grep -qF -- "$want" "$T/ahead.out" || { cat "$T/ahead.out"; fail "docs_check.py did not report: $want"; }
done
ok "docs_check.py reports a new CRD field and a new condition reason"
