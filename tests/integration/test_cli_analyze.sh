#!/usr/bin/env bash
# dhg analyze on fixtures: expected relationships and findings, in text and JSON; exit codes.
. "$(dirname "$0")/lib.sh"
[ -x "$BUILD/dhg" ] || skip "no $BUILD/dhg"
FX=$ROOT/tests/fixtures

# --- JSON on the three-tier web app -------------------------------------------------------
$DHG analyze -f "$FX/web-app/input" --format json >"$T/web.json" || fail "analyze web-app json"
$PY - "$T/web.json" <<'PY' || fail "web-app relationships/findings"
import json, sys
j = json.load(open(sys.argv[1]))
edges = {(e["from"], e["to"], e["type"]) for e in j["edges"]}
want = [
    ("Service/shop/frontend", "Deployment/shop/frontend", "selects"),
    ("Service/shop/api", "Deployment/shop/api", "selects"),
    ("Ingress/shop/shop", "Service/shop/frontend", "routes-to"),
    ("Ingress/shop/shop", "Service/shop/api", "routes-to"),
    ("HorizontalPodAutoscaler/shop/frontend", "Deployment/shop/frontend", "scales"),
    ("PodDisruptionBudget/shop/frontend", "Deployment/shop/frontend", "protects"),
    ("PodDisruptionBudget/shop/api", "Deployment/shop/api", "protects"),
    ("Deployment/shop/api", "ConfigMap/shop/api-config", "uses-configmap"),
    ("Deployment/shop/api", "ConfigMap/shop/fluent-bit-config", "uses-configmap"),
    ("Deployment/shop/api", "Secret/shop/api-db", "uses-secret"),
    ("Deployment/shop/api", "Secret/shop/api-payment", "uses-secret"),
    ("Deployment/shop/api", "Secret/shop/api-tls", "uses-secret"),
    ("Deployment/shop/api", "Secret/shop/registry-credentials", "uses-secret"),
    ("Deployment/shop/api", "ServiceAccount/shop/api", "uses-serviceaccount"),
    ("Deployment/shop/frontend", "ConfigMap/shop/frontend-config", "uses-configmap"),
    ("NetworkPolicy/shop/api-allow-frontend", "Deployment/shop/api", "applies-to"),
]
missing = [w for w in want if w not in edges]
assert not missing, "missing edges: %r" % missing
assert ("Service/shop/frontend", "Deployment/shop/api", "selects") not in edges
assert len(j["nodes"]) == 18, len(j["nodes"])
f = [(x["severity"], x["rule"], x["object"]) for x in j["findings"]]
# the TLS Secret comes from cert-manager: a low missing-reference, nothing else
assert f == [("low", "missing-reference", "Ingress/shop/shop")], f
assert j["summary"] == {"nodes": 18, "edges": len(j["edges"]), "high": 0, "medium": 0, "low": 1}, j["summary"]
PY
ok "web-app: relationships and findings (json)"

# --- text on the same input ---------------------------------------------------------------
$DHG analyze -f "$FX/web-app/input" >"$T/web.txt" || fail "analyze web-app text"
grep -q '^18 objects, 17 relationships, findings: 0 high, 0 medium, 1 low$' "$T/web.txt" || fail "text summary: $(head -1 "$T/web.txt")"
grep -A3 '^  Service shop/frontend$' "$T/web.txt" | grep -q 'selects -> Deployment shop/frontend' || fail "text tree"
grep -q 'LOW (1)' "$T/web.txt" || fail "text severity group"
ok "web-app: text output"

# --- findings on a deliberately bad manifest, read from stdin -----------------------------
cat >"$T/bad.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: risky, namespace: t}
spec:
  replicas: 3
  selector: {matchLabels: {app: risky}}
  template:
    metadata: {labels: {app: risky}}
    spec:
      securityContext: {runAsUser: 0}
      containers:
      - name: main
        image: nginx
        securityContext: {privileged: true, allowPrivilegeEscalation: true}
        envFrom: [{configMapRef: {name: not-here}}]
      - name: side
        image: busybox:latest
        securityContext: {runAsUser: 1000}
        resources: {limits: {cpu: 100m}, requests: {cpu: 50m}}
        readinessProbe: {tcpSocket: {port: 1}}
