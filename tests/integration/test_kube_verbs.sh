#!/usr/bin/env bash
# The kube client's verbs and discovery against the API emulator: paginated list with selectors,
# create/AlreadyExists, update with a stale resourceVersion -> Conflict, the four patch types
# (server-side apply with a field manager), status subresource, delete with preconditions, and
# a CRD installed while a process runs is found by discovery without a restart.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/kubetool.sh"
emu_start
K() { $TOOL --kubeconfig "$EMU_KUBECONFIG" "$@"; }
jq_() { $PY -c 'import json,sys; d=json.loads(sys.stdin.read()); print(eval(sys.argv[1], {"d": d}))' "$1"; }

# ---- list: pagination and selectors -------------------------------------------------------
for i in 1 2 3 4 5; do
	tier=$([ $i -le 3 ] && echo web || echo db)
	K create v1/configmaps default "{\"metadata\":{\"name\":\"p$i\",\"labels\":{\"tier\":\"$tier\",\"n\":\"$i\"}}}" >/dev/null 2>&1 || fail "create p$i"
done
K list v1/configmaps default --limit 2 >"$T/l" 2>/dev/null || fail "list"
[ "$(jq_ 'd["count"]' <"$T/l")" = 5 ] || fail "paginated list lost items: $(cat "$T/l")"
calls=$(emu_ctl stats | jq_ 'sum(v for k, v in d["byPath"].items() if k.startswith("GET /api/v1/namespaces/default/configmaps"))')
[ "$calls" -ge 3 ] || fail "limit 2 should take 3 pages, saw $calls list calls"
K list v1/configmaps default --selector 'tier=web,n notin (2)' >"$T/l" 2>/dev/null || fail "list selector"
[ "$(jq_ 'd["names"]' <"$T/l")" = "['default/p1', 'default/p3']" ] || fail "selector list: $(cat "$T/l")"
ok "list: 5 objects over $calls pages; label selector 'tier=web,n notin (2)' -> p1 p3"

# response bodies are capped
if K --max-body 200 list v1/configmaps default >/dev/null 2>"$T/err"; then fail "a 200-byte cap should refuse the list"; fi
grep -q 'error: TooBig.*larger than 200 bytes' "$T/err" || fail "body cap: $(cat "$T/err")"
ok "response body cap: $(head -n 1 "$T/err")"

# client-side rate limit: 12 discovery requests at 10 qps with burst 2 take about a second
t0=$(date +%s%3N)
K --qps 10 --burst 2 discover apps/v1 Deployment >/dev/null 2>"$T/err" || fail "discover: $(cat "$T/err")"
dt=$(( $(date +%s%3N) - t0 ))
throttled=$(sed -n 's/.*throttledMs=\([0-9]*\).*/\1/p' "$T/err")
[ "$dt" -ge 850 ] && [ "$throttled" -ge 500 ] || fail "limiter: ${dt} ms, throttled ${throttled} ms: $(cat "$T/err")"
ok "token bucket: 12 requests at 10 qps / burst 2 took ${dt} ms (${throttled} ms throttled)"

# ---- create / update conflict / patches ---------------------------------------------------
if K create v1/configmaps default '{"metadata":{"name":"p1"}}' >/dev/null 2>"$T/err"; then fail "duplicate create"; fi
grep -q 'error: AlreadyExists http=409 reason=AlreadyExists' "$T/err" || fail "AlreadyExists: $(cat "$T/err")"
rv=$(K get v1/configmaps default p1 2>/dev/null | jq_ 'd["metadata"]["resourceVersion"]')
K update v1/configmaps default "{\"metadata\":{\"name\":\"p1\",\"resourceVersion\":\"$rv\"},\"data\":{\"a\":\"1\"}}" >/dev/null 2>&1 || fail "update"
if K update v1/configmaps default "{\"metadata\":{\"name\":\"p1\",\"resourceVersion\":\"$rv\"},\"data\":{\"a\":\"2\"}}" >/dev/null 2>"$T/err"; then
	fail "stale update accepted"
