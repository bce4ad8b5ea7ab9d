#!/usr/bin/env bash
# dhg generate: CLI flags and exit codes; parameterization through real Helm 3 and 4:
# `--set` of an image tag, replicas, a Service port, an Ingress host and a resource limit
# changes exactly those fields of the rendered objects; the schema rejects replicas=abc;
# helm lint --strict passes.
. "$(dirname "$0")/lib.sh"

[ -x "$HELM3" ] && [ -x "$HELM4" ] || skip "helm 3/4 not installed (make deps)"

mkdir -p "$T/in"
cat >"$T/in/app.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, tier: front}
    spec:
      containers:
        - name: web
          image: registry.local:5000/shop/web:1.4.2
          imagePullPolicy: IfNotPresent
          env:
            - {name: MODE, value: "production"}
            - {name: PORT, value: "8080"}
          resources:
            limits: {cpu: 500m, memory: 256Mi}
            requests: {cpu: 100m, memory: 128Mi}
        - name: sidecar
          image: busybox@sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: 8080}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  ingressClassName: nginx
  rules:
    - host: shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: {service: {name: web, port: {number: 80}}}
EOF

# ---- CLI behaviour -------------------------------------------------------------------------
set +e
$DHG generate --help >"$T/help.txt"; rc=$?
set -e
[ $rc -eq 0 ] || fail "--help exit $rc"
for f in -f -o --dry-run --chart-name --chart-version --app-version --secrets --external-secret-store \
	--external-secret-store-kind --namespace --set-values "default: 0.1.0" "default: mask" Example; do
	grep -q -- "$f" "$T/help.txt" || fail "--help does not mention $f"
done
expect_rc() { # expect_rc CODE ARGS...
	local want=$1; shift
	set +e; $DHG generate "$@" >"$T/out.txt" 2>"$T/err.txt"; local got=$?; set -e
	[ "$got" -eq "$want" ] || fail "dhg generate $* exited $got, want $want: $(cat "$T/err.txt")"
}
expect_rc 2 --bogus -f "$T/in" -o "$T/x" --chart-name shop
expect_rc 2 -o "$T/x" --chart-name shop
expect_rc 2 -f "$T/in" -o "$T/x"
expect_rc 2 -f "$T/in" -o "$T/x" --dry-run --chart-name shop
expect_rc 2 -f "$T/in" -o "$T/x" --chart-name Shop_1
grep -q "Shop_1" "$T/err.txt" || fail "bad chart name not named in the error"
expect_rc 2 -f "$T/in" -o "$T/x" --chart-name shop --chart-version 1.0
expect_rc 2 -f "$T/in" -o "$T/x" --chart-name shop --secrets maybe
[ ! -e "$T/x" ] || fail "a usage error wrote something"
expect_rc 1 -f "$T/does-not-exist.yaml" -o "$T/x" --chart-name shop
[ ! -e "$T/x" ] || fail "a failed run wrote something"
mkdir -p "$T/empty"
expect_rc 1 -f "$T/empty" -o "$T/x" --chart-name shop
grep -q "no Kubernetes objects" "$T/err.txt" || fail "empty input: unclear error: $(cat "$T/err.txt")"
[ ! -e "$T/x" ] || fail "an empty input wrote something"
mkdir -p "$T/notachart" && echo precious >"$T/notachart/file.txt"
expect_rc 1 -f "$T/in" -o "$T/notachart" --chart-name shop
grep -q "not a chart directory" "$T/err.txt" || fail "unclear refusal: $(cat "$T/err.txt")"
[ "$(cat "$T/notachart/file.txt")" = precious ] || fail "a non-chart directory was replaced"
expect_rc 0 -f "$T/in" --dry-run --chart-name shop
grep -q "^# Source: templates/web-deployment.yaml$" "$T/out.txt" || fail "--dry-run lacks a Source header"
grep -q "^# Source: values.yaml$" "$T/out.txt" || fail "--dry-run lacks values.yaml"
ok "CLI flags and exit codes"

