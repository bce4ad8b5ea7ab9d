#!/usr/bin/env bash
# deploy/ is current with the chart and applies with `kubectl apply -k`; every example applies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"

# deploy/operator.yaml must be what deploy/render.sh makes from the chart today.
bash "$ROOT/deploy/render.sh" > "$T/operator.yaml"
diff -u "$ROOT/deploy/operator.yaml" "$T/operator.yaml" >"$T/diff" || { head -40 "$T/diff"; fail "deploy/operator.yaml is stale: run make deploy-manifests"; }
$PY "$ROOT/tests/integration/k8s_policy.py" rbac-no-wildcards "$ROOT/deploy/operator.yaml" || fail "wildcard RBAC in deploy/"
$PY "$ROOT/tests/integration/k8s_policy.py" pss-restricted "$ROOT/deploy/operator.yaml" || fail "deploy/ Deployment is not PSS-restricted"

for K in "$KUBECTL31" "$KUBECTL33"; do
	emu_start
	k() { "$K" --kubeconfig "$EMU_KUBECONFIG" "$@"; }
	v=$(k version --client -o json | $PY -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')
	k apply -k "$ROOT/deploy" >"$T/apply.log" 2>&1 || { cat "$T/apply.log"; fail "$v: kubectl apply -k deploy/"; }
	k get crd helmcharts.dhg.deckhouse.io >/dev/null || fail "$v: CRD not created by apply -k"
	k -n dhg-system get deploy/dhg-operator sa/dhg-operator svc/dhg-operator-metrics >/dev/null || fail "$v: operator objects missing"
	k get clusterrole dhg-operator >/dev/null || fail "$v: ClusterRole missing"
	# A second apply is a no-op that still succeeds.
	k apply -k "$ROOT/deploy" >/dev/null 2>&1 || fail "$v: second apply -k"
	ok "$v: kubectl apply -k deploy/"

	k apply -f "$ROOT/examples/namespace.yaml" >/dev/null || fail "$v: examples/namespace.yaml"
	k apply -f "$ROOT/examples/shop/" >"$T/apply.log" 2>&1 || { cat "$T/apply.log"; fail "$v: examples/shop"; }
	n=$(k -n shop get deploy,sts,svc,cm,secret,ing,hpa,pdb,cronjob,sa -o name | grep -vc 'kube-root-ca\|serviceaccount/default' || true)
	[ "$n" -eq 15 ] || fail "$v: expected the 15 shop objects, found $n"
	for ns in billing ingress-nginx monitoring cert-manager; do
		printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' "$ns" | k apply -f - >/dev/null || fail "$v: namespace $ns"
	done
	for f in "$ROOT"/examples/helmcharts/*.yaml; do
		k apply -f "$f" >"$T/apply.log" 2>&1 || { cat "$T/apply.log"; fail "$v: kubectl apply -f ${f#$ROOT/}"; }
	done
	[ "$(k get hc -A -o name | wc -l)" -eq "$(ls "$ROOT"/examples/helmcharts/*.yaml | wc -l)" ] || fail "$v: not every example HelmChart exists"
	ok "$v: every example applies ($(ls "$ROOT"/examples/helmcharts/*.yaml | wc -l) HelmCharts, $n app objects)"
	emu_stop
done