---
apiVersion: v1
kind: Service
metadata: {name: nothing, namespace: t}
spec: {selector: {app: nope}, ports: [{port: 80}]}
Y
$DHG analyze -f - --format json <"$T/bad.yaml" >"$T/bad.json" || fail "analyze stdin"
$PY - "$T/bad.json" <<'PY' || fail "findings on bad manifest"
import json, sys
j = json.load(open(sys.argv[1]))
f = {(x["severity"], x["rule"], x["object"], x["message"]) for x in j["findings"]}
d = "Deployment/t/risky"
want = {
    ("high", "privileged", d, "container 'main' runs privileged"),
    ("high", "privilege-escalation", d, "container 'main' sets allowPrivilegeEscalation: true"),
    ("high", "run-as-root", d, "container 'main' runs as user 0 (root)"),
    ("medium", "image-latest", d, "container 'main' image 'nginx' has no tag (pulls :latest)"),
    ("medium", "image-latest", d, "container 'side' image 'busybox:latest' uses the :latest tag"),
    ("medium", "missing-reference", d, "Deployment references ConfigMap t/not-here which is not in the input (container 'main' envFrom)"),
    ("medium", "no-pdb", d, "3 replicas and no PodDisruptionBudget selects its pods"),
    ("medium", "service-selects-nothing", "Service/t/nothing", "Service selector app=nope matches no workload in the input"),
    ("low", "no-resources", d, "container 'main' has no resource requests or limits"),
    ("low", "no-probes", d, "container 'main' has no liveness or readiness probe"),
    ("low", "no-probes", d, "container 'side' has no liveness probe"),
}
assert f == want, "unexpected: %r\nmissing: %r" % (f - want, want - f)
sev = [x["severity"] for x in j["findings"]]
assert sev == sorted(sev, key=["high", "medium", "low"].index), sev
PY
$DHG analyze -f "$T/bad.yaml" >"$T/bad.txt" || fail "analyze text bad"
grep -q '^  HIGH (3)$' "$T/bad.txt" && grep -q '^  MEDIUM (5)$' "$T/bad.txt" && grep -q '^  LOW (3)$' "$T/bad.txt" \
	|| fail "text groups: $(cat "$T/bad.txt")"
grep -q "Service t/nothing" "$T/bad.txt" || fail "unrelated object not listed"
ok "findings by severity (json and text, stdin)"

# --- StatefulSet, RBAC, deprecated input (migrated before analysis) -----------------------
$DHG analyze -f "$FX/postgres-statefulset/input" -f "$FX/operator-crds/input" -f "$FX/deprecated-apis/input" \
	--format json >"$T/more.json" 2>"$T/more.err" || fail "analyze more: $(cat "$T/more.err")"
$PY - "$T/more.json" <<'PY' || fail "statefulset/rbac/deprecated relationships"
import json, sys
j = json.load(open(sys.argv[1]))
edges = {(e["from"], e["to"], e["type"]) for e in j["edges"]}
for w in [
    ("StatefulSet/data/postgres", "Service/data/postgres-headless", "headless-service"),
    ("Service/data/postgres-headless", "StatefulSet/data/postgres", "selects"),
    ("StatefulSet/data/postgres", "Secret/data/postgres-credentials", "uses-secret"),
    ("PodDisruptionBudget/data/postgres", "StatefulSet/data/postgres", "protects"),
    ("ClusterRoleBinding/widget-operator", "ClusterRole/widget-operator", "binds-role"),
    ("ClusterRoleBinding/widget-operator", "ServiceAccount/widgets-system/widget-operator", "binds-subject"),
    ("RoleBinding/widgets-system/widget-operator-leader-election", "Role/widgets-system/widget-operator-leader-election", "binds-role"),
    ("Deployment/widgets-system/widget-operator", "ServiceAccount/widgets-system/widget-operator", "uses-serviceaccount"),
    ("Widget/widgets-system/sample", "CustomResourceDefinition/widgets.acme.example.com", "instance-of"),
    ("Ingress/legacy/legacy", "Service/legacy/legacy-web", "routes-to"),
    ("HorizontalPodAutoscaler/legacy/legacy-web", "Deployment/legacy/legacy-web", "scales"),
    ("PodDisruptionBudget/legacy/legacy-web", "Deployment/legacy/legacy-web", "protects"),
]:
    assert w in edges, "missing edge %r" % (w,)