# A failing run leaves an existing chart exactly as it was.
expect_rc 0 -f "$T/in" -o "$T/shop" --chart-name shop --chart-version 1.2.3
grep -q "^Chart shop 1.2.3 written to $T/shop (3 resources, sha256:[0-9a-f]\{64\})$" "$T/out.txt" ||
	fail "unexpected summary line: $(cat "$T/out.txt")"
cp "$T/out.txt" "$T/out.txt.first"
(cd "$T/shop" && find . -type f | sort | xargs sha256sum) >"$T/before.sum"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n' >"$T/broken.yaml"
expect_rc 1 -f "$T/in" -f "$T/broken.yaml" -o "$T/shop" --chart-name shop
grep -q "broken.yaml" "$T/err.txt" || fail "YAML error does not name the file: $(cat "$T/err.txt")"
(cd "$T/shop" && find . -type f | sort | xargs sha256sum) >"$T/after.sum"
cmp -s "$T/before.sum" "$T/after.sum" || fail "failed run changed the existing chart"
[ -z "$(ls -A "$T" | grep -E '^shop\..*tmp')" ] || fail "temporary directory left behind"
ok "atomic write"

# Determinism: the same objects re-split into other files, in another order, give the same bytes.
mkdir -p "$T/split/b"
$PY - "$T/in/app.yaml" "$T/split" <<'EOF'
import sys
docs = [d for d in open(sys.argv[1]).read().split("\n---\n") if d.strip()]
open(sys.argv[2] + "/z.yaml", "w").write(docs[0])
open(sys.argv[2] + "/b/a.yaml", "w").write(docs[2] + "\n---\n" + docs[1])
EOF
$DHG generate -f "$T/split" -o "$T/shop2" --chart-name shop --chart-version 1.2.3 >"$T/out2.txt" || fail "generate (split)"
[ "$(awk '{print $NF}' "$T/out.txt.first")" = "$(awk '{print $NF}' "$T/out2.txt")" ] || fail "digest differs for re-split input"
diff -r "$T/shop" "$T/shop2" >/dev/null || fail "files differ for re-split input"
ok "determinism across file splits and order"

# --set-values: a mapping merged over the generated values.yaml
printf 'web:\n  deployment:\n    replicas: 7\nextra:\n  note: kept\n' >"$T/overlay.yaml"
$DHG generate -f "$T/in" -o "$T/overlay" --chart-name shop --set-values "$T/overlay.yaml" >/dev/null || fail "generate --set-values"
$PY - "$T/overlay/values.yaml" <<'EOF' || fail "--set-values not merged"
import sys, yaml
v = yaml.safe_load(open(sys.argv[1]))
assert v["web"]["deployment"]["replicas"] == 7 and v["extra"] == {"note": "kept"}, v
assert v["web"]["deployment"]["containers"]["web"]["image"]["tag"] == "1.4.2"
EOF
"$HELM3" template rel "$T/overlay" --namespace shop | grep -q "^  replicas: 7$" || fail "--set-values default not rendered"
expect_rc 1 -f "$T/in" -o "$T/x" --chart-name shop --set-values "$T/missing.yaml"
ok "--set-values"

# ---- parameterization through Helm ----------------------------------------------------------
$PY - "$T/shop/values.yaml" <<'EOF' || fail "values.yaml does not hold the expected parameters"
import sys, yaml
v = yaml.safe_load(open(sys.argv[1]))
d = v["web"]["deployment"]
assert d["replicas"] == 3, d
c = d["containers"]["web"]
assert c["image"] == {"repository": "registry.local:5000/shop/web", "tag": "1.4.2", "digest": "", "pullPolicy": "IfNotPresent"}, c["image"]
assert c["env"] == {"MODE": "production", "PORT": "8080"}, c["env"]
assert d["containers"]["sidecar"]["image"]["digest"].startswith("sha256:3fbc"), d["containers"]["sidecar"]
assert d["podLabels"] == {"tier": "front"}, d["podLabels"]
assert v["web"]["service"]["ports"] == {"http": 80}
assert v["web"]["ingress"]["hosts"] == ["shop.example.com"]
EOF
grep -q "# -- Number of replicas (Deployment shop/web)" "$T/shop/values.yaml" || fail "values.yaml lacks comments"

