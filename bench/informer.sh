#!/usr/bin/env bash
# Informer memory and initial-sync benchmark (issue 3).
#   DHG_BUILD=$PWD/build bash bench/informer.sh [COUNTS...]     (default: 1000 10000)
# For each count N: generates N typical objects (1/3 Deployments, 1/3 Services, 1/3 ConfigMaps,
# with labels, annotations, last-applied and managedFields like kubectl-applied objects),
# preloads them into the API emulator (--load), then runs build/informer_rss with one informer
# per kind and prints its JSON line (objects, syncMs, RSS before/after in KB).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${DHG_BUILD:-$ROOT/build}
PY=/usr/bin/python3
[ -x "$BUILD/informer_rss" ] || { echo "build $BUILD/informer_rss first (make tools)" >&2; exit 1; }
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(1000 10000)
T=$(mktemp -d "${TMPDIR:-/tmp}/dhg-bench-informer.XXXXXX")
EMU=""
cleanup() { [ -n "$EMU" ] && kill "$EMU" 2>/dev/null && wait "$EMU" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

gen() { # N FILE
	$PY - "$1" "$2" <<'PY'
import json, sys
n, out = int(sys.argv[1]), sys.argv[2]
ns_count = max(1, n // 500)
with open(out, "w") as f:
    for i in range(n):
        kind = i % 3
        ns = "bench-%d" % (i % ns_count)
        app = "app-%d" % (i // 3)
        labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "shop-%d" % (i % 17),
                  "app.kubernetes.io/managed-by": "Helm", "tier": ["web", "api", "worker"][i % 3]}
        meta = {"name": app, "namespace": ns, "labels": labels,
                "annotations": {"meta.helm.sh/release-name": "shop-%d" % (i % 17),
                                "meta.helm.sh/release-namespace": ns}}
        if kind == 0:
            obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {
                "replicas": 2, "revisionHistoryLimit": 10,
                "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                "template": {"metadata": {"labels": {"app.kubernetes.io/name": app}}, "spec": {
                    "containers": [{"name": "main", "image": "registry.example/shop/%s:1.4.%d" % (app, i % 50),
                                    "imagePullPolicy": "IfNotPresent",
                                    "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                                    "env": [{"name": "LOG_LEVEL", "value": "info"},
                                            {"name": "DB_HOST", "value": "db.%s.svc" % ns}],
                                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                                  "limits": {"cpu": "500m", "memory": "256Mi"}},
                                    "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"},
                                                       "periodSeconds": 10}}],
                    "restartPolicy": "Always", "terminationGracePeriodSeconds": 30}}},
                "status": {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2, "observedGeneration": 1}}
        elif kind == 1:
            obj = {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {
                "type": "ClusterIP", "selector": {"app.kubernetes.io/name": app},
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}
        else:
            obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {
                "app.properties": "server.port=8080\nlog.level=info\nfeature.x=true\n",
                "LOG_FORMAT": "json"}}
        # what kubectl apply leaves on an object: the cache trims these
        last = json.dumps(obj, separators=(",", ":"), sort_keys=True)
        meta["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = last
        meta["managedFields"] = [{"manager": "kubectl-client-side-apply", "operation": "Update",
                                  "apiVersion": obj["apiVersion"], "fieldsType": "FieldsV1",
                                  "fieldsV1": {"f:metadata": {"f:labels": {"f:app.kubernetes.io/name": {}}},
                                               "f:spec": {}}, "time": "2026-01-01T00:00:00Z"}]
        f.write(json.dumps(obj, separators=(",", ":")) + "\n")
PY
}

for n in "${COUNTS[@]}"; do
	gen "$n" "$T/objs-$n.jsonl"
	rm -f "$T/port" "$T/kc"
	$PY "$ROOT/tests/kube-emulator/emulator.py" --port-file "$T/port" --kubeconfig-out "$T/kc" \
		--load "$T/objs-$n.jsonl" >"$T/emu.log" 2>&1 &
	EMU=$!
	for _ in $(seq 1 1200); do [ -s "$T/port" ] && break; sleep 0.1; done
	[ -s "$T/port" ] || { cat "$T/emu.log" >&2; exit 1; }
	printf 'objects=%s bytes=%s ' "$n" "$(stat -c %s "$T/objs-$n.jsonl")"
	"$BUILD/informer_rss" "$T/kc" apps/v1/deployments v1/services v1/configmaps
	kill "$EMU"; wait "$EMU" 2>/dev/null || true; EMU=""
done
