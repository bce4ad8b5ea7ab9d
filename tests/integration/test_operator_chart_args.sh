#!/usr/bin/env bash
# The Helm chart's container args start the binary: render helm/dhg-operator (defaults, then
# watchNamespaces + allowCrossNamespace + webhook.secretName), take the operator container's
# args verbatim, and run $BUILD/dhg-operator with exactly those, changing only the bind ports
# (":8080"/":8081" -> free loopback ports) and the paths of the pod's volumes (--work-dir=/work,
# the webhook secret file). Against the emulator with the CRD: /readyz 200 (leader election on,
# Lease in dhg-system), and a HelmChart with an invalid spec becomes Stalled (the reconciler runs).
# Catches drift between the chart's flags and the binary's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/operator.sh"
[ -x "$HELM3" ] || skip "helm3 not installed (.tools)"
$PY -c 'import yaml' 2>/dev/null || skip "python3-yaml missing"
op_setup
op_namespace dhg-system
op_namespace team-a
printf 'hmac-secret\n' >"$T/webhook-secret"

# render VALUES-ARGS... -> $T/args (one arg per line, bind ports and paths replaced)
render_args() {
	local mp=$1 pp=$2
	shift 2
	"$HELM3" template dhg-operator "$ROOT/helm/dhg-operator" -n dhg-system "$@" >"$T/render.yaml" || fail "helm template $*"
	$PY - "$T/render.yaml" "$mp" "$pp" "$T/work" "$T/webhook-secret" >"$T/args" <<'PY' || fail "no operator container args in the render"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
dep = [d for d in docs if d.get("kind") == "Deployment"]
assert len(dep) == 1, "want one Deployment"
c = [c for c in dep[0]["spec"]["template"]["spec"]["containers"] if c["name"] == "operator"][0]
assert not c.get("command"), "the chart sets a command; the image entrypoint is the binary"
mp, pp, work, secret = sys.argv[2:]
# the pod's ports and volumes, so the replacements below are the only differences
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
for a in c["args"]:
    a = a.replace(f':{ports["metrics"]}', f"127.0.0.1:{mp}", 1) if a.startswith("--metrics-bind-address=") else a
    a = a.replace(f':{ports["probes"]}', f"127.0.0.1:{pp}", 1) if a.startswith("--health-probe-bind-address=") else a
    if a == f'--work-dir={mounts["work"]}':
        a = f"--work-dir={work}"
    if a.startswith("--webhook-secret-file=" + mounts.get("webhook-secret", "/nonexistent") + "/"):
        a = f"--webhook-secret-file={secret}"
    print(a)
PY
}

# start_from_args NAME: runs the binary with $T/args (KUBECONFIG from the environment, as
# in-cluster config would be), waits for /readyz 200
start_from_args() {
	local name=$1 args=()
	mapfile -t args <"$T/args"
	echo "  $name: dhg-operator ${args[*]}"
	KUBECONFIG=$EMU_KUBECONFIG $OPERATOR "${args[@]}" >"$T/$name.log" 2>&1 &
	OP_PID=$!
	PIDS+=("$OP_PID")
	ready200() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PP/readyz")" = 200 ]; }
	wait_for ready200 || { tail -n 5 "$T/$name.log"; fail "$name: /readyz not 200 with the chart's args"; }
	kill -0 "$OP_PID" 2>/dev/null || fail "$name: exited: $(tail -n 3 "$T/$name.log")"
}

# stalled NS NAME: a HelmChart with a local output (no --output-root in the chart) -> Stalled/InvalidSpec
stalled() {
	cat <<Y | K apply -f - >/dev/null || fail "apply hc $1/$2"
apiVersion: dhg.deckhouse.io/v1alpha1
kind: HelmChart
metadata: {name: $2, namespace: $1}
spec:
  chart: {name: $2, version: 0.1.0}
  source: {cluster: {}}
  output: {local: {}}
Y
	K wait --for=condition=Stalled "hc/$2" -n "$1" --timeout=30s >/dev/null \
		|| fail "hc $1/$2 not Stalled: $(op_status "$1" "$2" .status)"
	[ "$(op_status "$1" "$2" '.status.conditions[?(@.type=="Stalled")].reason')" = InvalidSpec ] || fail "hc $1/$2: not InvalidSpec"
}

MP=$(free_port) PP=$(free_port)
render_args "$MP" "$PP"
grep -qx -- '--leader-elect=true' "$T/args" || fail "defaults: no --leader-elect=true in $(tr '\n' ' ' <"$T/args")"
grep -qx -- "--work-dir=$T/work" "$T/args" || fail "--work-dir not replaced: the chart's volume and arg differ"
start_from_args defaults
stalled shop bad
grep -q '"became leader"' "$T/defaults.log" || fail "defaults: never became leader"
[ -n "$(K get lease dhg-operator.dhg.deckhouse.io -n dhg-system -o jsonpath='{.spec.holderIdentity}')" ] || fail "no Lease in dhg-system"
curl -s "http://127.0.0.1:$MP/metrics" | grep -q '^dhg_reconcile_total' || fail "defaults: /metrics has no dhg_reconcile_total"
op_stop "$OP_PID"
ok "default chart args: ready, leader, reconciler runs (Stalled), /metrics"

MP=$(free_port) PP=$(free_port)
render_args "$MP" "$PP" --set 'watchNamespaces={team-a}' --set allowCrossNamespace=true --set webhook.secretName=dhg-webhook
for a in --watch-namespace=team-a --allow-cross-namespace "--webhook-secret-file=$T/webhook-secret"; do
	grep -qx -- "$a" "$T/args" || fail "custom: no $a in $(tr '\n' ' ' <"$T/args")"
done
start_from_args custom
printf 'apiVersion: dhg.deckhouse.io/v1alpha1\nkind: HelmChart\nmetadata: {name: ignored, namespace: shop}\nspec: {chart: {name: x, version: 0.1.0}, source: {cluster: {}}, output: {local: {}}}\n' \
	| K apply -f - >/dev/null || fail "apply hc shop/ignored"
stalled team-a bad
sleep 1
[ -z "$(op_status shop ignored .status)" ] || fail "custom: a HelmChart outside watchNamespaces was reconciled"
# the webhook is on (401 without a signature instead of 404)
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "http://127.0.0.1:$MP/hooks/reconcile")
[ "$code" = 401 ] || fail "custom: webhook answered $code, want 401 (unsigned)"
op_stop "$OP_PID"
ok "chart args with watchNamespaces, allowCrossNamespace, webhook.secretName: ready, Stalled in team-a, webhook on"