cat >"$T/diff.py" <<'EOF'
import sys, yaml
def load(p):
    out = {}
    for d in yaml.safe_load_all(open(p)):
        if d:
            out[(d["kind"], d["metadata"]["name"])] = d
    return out
def walk(a, b, path, acc):
    if type(a) != type(b):
        acc.append((path, a, b)); return
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            walk(a.get(k, "<absent>"), b.get(k, "<absent>"), path + "." + k, acc)
    elif isinstance(a, list):
        if len(a) != len(b):
            acc.append((path, a, b)); return
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, "%s[%d]" % (path, i), acc)
    elif a != b:
        acc.append((path, a, b))
base, new = load(sys.argv[1]), load(sys.argv[2])
assert base.keys() == new.keys(), (base.keys(), new.keys())
acc = []
for k in sorted(base):
    walk(base[k], new[k], k[0] + "/" + k[1], acc)
for p, a, b in acc:
    print("%s: %r -> %r" % (p, a, b))
EOF
cat >"$T/want.txt" <<'EOF'
Deployment/web.spec.replicas: 3 -> 5
Deployment/web.spec.template.spec.containers[0].image: 'registry.local:5000/shop/web:1.4.2' -> 'registry.local:5000/shop/web:1.5.0'
Deployment/web.spec.template.spec.containers[0].resources.limits.cpu: '500m' -> 1
Deployment/web.spec.template.spec.containers[0].resources.limits.memory: '256Mi' -> '512Mi'
Ingress/web.spec.rules[0].host: 'shop.example.com' -> 'new.example.com'
Service/web.spec.ports[0].port: 80 -> 8080
EOF
for H in "$HELM3" "$HELM4"; do
	hn=$(basename "$H")
	"$H" lint --strict "$T/shop" >"$T/lint.txt" 2>&1 || fail "$hn lint --strict: $(cat "$T/lint.txt")"
	"$H" template rel "$T/shop" --namespace shop >"$T/base.yaml" || fail "$hn template (defaults)"
	"$H" template rel "$T/shop" --namespace shop \
		--set web.deployment.replicas=5 \
		--set web.deployment.containers.web.image.tag=1.5.0 \
		--set web.deployment.containers.web.resources.limits.memory=512Mi \
		--set web.deployment.containers.web.resources.limits.cpu=1 \
		--set web.service.ports.http=8080 \
		--set 'web.ingress.hosts[0]=new.example.com' >"$T/set.yaml" || fail "$hn template --set"
	$PY "$T/diff.py" "$T/base.yaml" "$T/set.yaml" >"$T/got.txt" || fail "$hn: diff script failed"
	diff -u "$T/want.txt" "$T/got.txt" || fail "$hn: --set changed other fields than expected"
	# the defaults reproduce the input exactly (types included)
	$PY "$ROOT/tests/integration/fidelity.py" --input "$T/in" --rendered "$T/base.yaml" --namespace shop --case params \
		|| fail "$hn: default rendering differs from the input"
	set +e
	"$H" template rel "$T/shop" --namespace shop --set web.deployment.replicas=abc >/dev/null 2>"$T/schema.err"
	rc=$?
	set -e
	[ $rc -ne 0 ] || fail "$hn: replicas=abc was accepted"
	grep -qi "replicas" "$T/schema.err" || fail "$hn: schema error does not name replicas: $(cat "$T/schema.err")"
	ok "$hn: --set changes exactly the expected fields; schema rejects replicas=abc; lint --strict"
done

