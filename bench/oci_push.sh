#!/usr/bin/env bash
# Benchmark: `dhg push` of a 100-template chart to a loopback docker-registry.
#   first push  = a new version (new config + layer blobs, manifest), median of RUNS
#   no-op push  = the same chart again (HEAD of the tag only), median of RUNS
# Plain HTTP + htpasswd, and TLS + htpasswd. Usage: bench/oci_push.sh [RUNS]  (default 10)
# Needs build/dhg (or DHG_BUILD=...), docker-registry, htpasswd, openssl.
. "$(dirname "$0")/../tests/integration/lib.sh"
. "$ROOT/tests/integration/registry.sh"
RUNS=${1:-10}
[ -x "$BUILD/dhg" ] || fail "no $BUILD/dhg (make)"

mkchart() { # DIR VERSION
	local d=$1
	mkdir -p "$d/templates"
	printf 'apiVersion: v2\nname: bench\ndescription: 100 templates\nversion: %s\nappVersion: "1.0"\n' "$2" >"$d/Chart.yaml"
	: >"$d/values.yaml"
	for i in $(seq -w 1 100); do
		echo "svc$i: {image: {repository: nginx, tag: \"1.25\"}, replicas: 2}" >>"$d/values.yaml"
		cat >"$d/templates/svc$i-deployment.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc$i
  namespace: {{ .Release.Namespace }}
  labels:
    app.kubernetes.io/name: svc$i
    app.kubernetes.io/instance: {{ .Release.Name }}
spec:
  replicas: {{ .Values.svc$i.replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/name: svc$i
  template:
    metadata:
      labels:
        app.kubernetes.io/name: svc$i
    spec:
      containers:
        - name: app
          image: "{{ .Values.svc$i.image.repository }}:{{ .Values.svc$i.image.tag }}"
          ports:
            - containerPort: 8080
          resources:
            requests: {cpu: 100m, memory: 128Mi}
EOF
	done
}

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f", m}'; }
now_ms() { date +%s%N | awk '{printf "%.3f", $1/1000000}'; }

run_case() { # LABEL FLAGS...
	local label=$1 first=() noop=() t0 t1 i
	shift
	for i in $(seq 1 "$RUNS"); do
		sed -i "s/^version: .*/version: 1.0.$i/" "$T/chart/Chart.yaml"
		t0=$(now_ms)
		echo "$REG_PASS" | $BUILD/dhg push "$T/chart" "oci://$REG_HOST/bench" "$@" --username "$REG_USER" \
			--password-stdin >/dev/null || fail "push"
		t1=$(now_ms)
		first+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")
		t0=$(now_ms)
		echo "$REG_PASS" | $BUILD/dhg push "$T/chart" "oci://$REG_HOST/bench" "$@" --username "$REG_USER" \
			--password-stdin >/dev/null || fail "no-op push"
		t1=$(now_ms)
		noop+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")
	done
	printf '| %s | %s ms | %s ms |\n' "$label" "$(printf '%s\n' "${first[@]}" | median)" \
		"$(printf '%s\n' "${noop[@]}" | median)"
}

mkchart "$T/chart" 1.0.0
tgz_kb=$(cd "$T" && tar -czf - chart | wc -c | awk '{printf "%.0f", $1/1024}')
echo "chart: 100 templates, $(du -sk "$T/chart" | cut -f1) KiB on disk, ~${tgz_kb} KiB gzipped; $RUNS runs each (median)"
echo "| registry | first push (new version) | no-op push (same chart) |"
echo "| --- | --- | --- |"
registry_start --htpasswd
run_case "plain HTTP + htpasswd" --plain-http
registry_start --tls --htpasswd
run_case "TLS + htpasswd" --ca-file "$REG_CA"
