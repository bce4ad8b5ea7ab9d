#!/usr/bin/env bash
# The operator's own chart: lint, render with default and non-default values on Helm 3 and 4,
# no RBAC wildcards, a Deployment meeting PSS "restricted", the schema rejecting bad values,
# and the CRD in crds/ identical to crd/.
. "$(dirname "$0")/lib.sh"
CHART=$ROOT/helm/dhg-operator
POLICY="$PY $ROOT/tests/integration/k8s_policy.py"

cat > "$T/custom.yaml" <<'YAML'
replicaCount: 2
watchNamespaces: [shop, payments]
allowCrossNamespace: true
rbac: {readSecrets: false}
metrics:
  serviceMonitor: {enabled: true, labels: {release: prometheus}}
extraEnv: [{name: HTTPS_PROXY, value: "http://proxy:3128"}]
extraArgs: ["--kube-api-qps=50"]
nodeSelector: {kubernetes.io/os: linux}
tolerations: [{key: dedicated, operator: Equal, value: ops, effect: NoSchedule}]
podAnnotations: {example.com/team: platform}
webhook: {secretName: dhg-webhook}
YAML

for helm in "$HELM3" "$HELM4"; do
	v=$("$helm" version --short)
	"$helm" lint --strict "$CHART" >"$T/lint.log" 2>&1 || { cat "$T/lint.log"; fail "$v lint --strict"; }
	"$helm" lint --strict "$CHART" -f "$T/custom.yaml" >"$T/lint.log" 2>&1 || { cat "$T/lint.log"; fail "$v lint --strict with custom values"; }

	"$helm" template dhg "$CHART" --namespace dhg-system --include-crds >"$T/default.yaml" || fail "$v template (defaults)"
	$POLICY rbac-no-wildcards "$T/default.yaml" || fail "$v: wildcard in RBAC (defaults)"
	$POLICY pss-restricted "$T/default.yaml" || fail "$v: Deployment not PSS-restricted (defaults)"
	kinds=$($POLICY kinds "$T/default.yaml")
	for k in "ServiceAccount dhg-system/dhg-dhg-operator" "ClusterRole /dhg-dhg-operator" \
		 "ClusterRoleBinding /dhg-dhg-operator" "Deployment dhg-system/dhg-dhg-operator" \
		 "Service dhg-system/dhg-dhg-operator-metrics" "Role dhg-system/dhg-dhg-operator-leader-election"; do
		grep -qx "$k" <<<"$kinds" || fail "$v: default render lacks $k"
	done
	if [ -f "$ROOT/crd/helmcharts.dhg.deckhouse.io.yaml" ]; then
		grep -qx "CustomResourceDefinition /helmcharts.dhg.deckhouse.io" <<<"$kinds" || fail "$v: CRD not rendered with --include-crds"
	fi
	grep -q -- '--leader-elect=true' "$T/default.yaml" || fail "$v: leader election not on by default"
	grep -q 'secrets' "$T/default.yaml" || fail "$v: default RBAC cannot read Secrets"

	"$helm" template dhg "$CHART" --namespace dhg-system -f "$T/custom.yaml" >"$T/custom-out.yaml" || fail "$v template (custom)"
	$POLICY rbac-no-wildcards "$T/custom-out.yaml" || fail "$v: wildcard in RBAC (custom)"
	$POLICY pss-restricted "$T/custom-out.yaml" || fail "$v: not PSS-restricted (custom)"
	kinds=$($POLICY kinds "$T/custom-out.yaml")
	grep -q '^ClusterRole ' <<<"$kinds" && fail "$v: watchNamespaces set but a ClusterRole was rendered"
	for k in "Role shop/dhg-dhg-operator" "Role payments/dhg-dhg-operator" "RoleBinding shop/dhg-dhg-operator" \
		 "ServiceMonitor dhg-system/dhg-dhg-operator"; do
		grep -qx "$k" <<<"$kinds" || fail "$v: custom render lacks $k"
	done
	for arg in -- '--watch-namespace=shop' '--watch-namespace=payments' '--allow-cross-namespace' '--kube-api-qps=50' 'replicas: 2' 'HTTPS_PROXY' 'kubernetes.io/os: linux' '--webhook-secret-file=/etc/dhg-operator/webhook/secret' 'secretName: dhg-webhook'; do
		[ "$arg" = -- ] && continue
		grep -q -- "$arg" "$T/custom-out.yaml" || fail "$v: custom render lacks '$arg'"
	done
	if $PY - "$T/custom-out.yaml" <<'PYEOF'
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "Role" and d["metadata"]["namespace"] == "shop":
        sys.exit(0 if any("secrets" in r.get("resources", []) for r in d["rules"]) else 1)
sys.exit(1)
PYEOF
	then fail "$v: rbac.readSecrets=false still grants Secrets"; fi

	if "$helm" template dhg "$CHART" --set replicaCount=abc >/dev/null 2>"$T/err"; then fail "$v: schema accepted replicaCount=abc"; fi
	grep -q replicaCount "$T/err" || fail "$v: schema error does not name replicaCount"
	if "$helm" template dhg "$CHART" --set log.format=xml >/dev/null 2>&1; then fail "$v: schema accepted log.format=xml"; fi
	ok "$v"
done

if [ -f "$ROOT/crd/helmcharts.dhg.deckhouse.io.yaml" ]; then
	cmp -s "$ROOT/crd/helmcharts.dhg.deckhouse.io.yaml" "$CHART/crds/helmcharts.dhg.deckhouse.io.yaml" \
		|| fail "helm/dhg-operator/crds/ differs from crd/helmcharts.dhg.deckhouse.io.yaml (copy it)"
	ok "CRD copy in sync"
fi
