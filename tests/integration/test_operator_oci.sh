#!/usr/bin/env bash
# The operator pushing charts to an OCI registry (issue 5, "through the operator"): emulator +
# docker-registry over TLS (test CA) with htpasswd auth + dhg-operator. A HelmChart with
# spec.output.oci and a kubernetes.io/dockerconfigjson Secret (+ ca.crt) -> Ready, status.oci
# holds the reference and the registry's manifest digest; helm 3.17 and 4.1 pull / show chart
# that reference and get exactly the chart the operator generated (same files as its local
# output); drift -> a new version under a new tag, old tag untouched; no-op resyncs push nothing;
# a tag already holding other content -> Ready=False/OCIFailed + Stalled=True, no backoff retries
# (only the periodic resync tries again), the tag is not overwritten; a version bump recovers.
# Also: a basic-auth Secret (username/password) with `insecure: true` to a plain-HTTP registry.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/operator.sh"
. "$(dirname "$0")/registry.sh"

command -v docker-registry >/dev/null || skip "docker-registry not installed"
command -v htpasswd >/dev/null || skip "htpasswd not installed"
[ -x "$HELM3" ] && [ -x "$HELM4" ] || skip "helm binaries missing (make deps)"
[ -x "$BUILD/dhg" ] || fail "no $BUILD/dhg"

export HOME=$T/home HELM_CACHE_HOME=$T/helm/cache HELM_CONFIG_HOME=$T/helm/config HELM_DATA_HOME=$T/helm/data
export HELM_REGISTRY_CONFIG=$T/helm/registry.json
mkdir -p "$HOME"

