#!/usr/bin/env bash
# Two replicas with --leader-elect: exactly one writes; SIGTERM of the leader releases the Lease
# (fast hand-over); SIGKILL of the leader -> the other takes over within the lease duration
# (15 s + one 2 s retry period); nothing is written twice. A standby starts no object informer
# (they start on demand, on the leader); the new leader starts them after the hand-over.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/operator.sh"
op_setup
op_namespace dhg-system
op_app shop shop nginx:1.0
op_hc shop shop shop 200ms
LE=(--leader-elect --leader-election-namespace dhg-system)
op_start a "${LE[@]}"; A=$OP_PID
wait_for grep -q '"became leader"' "$T/a.log" || fail "a never became leader"
A_PROBE=$OP_PROBE; A_METRICS=$OP_METRICS
op_start b "${LE[@]}"; B=$OP_PID; B_PROBE=$OP_PROBE; B_METRICS=$OP_METRICS
# object informers start on demand (the leader's reconciles): dhg_informers_started{resource=deployments}
deploy_inf() { curl -sf "http://127.0.0.1:$1/metrics" | awk '$1 == "dhg_informers_started{resource=\"deployments\"}" { print $2 }'; }
K wait --for=condition=Ready hc/shop -n shop --timeout=30s >/dev/null || fail "not Ready"
# readiness does not depend on leadership: the standby is ready while a holds the Lease
readyz() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz"; }
ready200() { [ "$(readyz "$1")" = 200 ]; }
wait_for ready200 "$B_PROBE" || fail "standby b: /readyz $(readyz "$B_PROBE"), want 200 (rollouts would hang)"
[ "$(readyz "$A_PROBE")" = 200 ] || fail "leader a: /readyz $(readyz "$A_PROBE")"
sleep 1
grep -q '"became leader"' "$T/b.log" && fail "b became leader while a holds the lease"
grep -q '"caches synced; waiting for leadership"' "$T/b.log" || fail "b is not waiting for leadership with synced caches"
grep -q '"reconciled"' "$T/b.log" && fail "standby b reconciled: $(grep '"reconciled"' "$T/b.log" | head -n 1)"
[ "$(deploy_inf "$A_METRICS")" = 1 ] || fail "leader a: deployments informer $(deploy_inf "$A_METRICS"), want 1"
[ "$(deploy_inf "$B_METRICS")" = 0 ] || fail "standby b: deployments informer $(deploy_inf "$B_METRICS"), want 0 (not started before it leads)"
ok "standby b is ready (/readyz 200) while a holds the Lease, reconciles nothing, starts no object informer"
[ "$(K get lease dhg-operator.dhg.deckhouse.io -n dhg-system -o jsonpath='{.spec.holderIdentity}')" != "" ] || fail "lease has no holder"
K set image deployment/shop-web -n shop web=nginx:1.1 >/dev/null
wait_for grep -q '1.1' "$OUT/shop/shop/values.yaml" || fail "change not written"
sleep 1
[ "$(op_versions shop shop)" = 2 ] || fail "expected 2 versions, got $(op_versions shop shop)"
[ "$(grep -c '"reconciled"' "$T/b.log" || true)" = 0 ] || fail "standby b reconciled or wrote"
ok "one leader writes; the other waits"

# SIGTERM: a releases the lease, b takes over at once, writes nothing new
t0=$(date +%s.%N)
kill -TERM "$A"; wait "$A"; rc=$?
[ $rc = 0 ] || fail "leader exit $rc on SIGTERM"
grep -q '"released leader lease"' "$T/a.log" || fail "a did not release the lease"
wait_for grep -q '"became leader"' "$T/b.log" || fail "b did not take over"
dt=$($PY -c "import time; print(round(time.time()-$t0,1))")
$PY -c "import sys; sys.exit(0 if $dt <= 4 else 1)" || fail "hand-over after release took ${dt}s"
K wait --for=condition=Ready hc/shop -n shop --timeout=20s >/dev/null
sleep 1.5
[ "$(op_versions shop shop)" = 2 ] || fail "new leader wrote again ($(op_versions shop shop) versions)"
deploy_inf_is() { [ "$(deploy_inf "$1")" = "$2" ]; }
wait_for deploy_inf_is "$B_METRICS" 1 || fail "new leader b: deployments informer $(deploy_inf "$B_METRICS"), want 1"
ok "graceful hand-over in ${dt}s, b started its object informers, nothing rewritten"

# SIGKILL of the leader (b): a new replica c takes over within the lease duration
op_start c "${LE[@]}"; C=$OP_PID
sleep 2
K set image deployment/shop-web -n shop web=nginx:1.2 >/dev/null
wait_for grep -q '1.2' "$OUT/shop/shop/values.yaml" || fail "change 1.2 not written by b"
t0=$(date +%s.%N)
kill -KILL "$B"; wait "$B" 2>/dev/null || true
for _ in $(seq 1 250); do grep -q '"became leader"' "$T/c.log" && break; sleep 0.1; done
grep -q '"became leader"' "$T/c.log" || fail "c did not take over within 25 s"
dt=$($PY -c "import time; print(round(time.time()-$t0,1))")
$PY -c "import sys; sys.exit(0 if $dt <= 18 else 1)" || fail "take-over after SIGKILL took ${dt}s (> 15 s lease + observation lag)"
sleep 2
[ "$(op_versions shop shop)" = 3 ] || fail "after take-over: $(op_versions shop shop) versions, want 3"
K set image deployment/shop-web -n shop web=nginx:1.3 >/dev/null
wait_for grep -q '1.3' "$OUT/shop/shop/values.yaml" || fail "c does not write"
sleep 1
[ "$(op_versions shop shop)" = 4 ] || fail "want 4 versions, got $(op_versions shop shop)"
d=$(awk '{print $1}' "$OUT/shop/shop.versions" | sort | uniq -d); [ -z "$d" ] || fail "version written twice: $d"
ok "take-over after SIGKILL in ${dt}s; no version written twice"
op_stop "$C"
