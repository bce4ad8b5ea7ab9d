# Helpers for the operator integration tests (source after lib.sh and emulator.sh).
#   op_setup            emulator + CRD + namespace shop + sample app (Deployment, Service, ConfigMap)
#   op_start NAME [args] start build/dhg-operator against the emulator (output root $T/out), log $T/NAME.log
#   op_versions NS NAME  number of chart versions written by the local writer
#   K ...                kubectl (1.33) against the emulator
K() { "$KUBECTL33" --kubeconfig "$EMU_KUBECONFIG" "$@"; }
OUT=$T/out

op_setup() {
	[ -x "$KUBECTL33" ] || skip "kubectl 1.33 not installed (.tools)"
	[ -x "$BUILD/dhg-operator" ] || skip "build/dhg-operator not built"
	emu_start "$@"
	K apply -f "$ROOT/crd/helmcharts.dhg.deckhouse.io.yaml" >/dev/null || fail "CRD apply"
	wait_for K get hc -A || fail "CRD not served"
	op_namespace shop
}

op_namespace() { printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' "$1" | K apply -f - >/dev/null || fail "namespace $1"; }

# op_app NS NAME IMAGE : a Deployment + Service + ConfigMap labelled app.kubernetes.io/part-of=NAME
op_app() {
	local ns=$1 name=$2 image=$3
	cat >"$T/app-$ns-$name.yaml" <<Y
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $name-web
  namespace: $ns
  labels: {app.kubernetes.io/part-of: $name, app: $name-web}
spec:
  replicas: 2
  selector: {matchLabels: {app: $name-web}}
  template:
    metadata: {labels: {app: $name-web}}
    spec:
      containers:
      - name: web
        image: $image
        ports: [{containerPort: 8080}]
        envFrom: [{configMapRef: {name: $name-config}}]
---
apiVersion: v1
kind: Service
metadata:
  name: $name-web
  namespace: $ns
  labels: {app.kubernetes.io/part-of: $name}
spec:
  selector: {app: $name-web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: $name-config
  namespace: $ns
  labels: {app.kubernetes.io/part-of: $name}
data: {LOG_LEVEL: info}
Y
	K apply -f "$T/app-$ns-$name.yaml" >/dev/null || fail "apply app $ns/$name"
}

# op_hc NS NAME PARTOF [debounce] [extra spec yaml lines...]: an extra "output: ..." line replaces
# the default output (local)
op_hc() {
	local ns=$1 name=$2 partof=$3 debounce=${4:-0s} output='output: {local: {}}' l
	shift 4 || shift $#
	for l in "$@"; do [[ $l != output:* ]] || output=$l; done
	{
		cat <<Y
apiVersion: dhg.deckhouse.io/v1alpha1
kind: HelmChart
metadata: {name: $name, namespace: $ns}
spec:
  chart: {name: $name, version: 0.1.0}
  source: {cluster: {selector: {matchLabels: {app.kubernetes.io/part-of: $partof}}}}
  $output
  sync: {debounce: $debounce}
Y
		for l in "$@"; do [[ $l == output:* ]] || echo "  $l"; done
	} >"$T/hc-$ns-$name.yaml"
	K apply -f "$T/hc-$ns-$name.yaml" >/dev/null || fail "apply HelmChart $ns/$name"
}

op_start() {
	local name=$1
	shift
	local mp pp
	mp=$(free_port)
	pp=$(free_port)
	$OPERATOR --kubeconfig "$EMU_KUBECONFIG" --output-root "$OUT" --work-dir "$T/work-$name" \
		--metrics-bind-address "127.0.0.1:$mp" --health-probe-bind-address "127.0.0.1:$pp" \
		--default-debounce 0s "$@" >"$T/$name.log" 2>&1 &
	OP_PID=$!
	OP_METRICS=$mp
	OP_PROBE=$pp
	PIDS+=("$OP_PID")
}

op_stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null; }

op_versions() { if [ -f "$OUT/$1/$2.versions" ]; then wc -l <"$OUT/$1/$2.versions" | tr -d ' '; else echo 0; fi; }
op_status() { K get hc "$2" -n "$1" -o "jsonpath={$3}"; }
# op_wait_status NS NAME JSONPATH VALUE : waits (~20 s) until the field has VALUE.
op_status_is() { [ "$(op_status "$1" "$2" "$3")" = "$4" ]; }
op_wait_status() { wait_for op_status_is "$@"; }
