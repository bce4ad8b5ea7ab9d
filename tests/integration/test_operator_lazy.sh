#!/usr/bin/env bash
# Object informers start on demand: an idle operator (CRD, no HelmChart) runs one watch (the
# HelmCharts) and lists no object kind beyond the start-up probe (?limit=1); a HelmChart with
# kinds [Deployment, Service] starts exactly those two informers, gets Ready with one chart
# version, and never makes the operator list Secrets; the initial lists of the new informers
# make no second version; a restarted operator (informers cold again) converges to the same
# chart (no new version, Ready never flaps, no Warning Event); a HelmChart selecting a kind
# started already is Ready at once; with --watch-namespace only the selected namespace's
# informers start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/operator.sh"
op_setup
op_app shop shop nginx:1.25
printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: shop-db, namespace: shop, labels: {app.kubernetes.io/part-of: shop}}\nstringData: {password: s3cret}\n' \
	| K apply -f - >/dev/null || fail "apply Secret"

ready() { curl -sf "http://127.0.0.1:$OP_PROBE/readyz" >/dev/null; }
metric() { curl -sf "http://127.0.0.1:$OP_METRICS/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
started() { metric "dhg_informers_started{resource=\"$1\"}"; }
# requests to the collection path of a kind (list, probe and watch share it; query not counted)
reqs() { emu_ctl stats | $PY -c 'import json,sys; print(json.load(sys.stdin)["byPath"].get("GET "+sys.argv[1], 0))' "$1"; }
# hc_kinds NS NAME "Kind, Kind" : a HelmChart selecting part-of=shop objects of those kinds
hc_kinds() {
	printf 'apiVersion: dhg.deckhouse.io/v1alpha1\nkind: HelmChart\nmetadata: {name: %s, namespace: %s}\nspec:\n  chart: {name: %s, version: 0.1.0}\n  source: {cluster: {kinds: [%s], selector: {matchLabels: {app.kubernetes.io/part-of: shop}}}}\n  output: {local: {}}\n  sync: {debounce: 0s}\n' \
		"$2" "$1" "$2" "$3" | K apply -f - >/dev/null || fail "apply HelmChart $1/$2"
}
watches_open() { emu_ctl stats | $PY -c 'import json,sys; print(json.load(sys.stdin)["watchesOpen"])'; }

op_start op1
wait_for ready || { cat "$T/op1.log"; fail "not ready"; }
sleep 1.5
[ "$(started helmcharts)" = 1 ] || fail "helmcharts informer: $(started helmcharts)"
for r in deployments services configmaps secrets roles; do
	[ "$(started $r)" = 0 ] || fail "idle: $r informer started ($(started $r))"
done
[ "$(metric dhg_cached_objects)" = 0 ] || fail "idle: cached objects $(metric dhg_cached_objects)"
[ "$(watches_open)" = 1 ] || fail "idle: $(watches_open) watches open, expected 1 (helmcharts)"
for p in /apis/apps/v1/deployments /api/v1/services /api/v1/secrets; do
	[ "$(reqs $p)" = 1 ] || fail "idle: $(reqs $p) requests to $p, expected 1 (the probe)"
done
ok "idle: one watch (helmcharts), object kinds only probed"

hc_kinds shop shop "Deployment, Service"
K wait --for=condition=Ready hc/shop -n shop --timeout=30s >/dev/null || { cat "$T/op1.log"; fail "hc/shop not Ready"; }
[ "$(op_status shop shop .status.resourceCount)" = 2 ] || fail "resourceCount $(op_status shop shop .status.resourceCount)"
[ "$(started deployments)" = 1 ] && [ "$(started services)" = 1 ] || fail "deployments/services informers not started"
for r in configmaps secrets serviceaccounts roles; do
	[ "$(started $r)" = 0 ] || fail "$r informer started for a HelmChart without it"
done
[ "$(reqs /api/v1/secrets)" = 1 ] || fail "Secrets listed ($(reqs /api/v1/secrets) requests) for a Secret-free HelmChart"
[ "$(reqs /api/v1/configmaps)" = 1 ] || fail "ConfigMaps listed for a HelmChart without them"
n=$(metric dhg_cached_objects)
[ "$n" -ge 3 ] || fail "cached objects $n (1 HelmChart + Deployment + Service expected)"
sleep 1.5 # the initial lists' add events are mapped and reconciled by now; kubectl wait's watch is closed
[ "$(watches_open)" = 3 ] || fail "$(watches_open) watches open, expected 3 (helmcharts, deployments, services)"
[ "$(op_versions shop shop)" = 1 ] || fail "expected exactly 1 version, got $(op_versions shop shop)"
grep -q 'kind: Deployment' -r "$OUT/shop/shop/templates" && grep -q 'kind: Service' -r "$OUT/shop/shop/templates" \
	|| fail "chart lacks the Deployment or Service"
! grep -rq 'kind: ConfigMap\|kind: Secret' "$OUT/shop/shop/templates" || fail "chart holds a kind not selected"
if K get events -n shop -o jsonpath='{range .items[*]}{.type} {.reason}{"\n"}{end}' | grep -q '^Warning'; then
	fail "Warning events: $(K get events -n shop)"
fi
ok "HelmChart [Deployment, Service]: exactly those informers, Ready, one version, no Secret list"

digest=$(op_status shop shop .status.contentDigest)
ltt=$(K get hc shop -n shop -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastTransitionTime}')
op_stop "$OP_PID" || fail "op1: exit $? on SIGTERM"
op_start op2
# poll the Ready condition through the cold start: never anything but True
bad=""
for _ in $(seq 1 30); do
	s=$(K get hc shop -n shop -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')
	[ "$s" = True ] || bad="$bad $s"
	sleep 0.1
done
wait_for grep -q '"name":"shop","result":"ok"' "$T/op2.log" || { cat "$T/op2.log"; fail "restart: no reconcile of shop/shop"; }
[ -z "$bad" ] || fail "Ready flapped during the cold start:$bad"
[ "$(op_status shop shop .status.contentDigest)" = "$digest" ] || fail "restart: content digest changed"
[ "$(op_versions shop shop)" = 1 ] || fail "restart: new version ($(op_versions shop shop))"
ltt2=$(K get hc shop -n shop -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastTransitionTime}')
[ "$ltt" = "$ltt2" ] || fail "restart: Ready transitioned ($ltt -> $ltt2)"
if grep -q '"result":"error"\|"result":"stalled"\|SourceFailed' "$T/op2.log"; then
	fail "restart: failed reconcile while the caches warmed: $(grep -m3 'SourceFailed\|"result":"error"' "$T/op2.log")"
fi
[ "$(started secrets)" = 0 ] || fail "restart: secrets informer started"
ok "restart: same chart, no flap, no error while the caches warm"

# a second HelmChart selecting a started kind (Service) and a new one (ConfigMap)
hc_kinds shop cfg "Service, ConfigMap"
K wait --for=condition=Ready hc/cfg -n shop --timeout=30s >/dev/null || { cat "$T/op2.log"; fail "hc/cfg not Ready"; }
[ "$(op_status shop cfg .status.resourceCount)" = 2 ] || fail "cfg resourceCount $(op_status shop cfg .status.resourceCount)"
[ "$(started configmaps)" = 1 ] && [ "$(started services)" = 1 ] && [ "$(started secrets)" = 0 ] \
	|| fail "informers after cfg: configmaps=$(started configmaps) services=$(started services) secrets=$(started secrets)"
[ "$(op_versions shop shop)" = 1 ] && [ "$(op_versions shop cfg)" = 1 ] || fail "versions $(op_versions shop shop) $(op_versions shop cfg)"
ok "a second HelmChart starts only its new kind"

# drift still maps events of a lazily started informer
K set image deployment/shop-web -n shop web=nginx:1.26 >/dev/null || fail "set image"
for _ in $(seq 1 100); do [ "$(op_versions shop shop)" = 2 ] && break; sleep 0.05; done
[ "$(op_versions shop shop)" = 2 ] || fail "no new version after set image"
ok "drift on a lazily started informer -> one new version"

op_stop "$OP_PID"
rc=$?
[ $rc = 0 ] || fail "SIGTERM: exit $rc (started informers not stopped cleanly?): $(tail -n 5 "$T/op2.log")"
grep -q '"msg":"informer started' "$T/op2.log" || fail "no 'informer started' log line"
ok "SIGTERM with lazily started informers -> exit 0"

# --watch-namespace: one informer per watched namespace, started only where a HelmChart selects
op_namespace team
op_app team team nginx:1.25
op_start op3 --watch-namespace shop --watch-namespace team
wait_for ready || { cat "$T/op3.log"; fail "op3 not ready"; }
wait_for grep -q '"name":"cfg","result":"ok"' "$T/op3.log" || { cat "$T/op3.log"; fail "op3: no reconcile of shop/cfg"; }
wait_for grep -q '"name":"shop","result":"ok"' "$T/op3.log" || { cat "$T/op3.log"; fail "op3: no reconcile of shop/shop"; }
[ "$(started helmcharts)" = 2 ] || fail "op3: helmcharts informers $(started helmcharts), want 2"
[ "$(started deployments)" = 1 ] && [ "$(started services)" = 1 ] && [ "$(started configmaps)" = 1 ] \
	|| fail "op3: deployments=$(started deployments) services=$(started services) configmaps=$(started configmaps), want 1 each (shop only)"
[ "$(reqs /apis/apps/v1/namespaces/team/deployments)" = 1 ] || fail "op3: team's Deployments listed ($(reqs /apis/apps/v1/namespaces/team/deployments) requests)"
[ "$(op_versions shop shop)" = 2 ] && [ "$(op_versions shop cfg)" = 1 ] || fail "op3: versions $(op_versions shop shop) $(op_versions shop cfg)"
op_stop "$OP_PID" || fail "op3: exit $? on SIGTERM"
ok "--watch-namespace: informers only in the namespace a HelmChart selects"

