#!/usr/bin/env bash
# Restart mid-burst -> converges, no duplicate versions, no lost change. Faults (watches dropped,
# history compacted, 500 and 429 bursts) -> every change gives exactly one correct version, and
# the operator's RSS stays flat.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/operator.sh"
op_setup
op_app shop shop nginx:1.0
op_hc shop shop shop 300ms
op_start op1
K wait --for=condition=Ready hc/shop -n shop --timeout=30s >/dev/null || { tail "$T/op1.log"; fail "not Ready"; }
[ "$(op_versions shop shop)" = 1 ] || fail "first version"

set_tag() { K set image deployment/shop-web -n shop "web=nginx:$1" >/dev/null || fail "set image $1"; }
has_tag() { grep -q "$1" "$OUT/shop/shop/values.yaml"; }
no_dup_versions() {
	local d
	d=$(awk '{print $1}' "$OUT/shop/shop.versions" | sort | uniq -d)
	[ -z "$d" ] || fail "duplicate versions written: $d"
	d=$(awk '{print $2}' "$OUT/shop/shop.versions" | sort | uniq -d)
	[ -z "$d" ] || fail "same content written twice: $d"
}

# ---- restart mid-burst
for i in 1 2 3; do set_tag "2.$i"; done
op_stop "$OP_PID" || true
for i in 4 5 6; do set_tag "2.$i"; done     # changes while the operator is down
op_start op2
K wait --for=condition=Ready hc/shop -n shop --timeout=30s >/dev/null || fail "not Ready after restart"
wait_for has_tag "2.6" || fail "lost change: 2.6 not in the chart after restart"
sleep 1.5
no_dup_versions
v=$(op_versions shop shop)
[ "$(op_status shop shop .status.chartVersion)" = "$(tail -n 1 "$OUT/shop/shop.versions" | awk '{print $1}')" ] || fail "status version != last written"
ok "restart mid-burst: converged at $v versions, last has 2.6, no duplicates"

rss() { awk '/VmRSS/ {print $2}' "/proc/$OP_PID/status"; }
# ---- faults: each change must give exactly one new version
fault() {
	case $1 in
	drop) emu_ctl drop-watches >/dev/null ;;
	compact) emu_ctl compact >/dev/null ;;
	# paths only the operator uses (kubectl talks to /namespaces/shop/deployments/shop-web)
	e500) emu_ctl fail '{"count":4,"code":500,"pathPrefix":"/apis/apps/v1/deployments"}' >/dev/null
	      emu_ctl fail '{"count":2,"code":500,"pathPrefix":"/apis/dhg.deckhouse.io/v1alpha1/namespaces/shop/helmcharts/shop/status"}' >/dev/null
	      emu_ctl drop-watches >/dev/null ;;
	e429) emu_ctl fail '{"count":4,"code":429,"retryAfter":1,"pathPrefix":"/apis/apps/v1/deployments"}' >/dev/null
	      emu_ctl fail '{"count":2,"code":429,"retryAfter":1,"pathPrefix":"/apis/dhg.deckhouse.io/v1alpha1/namespaces/shop/helmcharts/shop/status"}' >/dev/null
	      emu_ctl drop-watches >/dev/null ;;
	esac
}
n=0
rss0=""
for round in 1 2; do
	for f in drop compact e500 e429 drop; do
		n=$((n + 1))
		before=$(op_versions shop shop)
		set_tag "3.$n"
		fault "$f"
		for _ in $(seq 1 100); do has_tag "3.$n" && break; sleep 0.1; done
		has_tag "3.$n" || fail "change 3.$n (fault $f) never written: $(tail -n 5 "$T/op2.log")"
		sleep 0.7
		after=$(op_versions shop shop)
		[ $((after - before)) = 1 ] || fail "change 3.$n under fault $f gave $((after - before)) versions"
	done
	[ -n "$rss0" ] || rss0=$(rss)
done
rss1=$(rss)
no_dup_versions
echo "RSS after first round ${rss0} kB, after $n faulted changes ${rss1} kB"
if ldd "$BUILD/dhg-operator" | grep -qE "libasan|libtsan"; then
	echo "note: sanitizer build (quarantine/shadow memory): RSS not checked"
else
	[ $((rss1 - rss0)) -lt 4096 ] || fail "RSS grew by $((rss1 - rss0)) kB"
fi
curl -sf "http://127.0.0.1:$OP_METRICS/metrics" | grep -E '^dhg_(watch_restarts|relists)' || true
ok "$n changes under faults -> exactly one version each; memory flat"
kill -TERM "$OP_PID"; wait "$OP_PID"; rc=$?
[ $rc = 0 ] || fail "operator exit $rc (sanitizer report?): $(grep -A5 -E 'Sanitizer|ERROR' "$T/op2.log" | head -20)"
