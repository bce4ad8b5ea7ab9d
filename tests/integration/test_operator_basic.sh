#!/usr/bin/env bash
# Operator end to end against the emulator: CRD + HelmChart -> Ready, chart written and faithful
# (helm template), status filled, printer columns, metrics/probes; drift with `kubectl set image`
# gives exactly one new version; unrelated, status-only and no-op changes give none; a burst in
# the debounce window gives one version; SIGTERM exits 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/operator.sh"
op_setup
op_app shop shop nginx:1.25
op_app shop other busybox:1.36
op_hc shop shop shop 1s
op_start op1
K wait --for=condition=Ready hc/shop -n shop --timeout=30s >/dev/null || { cat "$T/op1.log"; fail "hc/shop not Ready"; }
ok "Ready"
[ "$(op_versions shop shop)" = 1 ] || fail "expected 1 version, got $(op_versions shop shop)"
[ "$(op_status shop shop .status.chartVersion)" = 0.1.0 ] || fail "chartVersion"
for f in observedGeneration contentDigest resourceCount lastGeneratedTime local.path; do
	[ -n "$(op_status shop shop .status.$f)" ] || fail "status.$f empty: $(K get hc shop -n shop -o json)"
done
[ "$(op_status shop shop .status.resourceCount)" = 3 ] || fail "resourceCount $(op_status shop shop .status.resourceCount)"
out=$(K get hc -n shop)
grep -qE '^shop +shop +0\.1\.0 +True +shop 0\.1\.0 written to local' <<<"$out" || fail "printer columns: $out"
ok "status + printer columns"
# fidelity of the written chart
"$HELM3" template shop "$OUT/shop/shop" --namespace shop >"$T/rendered.yaml" || fail "helm template"
# compare with the live objects (API-server defaults included), as the operator saw them
K get deployments,services,configmaps -n shop -l app.kubernetes.io/part-of=shop -o yaml >"$T/live.yaml" || fail "get live"
$PY "$ROOT/tests/integration/fidelity.py" --input "$T/live.yaml" --rendered "$T/rendered.yaml" --namespace shop \
	|| fail "written chart does not reproduce the app"
ok "fidelity"
# probes and metrics
curl -sf "http://127.0.0.1:$OP_PROBE/readyz" >/dev/null || fail "readyz"
curl -sf "http://127.0.0.1:$OP_PROBE/healthz" >/dev/null || fail "healthz"
curl -sf "http://127.0.0.1:$OP_METRICS/metrics" >"$T/metrics" || fail "metrics"
for m in 'dhg_reconcile_total{result="success"}' dhg_reconcile_duration_seconds_bucket dhg_workqueue_depth \
	dhg_workqueue_adds_total dhg_workqueue_retries_total dhg_watch_restarts_total dhg_relists_total \
	'dhg_chart_writes_total{output="local"}' 'dhg_chart_last_write_timestamp_seconds{helmchart="shop/shop"}' \
	process_resident_memory_bytes process_cpu_seconds_total; do
	grep -qF "$m" "$T/metrics" || fail "metric $m missing"
done
ok "metrics"
K get events -n shop -o jsonpath='{.items[*].reason}' 2>/dev/null | grep -q Generated || fail "no Generated event: $(K get events -n shop 2>&1 | head)"
K describe hc shop -n shop | grep -qE 'Normal +Generated .*dhg-operator +shop 0\.1\.0 written' || fail "Generated event not in kubectl describe"
ok "events (kubectl describe)"

# drift: set image -> exactly one new version with the new image, within debounce + 1 s
t0=$(date +%s.%N)
K set image deployment/shop-web -n shop web=nginx:1.26 >/dev/null || fail "set image"
for _ in $(seq 1 60); do [ "$(op_versions shop shop)" = 2 ] && break; sleep 0.05; done
t1=$(date +%s.%N)
[ "$(op_versions shop shop)" = 2 ] || fail "no new version after set image"
lat=$($PY -c "print(round($t1-$t0,2))")
$PY -c "import sys; sys.exit(0 if $t1-$t0 <= 2.0 else 1)" || fail "drift took ${lat}s (> debounce 1s + 1s)"
grep -rq 'nginx:1.26\|tag: "1.26"\|1.26' "$OUT/shop/shop/values.yaml" || fail "new image not in values.yaml"
op_wait_status shop shop .status.chartVersion 0.1.1 || fail "status chartVersion not 0.1.1"
ok "drift -> 0.1.1 in ${lat}s"