registry_start --tls --htpasswd || fail "registry did not start"
# Helm 3 talks plain HTTP to loopback IPs: use the host-name alias (in the certificate) if any.
RH=${REG_ALIAS_HOST:-$REG_HOST}
REPO=charts
b64() { printf '%s' "$1" | base64 -w0; }
# registry API with the test credentials: reg_curl PATH [curl args]
reg_curl() { local p=$1; shift; curl -fsS --cacert "$REG_CA" -u "$REG_USER:$REG_PASS" "$@" "https://$REG_HOST/v2/$p"; }
tag_digest() { # TAG -> manifest digest ("" when the tag does not exist)
	reg_curl "$REPO/shop/manifests/$1" -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' 2>/dev/null \
		| tr -d '\r' | sed -n 's/^docker-content-digest: //Ip'
}
tags() { reg_curl "$REPO/shop/tags/list" | $PY -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin).get("tags") or [])))'; }
# wait_eq "COMMAND" WANT: re-evaluates COMMAND until it prints WANT (~20 s)
wait_eq() { for _ in $(seq 1 200); do [ "$(eval "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }
cond() { op_status shop shop ".status.conditions[?(@.type==\"Ready\")].$1"; }
oci_writes() { curl -sf "http://127.0.0.1:$OP_METRICS/metrics" | sed -n 's/^dhg_chart_writes_total{output="oci"} //p'; }

op_setup
op_app shop shop nginx:1.25
dcj=$(printf '{"auths":{"%s":{"auth":"%s"}}}' "$RH" "$(b64 "$REG_USER:$REG_PASS")")
cat >"$T/hc.yaml" <<Y
apiVersion: v1
kind: Secret
metadata: {name: registry-creds, namespace: shop}
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: $(b64 "$dcj")
  ca.crt: $(base64 -w0 <"$REG_CA")
---
apiVersion: dhg.deckhouse.io/v1alpha1
kind: HelmChart
metadata: {name: shop, namespace: shop}
spec:
  chart: {name: shop, version: 0.1.0}
  source: {cluster: {selector: {matchLabels: {app.kubernetes.io/part-of: shop}}}}
  output:
    local: {}
    oci: {repository: "oci://$RH/$REPO", secretRef: {name: registry-creds}}
  sync: {debounce: 0s, interval: 2s}
Y
K apply -f "$T/hc.yaml" >/dev/null || fail "apply Secret + HelmChart"
op_start op1
K wait --for=condition=Ready hc/shop -n shop --timeout=30s >/dev/null || { tail -n 30 "$T/op1.log"; K get hc shop -n shop -o yaml; fail "hc/shop not Ready"; }
ref=$(op_status shop shop .status.oci.reference)
dig=$(op_status shop shop .status.oci.digest)
[ "$ref" = "$RH/$REPO/shop:0.1.0" ] || fail "status.oci.reference = '$ref', want $RH/$REPO/shop:0.1.0"
[[ $dig =~ ^sha256:[0-9a-f]{64}$ ]] || fail "status.oci.digest = '$dig'"
d0=$(tag_digest 0.1.0)
[ "$d0" = "$dig" ] || fail "registry has 0.1.0 as '$d0', status says $dig"
out=$(K get hc shop -n shop)
grep -q 'written to .*oci' <<<"$out" || fail "printer columns do not name the OCI push: $out"
grep -qF "and oci ${dig:0:19}" <<<"$(cond message)" || fail "Ready message lacks the OCI digest: $(cond message)"
grep -F "$REG_PASS" "$T/op1.log" && fail "registry password in the operator log"
grep -qF "$REG_PASS" <<<"$(K get hc shop -n shop -o json)" && fail "registry password in the status"
ok "Ready; status.oci = $ref @ $dig (the registry's digest)"

# helm 3.17 and 4.1 consume it: the pulled archive is the pushed layer, byte for byte, and it
# holds exactly the files of the chart the operator generated (its local output).
layer=$(reg_curl "$REPO/shop/manifests/0.1.0" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	| $PY -c 'import json,sys; m=json.load(sys.stdin); assert m["layers"][0]["mediaType"]=="application/vnd.cncf.helm.chart.content.v1.tar+gzip"; print(m["layers"][0]["digest"])') \
	|| fail "manifest layer"
for H in "$HELM3" "$HELM4"; do
	v=$($H version --short 2>/dev/null | cut -c1-5)
	hh=$RH
	if [ -z "$REG_ALIAS_HOST" ]; then
		[ "$H" = "$HELM3" ] && { echo "  note: no host name resolving to 127.0.0.1: $v TLS pull not checked"; continue; }
	fi
	rm -rf "$T/pull" "$T/x" && mkdir -p "$T/pull" "$T/x"
	rm -f "$HELM_REGISTRY_CONFIG"
	printf '%s\n' "$REG_PASS" | $H registry login "$hh" --ca-file "$REG_CA" --username "$REG_USER" --password-stdin \
		>"$T/login.log" 2>&1 || { cat "$T/login.log"; fail "$v registry login"; }
	$H pull "oci://$hh/$REPO/shop" --version 0.1.0 --ca-file "$REG_CA" -d "$T/pull" >"$T/pull.log" 2>&1 \
		|| { cat "$T/pull.log"; fail "$v pull"; }
	grep -q "Digest: $dig" "$T/pull.log" || fail "$v pull digest: $(cat "$T/pull.log")"
	[ "sha256:$(sha256sum <"$T/pull/shop-0.1.0.tgz" | cut -d' ' -f1)" = "$layer" ] || fail "$v: pulled archive != pushed layer"
	tar -xzf "$T/pull/shop-0.1.0.tgz" -C "$T/x"
	diff -r "$T/x/shop" "$OUT/shop/shop" >"$T/diff" || { cat "$T/diff"; fail "$v: pulled chart differs from the generated chart"; }
	$H show chart "oci://$hh/$REPO/shop" --version 0.1.0 --ca-file "$REG_CA" >"$T/show" 2>"$T/show.err" \
		|| { cat "$T/show.err"; fail "$v show chart"; }
	grep -qx "name: shop" "$T/show" && grep -qx "version: 0.1.0" "$T/show" || fail "$v show chart: $(cat "$T/show")"
	ok "$v pull + show chart: the generated chart, byte for byte"
done

# drift -> 0.1.1 pushed as a new tag; 0.1.0 untouched
K set image deployment/shop-web -n shop web=nginx:1.26 >/dev/null || fail "set image"
wait_eq 'op_status shop shop .status.oci.reference' "$RH/$REPO/shop:0.1.1" \
	|| { tail -n 20 "$T/op1.log"; fail "no 0.1.1 push after the drift: $(op_status shop shop .status)"; }
d1=$(tag_digest 0.1.1)
[ -n "$d1" ] && [ "$d1" = "$(op_status shop shop .status.oci.digest)" ] && [ "$d1" != "$d0" ] || fail "0.1.1 digest '$d1'"
[ "$(tag_digest 0.1.0)" = "$d0" ] || fail "0.1.0 changed after the drift"
[ "$(tags)" = "0.1.0 0.1.1" ] || fail "tags: $(tags)"
$HELM4 show values "oci://$RH/$REPO/shop" --version 0.1.1 --ca-file "$REG_CA" 2>/dev/null | grep -q '1.26' \
	|| fail "0.1.1 values do not hold the new image"
ok "drift -> 0.1.1 ($d1), 0.1.0 intact"

# no-op resyncs (interval 2s, plus an explicit reconcile request) push nothing
w0=$(oci_writes)
[ "$w0" = 2 ] || fail "dhg_chart_writes_total{output=oci} = '$w0', want 2"
touch "$T/mark"
l0=$(wc -l <"$T/op1.log")
sleep 0.1
K annotate hc shop -n shop --overwrite dhg.deckhouse.io/reconcile-requested-at=noop-1 >/dev/null || fail "annotate"
wait_eq 'op_status shop shop .status.lastHandledReconcileAt' noop-1 || fail "reconcile request not handled"
sleep 4.5 # two more periodic resyncs
[ "$(oci_writes)" = "$w0" ] || fail "a no-op resync pushed ($(oci_writes) writes)"
[ "$(tags)" = "0.1.0 0.1.1" ] || fail "tags after no-op resyncs: $(tags)"
new=$(find "$REG_DIR/data" -newer "$T/mark" \( -type f -o -type d \) | head -n 5)
[ -z "$new" ] || fail "registry storage changed during no-op resyncs: $new"
[ "$(cond status)" = True ] || fail "not Ready after no-op resyncs"
# the writer was not even called: it logs every push, "already pushed" included
tail -n +$((l0 + 1)) "$T/op1.log" >"$T/noop.log"
[ "$(grep -c '"reconciled"' "$T/noop.log")" -ge 3 ] || fail "expected >= 3 resyncs in 4.5 s: $(cat "$T/noop.log")"
grep -q '"msg":"oci: ' "$T/noop.log" && fail "the OCI writer ran during no-op resyncs: $(grep '"oci: ' "$T/noop.log")"
grep '"reconciled"' "$T/noop.log" | grep -qv '"result":"ok"' && fail "a no-op resync did not end ok: $(cat "$T/noop.log")"
ok "no-op resyncs: no push, registry storage untouched"

# someone else already published 0.1.2 with other content: the operator must not overwrite it
registry_chart "$T/foreign" shop 0.1.2
printf '%s\n' "$REG_PASS" | $DHG push "$T/foreign" "oci://$RH/$REPO" --ca-file "$REG_CA" --username "$REG_USER" \
	--password-stdin >"$T/foreign.out" || fail "pushing the foreign 0.1.2"
df=$(sed -n 's/^Digest: //p' "$T/foreign.out")
r0=$(curl -sf "http://127.0.0.1:$OP_METRICS/metrics" | sed -n 's/^dhg_workqueue_retries_total //p')
K set image deployment/shop-web -n shop web=nginx:1.27 >/dev/null || fail "set image 1.27"
wait_eq 'cond reason' OCIFailed || { tail -n 20 "$T/op1.log"; fail "no OCIFailed: $(op_status shop shop .status)"; }
[ "$(cond status)" = False ] || fail "Ready is not False on a conflict"
msg=$(cond message)
grep -q "$RH/$REPO/shop:0.1.2 already exists with digest $df" <<<"$msg" && grep -q "refusing to overwrite" <<<"$msg" \
	|| fail "conflict message: $msg"
grep -qF "$REG_PASS" <<<"$msg" && fail "password in the message"
[ "$(tag_digest 0.1.2)" = "$df" ] || fail "0.1.2 was overwritten"
[ "$(op_status shop shop .status.oci.reference)" = "$RH/$REPO/shop:0.1.1" ] || fail "status.oci moved on a failed push"
ok "existing 0.1.2 with other content -> Ready=False/OCIFailed: $msg"
# What the operator does next: a conflict is not transient (nothing changes until the spec
# does, or the foreign tag goes away), so the HelmChart is Stalled and the key is NOT retried
# with the work queue's backoff; only the periodic resync (interval 2s here) tries it again.
metric() { curl -sf "http://127.0.0.1:$OP_METRICS/metrics" | sed -n "s/^$1 //p"; }
stalled() { op_status shop shop '.status.conditions[?(@.type=="Stalled")].'"$1"; }
wait_eq 'stalled status' True || fail "no Stalled=True on a conflict: $(op_status shop shop .status.conditions)"
[ "$(stalled reason)" = OCIFailed ] || fail "Stalled reason '$(stalled reason)', want OCIFailed"
[ -z "$(op_status shop shop '.status.conditions[?(@.type=="Reconciling")].status')" ] \
	|| fail "Reconciling still set while Stalled: $(op_status shop shop .status.conditions)"
sleep 0.5 # let the reconcile that reported the conflict finish its log line
r0=$(metric dhg_workqueue_retries_total)
e0=$(metric 'dhg_reconcile_total{result="error"}')
t0=$(metric 'dhg_reconcile_total{result="terminal"}')
l0=$(wc -l <"$T/op1.log")
sleep 5
r1=$(metric dhg_workqueue_retries_total)
e1=$(metric 'dhg_reconcile_total{result="error"}')
t1=$(metric 'dhg_reconcile_total{result="terminal"}')
tail -n +$((l0 + 1)) "$T/op1.log" | grep '"reconciled"' | grep '"name":"shop"' >"$T/stalled.log" || true
n=$(wc -l <"$T/stalled.log")
echo "  in 5 s while Stalled: retries +$((r1 - r0)), errors +$((${e1:-0} - ${e0:-0})), terminal +$((${t1:-0} - ${t0:-0})), reconciles $n"
[ "$r1" = "$r0" ] || fail "the conflict was retried with backoff: dhg_workqueue_retries_total $r0 -> $r1"
[ "${e1:-0}" = "${e0:-0}" ] || fail "dhg_reconcile_total{result=error} grew $e0 -> $e1 while Stalled"
# only the periodic resync: 2 s interval -> 2..3 reconciles in 5 s, each one stalled again
[ "$n" -ge 1 ] && [ "$n" -le 4 ] || fail "reconciles in 5 s while Stalled: $n (want 1..4, the 2 s resync): $(cat "$T/stalled.log")"
# The metric and the log are read a moment apart: a resync landing in between may be in one only.
dt=$((${t1:-0} - ${t0:-0}))
[ "$dt" -ge $((n - 1)) ] && [ "$dt" -le $((n + 1)) ] || fail "terminal reconciles +$dt, $n logged"
grep -v '"result":"stalled"' "$T/stalled.log" && fail "a resync while Stalled did not end stalled"
[ "$(cond reason)" = OCIFailed ] && [ "$(stalled status)" = True ] || fail "no longer Stalled/OCIFailed: $(op_status shop shop .status.conditions)"
[ "$(tag_digest 0.1.2)" = "$df" ] || fail "0.1.2 was overwritten by a resync"
[ "$(tags)" = "0.1.0 0.1.1 0.1.2" ] || fail "tags: $(tags)"
ok "conflict -> Stalled=True/OCIFailed, no backoff retries; $n resync attempt(s) in 5 s, 0.1.2 never overwritten"

# the conflict resolved by the user (a new base version) -> Ready again, pushed as 0.2.0
K patch hc shop -n shop --type=merge -p '{"spec":{"chart":{"version":"0.2.0"}}}' >/dev/null || fail "patch version"
wait_eq 'cond reason' Succeeded || { tail -n 20 "$T/op1.log"; fail "not Ready after the version bump: $(op_status shop shop .status)"; }
v=$(op_status shop shop .status.chartVersion)
[ "$(op_status shop shop .status.oci.reference)" = "$RH/$REPO/shop:$v" ] && [ -n "$(tag_digest "$v")" ] || fail "after the bump: $v, $(op_status shop shop .status.oci.reference)"
[ "$(tag_digest 0.1.2)" = "$df" ] || fail "0.1.2 overwritten"
[ -z "$(stalled status)" ] || fail "Stalled still set after the version bump: $(op_status shop shop .status.conditions)"
ok "version bump -> Ready, Stalled cleared, pushed $v"

# a basic-auth Secret (username + password, no ca.crt) and insecure: true -> a plain-HTTP registry
registry_start --htpasswd || fail "second registry did not start"
cat >"$T/hc2.yaml" <<Y
apiVersion: v1
kind: Secret
metadata: {name: reg-basic, namespace: shop}
type: Opaque
data: {username: $(b64 "$REG_USER"), password: $(b64 "$REG_PASS")}
---
apiVersion: dhg.deckhouse.io/v1alpha1
kind: HelmChart
metadata: {name: plain, namespace: shop}
spec:
  chart: {name: shop, version: 1.0.0}
  source: {cluster: {selector: {matchLabels: {app.kubernetes.io/part-of: shop}}}}
  output: {oci: {repository: "oci://$REG_HOST/plain", insecure: true, secretRef: {name: reg-basic}}}
  sync: {debounce: 0s}
Y
K apply -f "$T/hc2.yaml" >/dev/null || fail "apply hc/plain"
K wait --for=condition=Ready hc/plain -n shop --timeout=30s >/dev/null || fail "hc/plain not Ready: $(op_status shop plain .status)"
[ "$(op_status shop plain .status.oci.reference)" = "$REG_HOST/plain/shop:1.0.0" ] || fail "hc/plain reference $(op_status shop plain .status.oci.reference)"
rm -f "$HELM_REGISTRY_CONFIG"
printf '%s\n' "$REG_PASS" | $HELM4 registry login "$REG_HOST" --plain-http --username "$REG_USER" --password-stdin >/dev/null 2>&1 || fail "helm login (plain)"
$HELM4 show chart "oci://$REG_HOST/plain/shop" --version 1.0.0 --plain-http 2>/dev/null | grep -qx "version: 1.0.0" || fail "helm show chart (plain)"
grep -qF "$REG_PASS" "$T/op1.log" && fail "registry password in the operator log"
ok "basic-auth Secret + insecure: true over plain HTTP -> Ready, helm 4 shows it"

rc=0
op_stop "$OP_PID" || rc=$?
[ $rc = 0 ] || { grep -A12 -E 'Sanitizer|runtime error' "$T/op1.log" | head -n 40; fail "operator exit status $rc on SIGTERM"; }
ok "SIGTERM -> exit 0"
