#!/usr/bin/env bash
# The kube client against the API emulator: 429 + Retry-After and 5xx bursts are retried with
# backoff until success (and give up clearly when they never end); 401 and 403 are surfaced
# with their reason; a rotated token file is picked up by a running informer and by new
# requests without a restart; an exec credential plugin is used.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/kubetool.sh"
now_ms() { date +%s%3N; }

# ---- retries -----------------------------------------------------------------------------
emu_start
KC=$EMU_KUBECONFIG
$TOOL --kubeconfig "$KC" create v1/configmaps default '{"metadata":{"name":"r1"}}' >/dev/null 2>&1 || fail "create r1"

emu_ctl fail '{"count":2,"code":429,"retryAfter":1,"pathPrefix":"/api/v1/namespaces/default/configmaps"}' >/dev/null
t0=$(now_ms)
$TOOL --kubeconfig "$KC" list v1/configmaps default >"$T/out" 2>"$T/err" || fail "list after 429s failed: $(cat "$T/err")"
dt=$(( $(now_ms) - t0 ))
grep -q '"default/r1"' "$T/out" || fail "list result wrong: $(cat "$T/out")"
grep -q 'retries=2' "$T/err" || fail "expected 2 retries: $(cat "$T/err")"
[ "$dt" -ge 1900 ] || fail "Retry-After: 1 not honored (2 retries in ${dt} ms)"
ok "429 x2 with Retry-After: 1 -> success after ${dt} ms, 2 retries"

emu_ctl fail '{"count":4,"code":500,"pathPrefix":"/api/v1/namespaces/default/configmaps/r1"}' >/dev/null
t0=$(now_ms)
$TOOL --kubeconfig "$KC" get v1/configmaps default r1 >"$T/out" 2>"$T/err" || fail "get after 500s failed: $(cat "$T/err")"
dt=$(( $(now_ms) - t0 ))
grep -q 'retries=4' "$T/err" || fail "expected 4 retries: $(cat "$T/err")"
# jittered exponential backoff from 200 ms: 4 waits are at least 100+200+400+800 ms
[ "$dt" -ge 1500 ] && [ "$dt" -le 12000 ] || fail "backoff timing off: ${dt} ms for 4 retries"
ok "500 x4 -> success after ${dt} ms with backoff"

emu_ctl fail '{"count":10,"code":503,"pathPrefix":"/api/v1/namespaces/default/configmaps/r1"}' >/dev/null
if $TOOL --kubeconfig "$KC" --retries 2 get v1/configmaps default r1 >"$T/out" 2>"$T/err"; then
	fail "endless 503s should fail"
fi
grep -q 'error: Unavailable http=503' "$T/err" || fail "503 not surfaced: $(cat "$T/err")"
grep -q 'retries=2' "$T/err" || fail "expected exactly 2 retries: $(cat "$T/err")"
emu_ctl reset >/dev/null
ok "endless 503 -> gives up after 2 retries: $(head -n 1 "$T/err")"

# a watch whose connection is refused at first is retried (informer syncs once it answers)
emu_ctl fail '{"count":2,"code":503,"verb":"list","pathPrefix":"/api/v1/namespaces/default/configmaps"}' >/dev/null
kubetool_informer_start i0 "$KC" v1/configmaps default # fails unless it syncs after the list 503s
touch "$T/i0.stop"
wait "$INF" || fail "informer exit $?"
grep -q '"default/r1"' "$T/i0.cache" || fail "cache lacks r1: $(cat "$T/i0.cache")"
ok "informer list retried through 503s"

# 403 is surfaced with its reason
emu_ctl fail '{"count":1,"code":403,"pathPrefix":"/api/v1/namespaces/default/configmaps/r1"}' >/dev/null
if $TOOL --kubeconfig "$KC" get v1/configmaps default r1 >"$T/out" 2>"$T/err"; then fail "403 should fail"; fi
grep -q 'error: Forbidden http=403 reason=Forbidden' "$T/err" || fail "403 not surfaced: $(cat "$T/err")"
grep -q 'retries=0' "$T/err" || fail "403 must not be retried: $(cat "$T/err")"
ok "403: $(head -n 1 "$T/err")"
emu_stop