# ---- tricky strings survive values.yaml, toJson/toYaml and literal templates -------------------
$PY - "$T/tricky.json" <<'EOF'
import json, sys
S = ["nginx", "yes", "no", "y", "n", "on", "off", "True", "NULL", "~", "", "1:20", "0755", "1_000", "2024-01-01",
     "2001-12-14t21:59:43.10-05:00", "1e3", ".5", "0x1F", "0o17", "+1", "-1", "1.25", "80", ".inf", "-.Inf", ".NaN",
     " a", "a ", "a: b", "a #b", "#a", "-", "- a", "--", "---", "@x", "`x", "*x", "&a", "!t", "%x", "|", ">", "'a'",
     "\"a\"", "a:", "=", "<<", "?", "[a]", "{a}", "a\tb", "\u0085", "a\u2028b", "\ufeffx", "back\\slash", "a\nb",
     "a\nb\n", "a\n\n", "  lead\nx\n", "\n\n  x\n", "trail \nx", "a\tb\nc", "\n", "\n\n", "a\r\nb", "x\n \ny",
     "{{ .Values.x }}", "a}}b", "{{{x}}}", "alert: {{ $labels.instance }}\n", "\u65e5\u672c", "null", "0", "-0",
     "1e-3", "0b101", "Yes", "ON", "12:30:45", "a,b", "  ", "\t", "{{- end }}", "{{/* c */}}"]
data = {"k%d" % i: s for i, s in enumerate(S)}
env = [{"name": "E%d" % i, "value": s} for i, s in enumerate(S)]
objs = [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "t", "namespace": "x", "annotations": data}, "data": data},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "x"},
     "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": {"metadata": {"labels": {"app": "d"}, "annotations": data},
              "spec": {"containers": [{"name": "c", "image": "i:1", "env": env, "args": S}]}}}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "x"}, "stringData": data},
    {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "th", "namespace": "x"},
     "spec": {"keys": {s: i for i, s in enumerate(S) if s}}},
]
json.dump({"apiVersion": "v1", "kind": "List", "items": objs}, open(sys.argv[1], "w"))
EOF
# Exact-text numbers: plain non-integral decimals go through values (float64) unchanged; the
# others (integral floats, too many digits, exponents without a dot) stay literal.
cat >"$T/numbers.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: num, namespace: x}
spec:
  replicas: 2
  selector: {matchLabels: {app: num}}
  template:
    metadata: {labels: {app: num}}
    spec:
      containers:
        - {name: a, image: "i:1", resources: {limits: {cpu: 0.5, memory: 1.5e3}, requests: {cpu: .25}}}
        - {name: b, image: "i:1", resources: {limits: {cpu: 1.0}}}
        - {name: c, image: "i:1", resources: {limits: {cpu: 0.1234567890123456789}}}
        - {name: d, image: "i:1", resources: {limits: {cpu: 2.5e-3, x: -0.75, w: 1234567.5}}}
        - {name: f, image: "i:1", resources: {limits: {y: 0.000001, z: 1.5e-7}}}
        - {name: e, image: "i:1", resources: {limits: {cpu: 0x1F, memory: 0o17, m: 0644, big: 123456789012345678901234567890}}}
EOF
$DHG generate -f "$T/tricky.json" -f "$T/numbers.yaml" -o "$T/tricky" --chart-name tricky --secrets include >/dev/null ||
	fail "generate (tricky)"
grep -q "cpu: 2.5e-3" "$T/tricky/values.yaml" || fail "a plain decimal float was not parameterized"
for H in "$HELM3" "$HELM4"; do
	hn=$(basename "$H")
	"$H" template rel "$T/tricky" --namespace x >"$T/tricky.yaml" || fail "$hn: template (tricky strings)"
	$PY "$ROOT/tests/integration/fidelity.py" --input "$T/tricky.json" --input "$T/numbers.yaml" --rendered "$T/tricky.yaml" --namespace x \
		--case tricky || fail "$hn: tricky strings changed"
	"$H" lint --strict "$T/tricky" >"$T/lint.txt" 2>&1 || fail "$hn lint --strict (tricky): $(cat "$T/lint.txt")"
	ok "$hn: tricky strings reproduced exactly"
done
