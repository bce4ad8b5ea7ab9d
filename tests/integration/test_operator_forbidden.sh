#!/usr/bin/env bash
# A kind the operator may not list (the chart's rbac.readSecrets=false: no secrets in the Role)
# is skipped like a kind the server does not serve: one warning, /readyz 200 at once (no 120 s
# cache-sync timeout), HelmCharts are generated without it and say so in the Ready message; a
# secretRef read fails with Ready=False "cannot read Secret ns/name: forbidden ...".
# The emulator has no RBAC: its fault injection answers 403 to every secrets request.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/operator.sh"
op_setup
op_app shop shop nginx:1.25
cat <<'Y' | K apply -f - >/dev/null || fail "apply Secrets"
apiVersion: v1
kind: Secret
metadata: {name: shop-db, namespace: shop, labels: {app.kubernetes.io/part-of: shop}}
stringData: {password: not-for-the-chart}
---
apiVersion: v1
kind: Secret
metadata: {name: git-creds, namespace: shop}
stringData: {username: u, password: p}
Y
# every secrets request (list/watch/get, all namespaces or shop) -> 403 from now on
for p in /api/v1/secrets /api/v1/namespaces/shop/secrets; do
	emu_ctl fail "{\"count\":1000000,\"code\":403,\"pathPrefix\":\"$p\"}" >/dev/null || fail "emu_ctl fail $p"
done
op_hc shop shop shop 0s
t0=$(date +%s)
op_start op
readyz() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$OP_PROBE/readyz"; }
ready200() { [ "$(readyz)" = 200 ]; }
wait_for ready200 || { tail -n 5 "$T/op.log"; fail "/readyz $(readyz) with secrets forbidden"; }
dt=$(($(date +%s) - t0))
[ "$dt" -le 15 ] || fail "ready after ${dt}s"
[ "$(grep -c '"kind forbidden' "$T/op.log")" = 1 ] || fail "want exactly one 'kind forbidden' warning: $(grep '"kind forbidden' "$T/op.log")"
grep '"kind forbidden' "$T/op.log" | grep -q '"kind":"Secret"' || fail "the warning does not name Secret"
grep -q '"level":"warn"' <<<"$(grep '"kind forbidden' "$T/op.log")" || fail "not a warning"
ok "secrets forbidden: one warning, /readyz 200 after ${dt}s"

K wait --for=condition=Ready hc/shop -n shop --timeout=30s >/dev/null || fail "hc/shop not Ready: $(op_status shop shop .status)"
msg=$(op_status shop shop '.status.conditions[?(@.type=="Ready")].message')
grep -q 'not included (forbidden: .*): secrets$' <<<"$msg" || fail "Ready message does not say secrets were left out: $msg"
[ -f "$OUT/shop/shop/Chart.yaml" ] || fail "no chart written"
grep -rq 'shop-db' "$OUT/shop/shop" && fail "the forbidden Secret is in the chart"
grep -rqi 'kind: *Deployment' "$OUT/shop/shop/templates" || fail "the Deployment is missing from the chart"
ok "HelmChart Ready without the Secret: $msg"

# a secretRef read is refused: Ready=False naming the Secret, nothing written to git
cat <<'Y' | K apply -f - >/dev/null || fail "apply hc/git"
apiVersion: dhg.deckhouse.io/v1alpha1
kind: HelmChart
metadata: {name: git, namespace: shop}
spec:
  chart: {name: shop, version: 0.1.0}
  source: {cluster: {selector: {matchLabels: {app.kubernetes.io/part-of: shop}}}}
  output:
    git: {url: "https://127.0.0.1:9/deploy.git", branch: main, path: charts/shop, secretRef: {name: git-creds}}
  sync: {debounce: 0s}
Y
r=""
for _ in $(seq 1 100); do
	r=$(op_status shop git '.status.conditions[?(@.type=="Ready")].status')/$(op_status shop git '.status.conditions[?(@.type=="Ready")].reason')
	[ "$r" = False/GitFailed ] && break
	sleep 0.2
done
[ "$r" = False/GitFailed ] || fail "hc/git: Ready $r, want False/GitFailed: $(op_status shop git .status)"
msg=$(op_status shop git '.status.conditions[?(@.type=="Ready")].message')
grep -qF 'spec.output.git.secretRef.name: cannot read Secret shop/git-creds: forbidden' <<<"$msg" || fail "message: $msg"
grep -qF 'not-for-the-chart' "$T/op.log" && fail "secret data in the log"
ok "secretRef forbidden -> Ready=False/GitFailed: $msg"
op_stop "$OP_PID"