# ---- tokens: 401, rotation, exec plugin --------------------------------------------------
echo tok-1 >"$T/server-tokens"
emu_start --token-file "$T/server-tokens"
KC=$EMU_KUBECONFIG
# 401 without / with a wrong token
cat >"$T/kc-bad" <<KC
apiVersion: v1
kind: Config
current-context: e
clusters: [{name: e, cluster: {server: "$EMU_URL"}}]
contexts: [{name: e, context: {cluster: e, user: u}}]
users: [{name: u, user: {token: not-valid-secret}}]
KC
if $TOOL --kubeconfig "$T/kc-bad" get v1/namespaces - default >"$T/out" 2>"$T/err"; then fail "bad token accepted"; fi
grep -q 'error: Unauthorized http=401 reason=Unauthorized' "$T/err" || fail "401 not surfaced: $(cat "$T/err")"
grep -q 'not-valid-secret' "$T/err" && fail "token leaked into the error"
ok "401: $(head -n 1 "$T/err")"

# token file, rotated while an informer runs
echo tok-1 >"$T/client-token"
cat >"$T/kc-file" <<KC
apiVersion: v1
kind: Config
current-context: e
clusters: [{name: e, cluster: {server: "$EMU_URL"}}]
contexts: [{name: e, context: {cluster: e, user: u, namespace: default}}]
users: [{name: u, user: {tokenFile: client-token}}]
KC
kubetool_informer_start i1 "$T/kc-file" v1/configmaps default # with tokenFile
echo tok-2 >"$T/server-tokens"   # the server now only accepts tok-2
echo tok-2 >"$T/client-token"    # ... and the mounted token file was rotated
emu_ctl drop-watches >/dev/null   # the informer must reconnect with the new token
curl -sS -H "Authorization: Bearer tok-2" -H 'Content-Type: application/json' -X POST \
	-d '{"metadata":{"name":"after-rotation"}}' "$EMU_URL/api/v1/namespaces/default/configmaps" >/dev/null
wait_for grep -q after-rotation "$T/i1.events" || fail "informer missed the change after token rotation: $(cat "$T/i1.err")"
touch "$T/i1.stop"
wait "$INF" || fail "informer exit $?"
$TOOL --kubeconfig "$T/kc-file" get v1/configmaps default after-rotation >/dev/null 2>"$T/err" || fail "get with rotated token: $(cat "$T/err")"
ok "rotated token file picked up by a running informer and by new requests"

# exec credential plugin (client.authentication.k8s.io/v1), cached until expirationTimestamp
cat >"$T/cred.sh" <<'SH'
#!/bin/sh
echo run >> "$COUNT_FILE"
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"2999-01-01T00:00:00Z"}}\n' "$(cat "$TOKEN_SRC")"
SH
chmod +x "$T/cred.sh"
cat >"$T/kc-exec" <<KC
apiVersion: v1
kind: Config
current-context: e
clusters: [{name: e, cluster: {server: "$EMU_URL"}}]
contexts: [{name: e, context: {cluster: e, user: u}}]
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./cred.sh
      env: [{name: COUNT_FILE, value: "$T/exec-count"}, {name: TOKEN_SRC, value: "$T/client-token"}]
KC
rm -f "$T/exec-count"
$TOOL --kubeconfig "$T/kc-exec" discover apps/v1 Deployment >"$T/out" 2>"$T/err" || fail "exec plugin: $(cat "$T/err")"
grep -q '"resource":"deployments"' "$T/out" || fail "discovery: $(cat "$T/out")"
runs=$(wc -l <"$T/exec-count")
reqs=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' "$T/err")
[ "$runs" -eq 1 ] && [ "$reqs" -gt 3 ] || fail "exec plugin ran $runs times for $reqs requests (should be cached)"
ok "exec plugin: 1 run for $reqs requests"
