#!/usr/bin/env bash
# `make demo`: the main job, end to end on loopback. Starts the Kubernetes API emulator, a git
# server (smart HTTP with basic auth) and dhg-operator; applies the example shop app and a
# HelmChart with kubectl; waits for Ready; shows the chart committed to git; changes an image
# with `kubectl set image`; shows the new commit and its diff; stops everything it started.
set -euo pipefail
export DHG_BUILD=${DHG_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
. "$(dirname "$0")/../tests/integration/lib.sh"
. "$ROOT/tests/integration/emulator.sh"
. "$ROOT/tests/integration/gitserver.sh"

B=$'\033[1m' N=$'\033[0m'
[ -t 1 ] || { B=""; N=""; }
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
show() { printf '%s$ %s%s\n' "$B" "$*" "$N"; "$@"; }
K() { "$KUBECTL33" --kubeconfig "$EMU_KUBECONFIG" "$@"; }
start=$(date +%s)

step "1. engine only: dhg generate -f examples/shop (no cluster needed)"
show "$BUILD/dhg" generate -f "$ROOT/examples/shop" -o "$T/cli-chart" --chart-name shop
(cd "$T/cli-chart" && find . -type f | sort | sed 's|^\./|  |')
"$HELM3" lint --strict "$T/cli-chart" >/dev/null 2>&1 && echo "  helm lint --strict: ok"

step "2. start the API emulator, a git server and dhg-operator on 127.0.0.1"
emu_start
gitsrv_http_start
gitsrv_repo_create deploy
OP_METRICS=$(free_port)
OP_PROBE=$(free_port)
"$BUILD/dhg-operator" --kubeconfig "$EMU_KUBECONFIG" --work-dir "$T/work" \
	--metrics-bind-address "127.0.0.1:$OP_METRICS" --health-probe-bind-address "127.0.0.1:$OP_PROBE" \
	--default-debounce 1s --log-format text >"$T/operator.log" 2>&1 &
PIDS+=($!)
echo "  API server   $EMU_URL"
echo "  git server   $GIT_HTTP_URL/deploy.git (basic auth)"
echo "  operator     metrics http://127.0.0.1:$OP_METRICS/metrics, probes :$OP_PROBE (log: operator.log)"

step "3. install the CRD and the example app with kubectl"
show K apply -f "$ROOT/crd/helmcharts.dhg.deckhouse.io.yaml"
show K apply -f "$ROOT/examples/namespace.yaml"
show K apply -f "$ROOT/examples/shop/"
wait_for curl -sf "http://127.0.0.1:$OP_PROBE/readyz" || { tail -20 "$T/operator.log"; fail "operator not ready"; }

step "4. apply a HelmChart that writes the app's chart to git"
cat >"$T/helmchart.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata: {name: git-creds, namespace: shop}
type: Opaque
data: {username: $(printf %s "$GIT_HTTP_USER" | base64 -w0), password: $(printf %s "$GIT_HTTP_PASSWORD" | base64 -w0)}
---
apiVersion: dhg.deckhouse.io/v1alpha1
kind: HelmChart
metadata: {name: shop, namespace: shop}
spec:
  chart: {name: shop, version: 0.1.0}
  source:
    cluster:
      selector: {matchLabels: {app.kubernetes.io/part-of: shop}}
  output:
    git:
      url: $GIT_HTTP_URL/deploy.git
      branch: main
      path: charts/shop
      secretRef: {name: git-creds}
      author: {name: dhg-operator, email: dhg-operator@example.invalid}
  sync: {debounce: 1s}
YAML
sed -n '/^kind: HelmChart/,$p' "$T/helmchart.yaml" | sed 's/^/  /'
K apply -f "$T/helmchart.yaml"
show K wait --for=condition=Ready hc/shop -n shop --timeout=60s || { tail -30 "$T/operator.log"; fail "HelmChart not Ready"; }
show K get hc -n shop

step "5. the chart in git"
git clone -q "$GIT_HTTP_AUTH_URL/deploy.git" "$T/clone"
(cd "$T/clone" && show git log --format='%h %s%n        %b' | sed '/^ *$/d')
(cd "$T/clone/charts/shop" && find . -type f | sort | sed 's|^\./|  charts/shop/|')
"$HELM3" lint --strict "$T/clone/charts/shop" >/dev/null 2>&1 && echo "  helm lint --strict charts/shop: ok"

step "6. drift: change an image in the cluster"
show K -n shop set image deployment/web web=nginx:1.27.3
for _ in $(seq 1 100); do
	[ "$(K get hc shop -n shop -o jsonpath='{.status.chartVersion}')" = 0.1.1 ] && break
	sleep 0.1
done
show K get hc -n shop
git -C "$T/clone" pull -q
(cd "$T/clone" && show git log --oneline && show git --no-pager diff --stat HEAD~1 HEAD && git --no-pager diff -U1 HEAD~1 HEAD -- charts/shop/values.yaml charts/shop/Chart.yaml)
[ "$(K get hc shop -n shop -o jsonpath='{.status.chartVersion}')" = 0.1.1 ] || { tail -30 "$T/operator.log"; fail "no new chart version after the drift"; }

step "7. stop everything"
echo "  done in $(( $(date +%s) - start )) s; stopping the operator, git server and emulator (by PID) and removing $T"