fi
grep -q 'error: Conflict http=409 reason=Conflict' "$T/err" || fail "stale update not Conflict: $(cat "$T/err")"
ok "AlreadyExists and Conflict are distinct"

K patch v1/configmaps default p1 merge '{"data":{"m":"1"}}' >"$T/o" 2>/dev/null || fail "merge patch"
K patch v1/configmaps default p1 json '[{"op":"add","path":"/data/j","value":"2"}]' >"$T/o" 2>/dev/null || fail "json patch"
K patch v1/configmaps default p1 strategic '{"data":{"s":"3"}}' >"$T/o" 2>/dev/null || fail "strategic patch"
[ "$(jq_ 'sorted(d["data"].items())' <"$T/o")" = "[('a', '1'), ('j', '2'), ('m', '1'), ('s', '3')]" ] || fail "patches: $(cat "$T/o")"
apply='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"p1"},"data":{"m":"owned-by-dhg"}}'
K patch v1/configmaps default p1 apply "$apply" --manager dhg-operator --force >"$T/o" 2>/dev/null || fail "apply"
[ "$(jq_ 'd["data"]["m"]' <"$T/o")" = owned-by-dhg ] || fail "apply: $(cat "$T/o")"
jq_ '[m["manager"] for m in d["metadata"].get("managedFields", [])]' <"$T/o" | grep -q dhg-operator || fail "no dhg-operator field manager: $(cat "$T/o")"
if K patch v1/configmaps default p1 apply "$apply" >/dev/null 2>"$T/err"; then fail "apply without a field manager"; fi
grep -q 'field manager' "$T/err" || fail "apply without manager: $(cat "$T/err")"
ok "merge, JSON, strategic-merge patches and server-side apply (fieldManager, force)"

# ---- status subresource -------------------------------------------------------------------
K create apps/v1/deployments default '{"metadata":{"name":"web"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}' >/dev/null 2>&1 || fail "create deployment"
K patch-status apps/v1/deployments default web '{"status":{"readyReplicas":7}}' >/dev/null 2>"$T/err" || fail "patch status: $(cat "$T/err")"
[ "$(K status apps/v1/deployments default web 2>/dev/null | jq_ 'd["status"]["readyReplicas"]')" = 7 ] || fail "status not patched"
ok "status subresource get/patch"

# ---- delete ---------------------------------------------------------------------------------
K delete v1/configmaps default p2 >/dev/null 2>&1 || fail "delete"
if K get v1/configmaps default p2 >/dev/null 2>"$T/err"; then fail "deleted object still there"; fi
grep -q 'error: NotFound http=404' "$T/err" || fail "NotFound: $(cat "$T/err")"
ok "delete, then NotFound"

# ---- discovery finds a CRD installed later, without a restart -------------------------------
K discover example.com/v1 Widget --wait-ms 20000 >"$T/disc" 2>"$T/disc.err" &
DPID=$!
PIDS+=("$DPID")
wait_for grep -q '"miss":1' "$T/disc" || fail "discovery did not report a miss first: $(cat "$T/disc" "$T/disc.err")"
cat >"$T/crd.json" <<'J'
{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.example.com"},
 "spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget"},
  "versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},
   "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}
J
if [ -x "$KUBECTL33" ]; then
	"$KUBECTL33" --kubeconfig "$EMU_KUBECONFIG" apply -f "$T/crd.json" >/dev/null || fail "kubectl apply CRD"
else
	K create apiextensions.k8s.io/v1/customresourcedefinitions - "$(cat "$T/crd.json")" >/dev/null 2>&1 || fail "create CRD"
fi
wait "$DPID" || fail "discovery never found the CRD: $(cat "$T/disc" "$T/disc.err")"
tail -n 1 "$T/disc" | grep -q '"resource":"widgets","namespaced":true,"hasStatus":true' || fail "discovery result: $(cat "$T/disc")"
ok "CRD created later found by the same discovery cache after $(grep -c miss "$T/disc") misses"
