#!/usr/bin/env bash
# The HelmChart CRD: kubectl applies it (emulator), lists by short name and category, shows the
# printer columns, and `kubectl explain` prints field descriptions.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
[ -x "$KUBECTL33" ] || skip "kubectl 1.33 not installed (.tools)"
emu_start
K() { "$KUBECTL33" --kubeconfig "$EMU_KUBECONFIG" "$@"; }
K apply -f "$ROOT/crd/helmcharts.dhg.deckhouse.io.yaml" >/dev/null || fail "CRD apply"
wait_for K get crd helmcharts.dhg.deckhouse.io || fail "CRD not served"
printf "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n" | K apply -f - >/dev/null || fail "namespace"
cat >"$T/hc.yaml" <<'Y'
apiVersion: dhg.deckhouse.io/v1alpha1
kind: HelmChart
metadata: {name: x, namespace: shop}
spec:
  chart: {name: shop, version: 0.1.0}
  source: {cluster: {selector: {matchLabels: {app: shop}}}}
  output: {local: {}}
Y
K apply -f "$T/hc.yaml" || fail "HelmChart apply"
out=$(K get hc -n shop) || fail "get hc"
echo "$out"
head -n 1 <<<"$out" | grep -qE 'NAME +CHART +VERSION +READY +STATUS +AGE' || fail "printer columns missing: $out"
grep -qE '^x +shop ' <<<"$out" || fail "hc x not listed with its chart: $out"
K get dhg -n shop -o name | grep -q 'helmchart.dhg.deckhouse.io/x' || fail "category dhg"
K get helmcharts.dhg.deckhouse.io x -n shop -o jsonpath='{.spec.chart.version}' | grep -qx 0.1.0 || fail "spec round trip"
# structural schema: explain shows descriptions (from /openapi/v3)
if K explain helmchart.spec.output.git >"$T/explain" 2>&1; then
	grep -q "Commit the chart to a git repository" "$T/explain" || fail "explain lacks descriptions: $(cat "$T/explain")"
else
	echo "note: kubectl explain not supported by the emulator: $(head -n 3 "$T/explain")"
fi
ok "CRD applied, hc listed with printer columns"
