#!/usr/bin/env bash
# Operator benchmarks (DESIGN.md targets): idle RSS (plain HTTP and TLS API server); 100
# HelmCharts from a cold start (time to all Ready) and the RSS with the 10,000 objects they
# select cached; CPU of a no-op reconcile; drift-to-written latency p50/p99 over 200 changes
# with debounce 0 (local writer). Runs against the API emulator.
# Usage: bench/operator.sh   (DHG_BUILD=build dir; N_CHANGES=200; prints a Markdown table)
. "$(dirname "$0")/../tests/integration/lib.sh"
. "$ROOT/tests/integration/emulator.sh"
. "$ROOT/tests/integration/operator.sh"
N_CHANGES=${N_CHANGES:-200}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ready() { curl -sf "http://127.0.0.1:$OP_PROBE/readyz" >/dev/null; }
metric() { curl -sf "http://127.0.0.1:$OP_METRICS/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
declare -A R

# ---- 1. idle (only the HelmChart informer runs: object informers start on demand)
op_setup
op_start idle
wait_for ready || fail "idle: not ready"
sleep 3
R[idle]=$(rss_kb "$OP_PID")
R[idle_inf]=$(curl -sf "http://127.0.0.1:$OP_METRICS/metrics" | awk '/^dhg_informers_started/ {n += $2} END {print n + 0}')
op_stop "$OP_PID"
emu_stop

# ---- 1b. idle against a TLS API server (every real cluster; kubectl to the emulator over TLS
# fails, so the CRD is created with curl)
mkdir -p "$T/tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ca" -keyout "$T/tls/ca.key" -out "$T/tls/ca.crt" >/dev/null 2>&1 || fail "openssl ca"
openssl req -newkey rsa:2048 -nodes -subj "/CN=emulator" -keyout "$T/tls/srv.key" -out "$T/tls/srv.csr" >/dev/null 2>&1 || fail "openssl csr"
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$T/tls/ext"
openssl x509 -req -in "$T/tls/srv.csr" -CA "$T/tls/ca.crt" -CAkey "$T/tls/ca.key" -CAcreateserial -days 2 \
	-extfile "$T/tls/ext" -out "$T/tls/srv.crt" >/dev/null 2>&1 || fail "openssl sign"
emu_start --tls-cert "$T/tls/srv.crt" --tls-key "$T/tls/srv.key" --tls-ca "$T/tls/ca.crt" || fail "emulator (TLS)"
$PY -c 'import yaml,json,sys; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' "$ROOT/crd/helmcharts.dhg.deckhouse.io.yaml" >"$T/crd.json"
emu_curl -sf -X POST -H 'Content-Type: application/json' --data-binary @"$T/crd.json" \
	"$EMU_URL/apis/apiextensions.k8s.io/v1/customresourcedefinitions" >/dev/null || fail "CRD (TLS)"
op_start idle-tls
wait_for ready || fail "idle TLS: not ready: $(tail -n 3 "$T/idle-tls.log")"
sleep 3
R[idle_tls]=$(rss_kb "$OP_PID")
op_stop "$OP_PID"
emu_stop

# ---- 2. 10,000 watched objects (100 namespaces x 25 Deployments/Services/ConfigMaps/Secrets)
$PY - "$T/objects.jsonl" <<'PYX'
import json, sys
with open(sys.argv[1], "w") as f:
    for n in range(100):
        ns = "app%02d" % n
        f.write(json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}) + "\n")
        for i in range(25):
            lab = {"app.kubernetes.io/part-of": ns, "app": "c%d" % i}
            f.write(json.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "c%d" % i, "namespace": ns, "labels": lab},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "c%d" % i}}, "template": {"metadata": {"labels": {"app": "c%d" % i}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.%d" % i, "ports": [{"containerPort": 8080}],
                "env": [{"name": "MODE", "value": "x" * 40}]}]}}}}) + "\n")
            f.write(json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c%d" % i, "namespace": ns, "labels": lab},
                "spec": {"selector": {"app": "c%d" % i}, "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}], "type": "ClusterIP"}}) + "\n")
            f.write(json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c%d" % i, "namespace": ns, "labels": lab},
                "data": {"a.conf": "k=v\n" * 20, "MODE": "prod"}}) + "\n")
            f.write(json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c%d" % i, "namespace": ns, "labels": lab},
                "type": "Opaque", "data": {"password": "cGFzc3dvcmQ="}}) + "\n")