# unrelated object, status-only change, no-op apply -> no new version
base=$(op_versions shop shop)
[ "$base" = 2 ] || fail "expected 2 versions after drift, got $base"
K set image deployment/other-web -n shop web=busybox:1.38 >/dev/null
K patch deployment shop-web -n shop --subresource=status --type=merge -p '{"status":{"observedGeneration":7,"replicas":2}}' >/dev/null 2>&1 \
	|| emu_curl -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"status":{"replicas":2}}' \
		"$EMU_URL/apis/apps/v1/namespaces/shop/deployments/shop-web/status" >/dev/null
K get deployment shop-web -n shop -o yaml >"$T/cur.yaml"
K apply -f "$T/cur.yaml" >/dev/null 2>&1 || true
sleep 2.5
[ "$(op_versions shop shop)" = "$base" ] || fail "unrelated/status-only/no-op change made a version ($(op_versions shop shop) != $base)"
ok "no version for unrelated, status-only and no-op changes"

# burst: 50 changes in the debounce window -> exactly one new version
K patch hc shop -n shop --type=merge -p '{"spec":{"sync":{"debounce":"4s"}}}' >/dev/null || fail "patch debounce"
sleep 1
[ "$(op_versions shop shop)" = "$base" ] || fail "a spec change without content change made a version"
t0=$(date +%s.%N)
for i in $(seq 1 50); do
	emu_curl -f -X PATCH -H 'Content-Type: application/merge-patch+json' -d "{\"data\":{\"N\":\"$i\"}}" \
		"$EMU_URL/api/v1/namespaces/shop/configmaps/shop-config" >/dev/null || fail "patch $i"
done
echo "burst took $($PY -c "import time; print(round(time.time()-$t0,2))")s"
sleep 5.5
[ "$(op_versions shop shop)" = $((base + 1)) ] || fail "burst gave $(( $(op_versions shop shop) - base )) versions, want 1"
grep -q '"50"\|: "50"\|50' "$OUT/shop/shop/values.yaml" || grep -rq '50' "$OUT/shop/shop/templates" || fail "last burst value missing"
ok "burst of 50 -> one version"

# suspend: no writes, Ready=False/Suspended; resume: the change is written
K patch hc shop -n shop --type=merge -p '{"spec":{"suspend":true}}' >/dev/null
op_wait_status shop shop '.status.conditions[?(@.type=="Ready")].reason' Suspended || fail "not Suspended"
[ "$(op_status shop shop '.status.conditions[?(@.type=="Ready")].status')" = False ] || fail "Suspended but Ready is not False"
v=$(op_versions shop shop)
K set image deployment/shop-web -n shop web=nginx:1.28 >/dev/null
sleep 5
[ "$(op_versions shop shop)" = "$v" ] || fail "a suspended HelmChart wrote"
K patch hc shop -n shop --type=merge -p '{"spec":{"suspend":false}}' >/dev/null
K wait --for=condition=Ready hc/shop -n shop --timeout=20s >/dev/null || fail "not Ready after resume"
[ "$(op_versions shop shop)" = $((v + 1)) ] || fail "resume: $(op_versions shop shop) versions, want $((v + 1))"
grep -q 1.28 "$OUT/shop/shop/values.yaml" || fail "resume: change not written"
ok "suspend/resume"

# delete: work stops, written charts stay
K delete hc shop -n shop >/dev/null || fail "delete hc"
sleep 1
v=$(op_versions shop shop)
K set image deployment/shop-web -n shop web=nginx:1.29 >/dev/null
sleep 2.5
[ "$(op_versions shop shop)" = "$v" ] || fail "a deleted HelmChart still writes"
[ -f "$OUT/shop/shop/Chart.yaml" ] || fail "written chart removed on delete"
ok "delete keeps the chart, stops the work"

# graceful shutdown
kill -TERM "$OP_PID"
wait "$OP_PID"; rc=$?
[ $rc = 0 ] || fail "operator exit $rc on SIGTERM"
grep -q '"reconciled"' "$T/op1.log" || fail "no reconcile log lines"
ok "SIGTERM -> exit 0"
