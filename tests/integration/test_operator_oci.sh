#!/usr/bin/env bash
# Operator with an OCI output (CNCF distribution registry with htpasswd auth; credentials from a
# basic-auth Secret in the HelmChart's namespace) next to the local output: Ready with status.oci
# filled; `helm pull` gets the chart; a drift pushes <version+1>; the same content is not pushed
# again (no-op reconcile keeps the digest).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/operator.sh"
command -v docker-registry >/dev/null || skip "docker-registry not installed"
. "$(dirname "$0")/registry.sh"
op_setup
registry_start --htpasswd
op_app shop shop nginx:1.25
b64() { printf %s "$1" | base64 -w0; }
printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: reg, namespace: shop}\ndata: {username: %s, password: %s}\n' \
	"$(b64 "$REG_USER")" "$(b64 "$REG_PASS")" | K apply -f - >/dev/null || fail "secret"
cat <<Y | K apply -f - >/dev/null || fail "hc"
apiVersion: dhg.deckhouse.io/v1alpha1
kind: HelmChart
metadata: {name: shop, namespace: shop}
spec:
  chart: {name: shop, version: 0.1.0}
  source: {cluster: {selector: {matchLabels: {app.kubernetes.io/part-of: shop}}}}
  output: {local: {}, oci: {repository: "oci://$REG_HOST/charts", insecure: true, secretRef: {name: reg}}}
  sync: {debounce: 0s}
Y
op_start op
K wait --for=condition=Ready hc/shop -n shop --timeout=60s >/dev/null || { tail -5 "$T/op.log"; fail "not Ready: $(op_status shop shop .status.conditions)"; }
ref=$(op_status shop shop .status.oci.reference)
dig=$(op_status shop shop .status.oci.digest)
[ "$ref" = "$REG_HOST/charts/shop:0.1.0" ] || fail "status.oci.reference: $ref"
[[ $dig == sha256:* ]] || fail "status.oci.digest: $dig"
op_status shop shop '.status.conditions[?(@.type=="Ready")].message' | grep -q "and oci sha256:" || fail "Ready message lacks oci"
grep -q "$REG_PASS" "$T/op.log" && fail "registry password in the log"
export HELM_REGISTRY_CONFIG=$T/helm-reg.json HELM_CACHE_HOME=$T/helm-cache HELM_CONFIG_HOME=$T/helm-config
mkdir -p "$T/pull"
echo "$REG_PASS" | $HELM4 registry login "$REG_HOST" --plain-http --username "$REG_USER" --password-stdin >/dev/null 2>&1 || fail "helm login"
"$HELM4" pull "oci://$REG_HOST/charts/shop" --version 0.1.0 --plain-http -d "$T/pull" >/dev/null 2>&1 || fail "helm pull 0.1.0"
ok "pushed $ref"
K set image deployment/shop-web -n shop web=nginx:1.26 >/dev/null
op_wait_status shop shop .status.oci.reference "$REG_HOST/charts/shop:0.1.1" || fail "no 0.1.1 push: $(op_status shop shop .status.conditions)"
"$HELM4" pull "oci://$REG_HOST/charts/shop" --version 0.1.1 --plain-http -d "$T/pull" >/dev/null 2>&1 || fail "helm pull 0.1.1"
tar -xzOf "$T/pull/shop-0.1.1.tgz" shop/values.yaml | grep -q 1.26 || fail "0.1.1 lacks the new image"
d1=$(op_status shop shop .status.oci.digest)
K annotate hc shop -n shop dhg.deckhouse.io/reconcile-requested-at=now1 --overwrite >/dev/null
op_wait_status shop shop .status.lastHandledReconcileAt now1 || fail "lastHandledReconcileAt"
[ "$(op_status shop shop .status.oci.digest)" = "$d1" ] && [ "$(op_status shop shop .status.chartVersion)" = 0.1.1 ] || fail "a no-op reconcile changed the push"
ok "drift pushed 0.1.1; requested no-op reconcile kept it"
op_stop "$OP_PID"