nodes = {n["id"]: n for n in j["nodes"]}
assert nodes["Ingress/legacy/legacy"]["apiVersion"] == "networking.k8s.io/v1"
f = {(x["rule"], x["object"], x["message"]) for x in j["findings"]}
assert ("missing-reference", "Ingress/legacy/legacy",
        "Ingress references Service legacy/legacy-static which is not in the input (rule host 'legacy.example.com' path '/static')") in f, f
assert not any(o == "StatefulSet/data/postgres" and r == "no-pdb" for r, o, _ in f)
PY
grep -q "extensions/v1beta1" "$T/more.err" || fail "no migration warning on stderr"
ok "statefulset, RBAC and migrated deprecated APIs"

# --- generic kinds, a kind: List, ServiceAccount pull secrets ------------------------------
$DHG analyze -f "$FX/misc-kinds/input" --format json >"$T/misc.json" || fail "analyze misc-kinds"
$PY - "$T/misc.json" <<'PY' || fail "misc-kinds relationships"
import json, sys
j = json.load(open(sys.argv[1]))
edges = {(e["from"], e["to"], e["type"]) for e in j["edges"]}
assert edges == {
    ("ServiceAccount/team-a/payments", "Secret/team-a/ghcr", "uses-secret"),
    ("Deployment/team-a/payments", "ServiceAccount/team-a/payments", "uses-serviceaccount"),
    ("Pod/team-a/payments-debug", "ServiceAccount/team-a/payments", "uses-serviceaccount"),
    ("Service/team-a/payments-public", "Deployment/team-a/payments", "selects"),
}, edges
assert len(j["nodes"]) == 10, len(j["nodes"])
f = {(x["rule"], x["object"]) for x in j["findings"]}
assert ("no-pdb", "Deployment/team-a/payments") in f and not any(r == "image-latest" for r, _ in f), f
assert not any(r == "service-selects-nothing" for r, _ in f), f  # ExternalName / selector-less
PY
ok "generic kinds, kind: List and ServiceAccount pull secrets"

# --- usage and errors ---------------------------------------------------------------------
rc=0; $DHG analyze >/dev/null 2>&1 || rc=$?; [ $rc -eq 2 ] || fail "no -f: rc=$rc"
rc=0; $DHG analyze -f "$FX/web-app/input" --format xml >/dev/null 2>&1 || rc=$?; [ $rc -eq 2 ] || fail "bad format: rc=$rc"
rc=0; $DHG analyze -f "$T/does-not-exist" >/dev/null 2>"$T/err" || rc=$?; [ $rc -eq 1 ] || fail "missing path: rc=$rc"
grep -q "does-not-exist" "$T/err" || fail "error does not name the path"
printf 'kind: [unclosed\n' >"$T/broken.yaml"
rc=0; $DHG analyze -f "$T/broken.yaml" >/dev/null 2>"$T/err" || rc=$?; [ $rc -eq 1 ] || fail "broken yaml: rc=$rc"
grep -q "broken.yaml" "$T/err" || fail "yaml error does not name the file: $(cat "$T/err")"
$DHG analyze --help | grep -q -- "--format" || fail "--help"
ok "usage and error exit codes"