PYX
op_setup --load "$T/objects.jsonl"

# ---- 3. 100 HelmCharts from a cold start (operator down while they are created); each selects
# every kind in its namespace, so the object informers start and cache the 10,000 objects
for n in $(seq 0 99); do
	ns=$(printf app%02d "$n")
	printf '{"apiVersion":"dhg.deckhouse.io/v1alpha1","kind":"HelmChart","metadata":{"name":"%s","namespace":"%s"},"spec":{"chart":{"version":"0.1.0"},"source":{"cluster":{"selector":{"matchLabels":{"app.kubernetes.io/part-of":"%s"}}}},"output":{"local":{}},"sync":{"debounce":"0s"}}}' "$ns" "$ns" "$ns" |
		emu_curl -f -X POST -H 'Content-Type: application/json' --data-binary @- "$EMU_URL/apis/dhg.deckhouse.io/v1alpha1/namespaces/$ns/helmcharts" >/dev/null || fail "create hc $ns"
done
all_ready() {
	emu_curl -f "$EMU_URL/apis/dhg.deckhouse.io/v1alpha1/helmcharts" | $PY -c '
import json, sys
items = json.load(sys.stdin)["items"]
ok = sum(1 for i in items for c in i.get("status", {}).get("conditions", []) if c["type"] == "Ready" and c["status"] == "True")
sys.exit(0 if ok == len(items) == 100 else 1)'
}
op_start cold --concurrency 4
t0=$(date +%s.%N)
for _ in $(seq 1 1200); do all_ready && break; sleep 0.25; done
all_ready || fail "100 HelmCharts not all Ready: $(tail -n 3 "$T/cold.log")"
R[cold_s]=$($PY -c "import time; print(round(time.time()-$t0,2))")
R[rss100]=$(rss_kb "$OP_PID")
R[writes100]=$(ls "$OUT"/app*/*.versions | wc -l)
# RSS with the 10,000 objects cached (the 100 HelmCharts Ready, the work done)
sleep 3
R[objects]=$(metric dhg_cached_objects)
[ "${R[objects]:-0}" -ge 10000 ] || fail "10k: only ${R[objects]:-0} objects cached"
R[rss10k]=$(rss_kb "$OP_PID")

# ---- 4. no-op reconcile CPU: reconcile-requested-at on one HelmChart, 50 times
c0=$(cpu_ticks "$OP_PID"); n0=$(grep -c '"reason":"Succeeded"' "$T/cold.log" || true)
v0=$(cat "$OUT"/app07/*.versions | wc -l)
for i in $(seq 1 50); do
	emu_curl -f -X PATCH -H 'Content-Type: application/merge-patch+json' \
		-d "{\"metadata\":{\"annotations\":{\"dhg.deckhouse.io/reconcile-requested-at\":\"r$i\"}}}" \
		"$EMU_URL/apis/dhg.deckhouse.io/v1alpha1/namespaces/app07/helmcharts/app07" >/dev/null
	sleep 0.05
done
sleep 1
c1=$(cpu_ticks "$OP_PID"); n1=$(grep -c '"reason":"Succeeded"' "$T/cold.log" || true)
v1=$(cat "$OUT"/app07/*.versions | wc -l)
[ "$v0" = "$v1" ] || fail "a no-op reconcile wrote a version"
hz=$(getconf CLK_TCK)
R[noop_n]=$((n1 - n0))
R[noop_ms]=$($PY -c "print(round(($c1-$c0)*1000/$hz/max(1,$((n1 - n0))),2))")
R[lasthandled]=$(emu_curl -f "$EMU_URL/apis/dhg.deckhouse.io/v1alpha1/namespaces/app07/helmcharts/app07" | $PY -c 'import json,sys; print(json.load(sys.stdin)["status"].get("lastHandledReconcileAt",""))')
op_stop "$OP_PID"
emu_stop

# ---- 5. drift -> written latency, debounce 0, N changes
OUT=$T/out-drift
op_setup
op_app shop shop nginx:1.0
op_hc shop shop shop 0s
op_start drift
K wait --for=condition=Ready hc/shop -n shop --timeout=30s >/dev/null || fail "drift: not Ready"
$PY "$ROOT/bench/drift_latency.py" "$EMU_URL" "$N_CHANGES" 5 --versions "$OUT/shop/shop.versions" >"$T/lat.txt" ||
	fail "drift latency"
read -r R[p50] R[p99] R[pmax] <"$T/lat.txt"
op_stop "$OP_PID"

# ---- 6. drift -> new commit on a loopback git server (smart HTTP, basic auth), debounce 0
N_GIT=${N_GIT:-50}
R[git]="skipped (nginx/fcgiwrap missing)"
if command -v nginx >/dev/null && command -v fcgiwrap >/dev/null; then
	. "$ROOT/tests/integration/gitserver.sh"
	gitsrv_http_start
	gitsrv_repo_create deploy
	b64() { printf %s "$1" | base64 -w0; }
	printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: git-creds, namespace: shop}\ndata: {username: %s, password: %s}\n' \
		"$(b64 "$GIT_HTTP_USER")" "$(b64 "$GIT_HTTP_PASSWORD")" | K apply -f - >/dev/null
	cat <<Y | K apply -f - >/dev/null
apiVersion: dhg.deckhouse.io/v1alpha1
kind: HelmChart
metadata: {name: gitbench, namespace: shop}
spec:
  chart: {name: shop, version: 0.1.0}
  source: {cluster: {selector: {matchLabels: {app.kubernetes.io/part-of: shop}}}}
  output: {git: {url: "$GIT_HTTP_URL/deploy.git", branch: main, path: charts/shop, secretRef: {name: git-creds}}}
  sync: {debounce: 0s}
Y
	K delete hc shop -n shop >/dev/null
	op_start gitdrift
	K wait --for=condition=Ready hc/gitbench -n shop --timeout=60s >/dev/null || fail "git bench: not Ready"
	$PY "$ROOT/bench/drift_latency.py" "$EMU_URL" "$N_GIT" 7 --git-repo "$GITSRV_ROOT/deploy.git" >"$T/glat.txt" ||
		fail "git drift latency"
	R[git]=$(awk '{print $1 " / " $2 " / " $3 " s"}' "$T/glat.txt")
	op_stop "$OP_PID"
fi

cat <<MD
| what | result | target |
| --- | --- | --- |
| idle RSS (CRD installed, no HelmChart; ${R[idle_inf]} informer running), plain HTTP API server | $((R[idle] / 1024)).$(( (R[idle] % 1024) * 10 / 1024 )) MB | ≤ 8 MB |
| idle RSS, TLS API server | $((R[idle_tls] / 1024)).$(( (R[idle_tls] % 1024) * 10 / 1024 )) MB | ≤ 8 MB |
| RSS with ${R[objects]} objects cached (after the 100-HelmChart cold start below) | $((R[rss10k] / 1024)).$(( (R[rss10k] % 1024) * 10 / 1024 )) MB | ≤ 48 MB |
| 100 HelmCharts (100 objects each) from a cold start: time to all Ready | ${R[cold_s]} s (${R[writes100]} charts written; RSS $((R[rss100] / 1024)) MB) | — |
| no-op reconcile CPU (reconcile-requested-at, ${R[noop_n]} reconciles, incl. event + status patch) | ${R[noop_ms]} ms | ≤ 5 ms |
| drift → chart written (local writer), debounce 0, $N_CHANGES changes: p50 / p99 / max | ${R[p50]} s / ${R[p99]} s / ${R[pmax]} s | ≤ 1 s / ≤ 2 s |
| drift → new commit on a loopback git server (HTTP), debounce 0, $N_GIT changes: p50 / p99 / max | ${R[git]} | ≤ 1 s / ≤ 2 s |
MD
