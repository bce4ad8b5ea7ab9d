#!/usr/bin/env bash
# --watch-namespace: only HelmCharts and objects of the watched namespaces are seen; selecting a
# namespace that is not watched (even with --allow-cross-namespace) is Stalled with a message.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/operator.sh"
op_setup
op_namespace team-b
op_app shop shop nginx:1.25
op_app team-b shop nginx:9.9
op_hc shop shop shop 0s
op_hc team-b other shop 0s
cat <<'Y' | K apply -f - >/dev/null || fail "hc cross"
apiVersion: dhg.deckhouse.io/v1alpha1
kind: HelmChart
metadata: {name: cross, namespace: shop}
spec:
  source: {cluster: {namespaces: [shop, team-b]}}
  output: {local: {}}
Y
op_start op --watch-namespace shop --allow-cross-namespace
K wait --for=condition=Ready hc/shop -n shop --timeout=30s >/dev/null || fail "shop/shop not Ready"
op_wait_status shop cross '.status.conditions[?(@.type=="Stalled")].status' True || fail "cross not Stalled"
op_status shop cross '.status.conditions[?(@.type=="Ready")].message' | grep -q 'namespace team-b is not watched' || fail "cross message"
sleep 1
[ -z "$(op_status team-b other .status)" ] || fail "a HelmChart in an unwatched namespace was reconciled"
[ ! -e "$OUT/team-b" ] || fail "wrote for an unwatched namespace"
grep -q '9.9' -r "$OUT/shop/shop" && fail "team-b object in shop's chart"
ok "only the watched namespace is served"
op_stop "$OP_PID"
