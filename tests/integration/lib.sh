# Shared helpers for integration tests. Source it: . "$(dirname "$0")/lib.sh"
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${DHG_BUILD:-$ROOT/build}
TOOLS=$ROOT/.tools
HELM3=$TOOLS/helm3
HELM4=$TOOLS/helm4
KUBECTL31=$TOOLS/k8s-v31/kubectl
KUBECTL33=$TOOLS/k8s-v33/kubectl
CORPUS=${DHG_CORPUS:-$ROOT/../shared/corpus}
PY=/usr/bin/python3
# DHG_WRAP (e.g. valgrind) prefixes our own binaries.
DHG="${DHG_WRAP:-} $BUILD/dhg"
OPERATOR="${DHG_WRAP:-} $BUILD/dhg-operator"

T=$(mktemp -d "${TMPDIR:-/tmp}/dhg-test.XXXXXX")
PIDS=()
cleanup() {
	local rc=$?
	# Children first-collected, so pre-forking servers (fcgiwrap -c N) leave no orphans.
	local kids=""
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kids="$kids $(pgrep -P "$p" 2>/dev/null | tr '\n' ' ' || true)"; done
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	for p in $kids; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
	[ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$T"
	exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "$*"; exit 77; }
ok() { echo "ok: $*"; }

# A free TCP port on 127.0.0.1.
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# wait_for CMD... : retry up to ~20 s.
wait_for() {
	for _ in $(seq 1 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

# shop_manifests FILE: the sample app several tests feed to dhg (namespace shop: Deployment web,
# 2 replicas of nginx:1.25, app=web; Service web on port 80).
shop_manifests() {
	cat >"$1" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.25"}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80}]}
Y
}
