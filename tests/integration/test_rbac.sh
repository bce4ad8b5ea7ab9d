#!/usr/bin/env bash
# RBAC is declared once, next to the code (STYLE.md): `dhg-operator --print-rbac` prints the rules
# the code needs, built from the tables the code uses (hc_kinds, the controller's HelmChart and
# status calls, the runtime's Event and Lease calls). The Helm chart (defaults, and
# watchNamespaces) and deploy/operator.yaml must grant each of them where it is needed:
# watched-namespace rules in the ClusterRole (or in the Role of every watched namespace),
# Lease rules in the leader-election Role of the release namespace; no wildcard anywhere;
# cluster-scoped resources only in a ClusterRole. Grants the code does not use are listed (not
# an error: the chart may grant more).
. "$(dirname "$0")/lib.sh"
[ -x "$BUILD/dhg-operator" ] || skip "dhg-operator not built"
[ -x "$HELM3" ] || skip "helm3 not installed (.tools)"
$PY -c 'import yaml' 2>/dev/null || skip "python3-yaml missing"

"$BUILD/dhg-operator" --print-rbac >"$T/needed.json" || fail "--print-rbac"
"$HELM3" template dhg-operator "$ROOT/helm/dhg-operator" -n dhg-system >"$T/default.yaml" || fail "helm template (defaults)"
"$HELM3" template dhg-operator "$ROOT/helm/dhg-operator" -n dhg-system \
	--set 'watchNamespaces={team-a,team-b}' >"$T/ns.yaml" || fail "helm template (watchNamespaces)"

check() { # NAME MANIFESTS WATCHED-NAMESPACES(comma-separated, empty: all)
	$PY - "$T/needed.json" "$2" "$3" "$1" <<'PY'
import json, sys, yaml
needed = json.load(open(sys.argv[1]))
docs = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
watched = [n for n in sys.argv[3].split(",") if n]
name = sys.argv[4]
# a few well-known cluster-scoped resources (none may appear in a namespaced Role)
CLUSTER = {"clusterroles", "clusterrolebindings", "customresourcedefinitions", "namespaces", "nodes",
           "persistentvolumes", "storageclasses", "priorityclasses", "ingressclasses", "apiservices",
           "mutatingwebhookconfigurations", "validatingwebhookconfigurations", "certificatesigningrequests"}
errors = []
roles = [d for d in docs if d.get("kind") in ("Role", "ClusterRole")]
bindings = [d for d in docs if d.get("kind") in ("RoleBinding", "ClusterRoleBinding")]
if not needed or not all({"apiGroup", "resource", "verbs", "scope"} <= set(r) for r in needed):
    sys.exit(f"{name}: --print-rbac output is empty or malformed")
for r in needed:
    if r["resource"] == "helmcharts/status":
        break
else:
    sys.exit(f"{name}: --print-rbac has no helmcharts/status rule")

def bound(role):
    kind = role["kind"]
    for b in bindings:
        ref = b.get("roleRef", {})
        if ref.get("kind") == kind and ref.get("name") == role["metadata"]["name"] and \
           (kind == "ClusterRole" or b["metadata"].get("namespace") == role["metadata"].get("namespace")):
            if any(s.get("kind") == "ServiceAccount" for s in b.get("subjects", [])):
                return True
    return False

for role in roles:
    where = f'{role["kind"]} {role["metadata"].get("namespace", "")}/{role["metadata"]["name"]}'
    if not bound(role):
        errors.append(f"{where} is not bound to the ServiceAccount")
    for rule in role.get("rules", []):
        for f in ("apiGroups", "resources", "verbs"):
            if "*" in rule.get(f, []):
                errors.append(f"{where}: wildcard in {f}: {rule}")
        if rule.get("resourceNames"):
            errors.append(f"{where}: resourceNames restricts {rule['resources']} (the code does not know names)")
        if role["kind"] == "Role":
            for res in rule.get("resources", []):
                if res.split("/")[0] in CLUSTER:
                    errors.append(f"{where}: cluster-scoped resource {res} in a namespaced Role")

def grants(role, group, resource, verb):
    return any(group in r.get("apiGroups", []) and resource in r.get("resources", []) and verb in r.get("verbs", [])
               for r in role.get("rules", []))

cluster_roles = [r for r in roles if r["kind"] == "ClusterRole"]
ns_roles = {}
for r in roles:
    if r["kind"] == "Role":
        ns_roles.setdefault(r["metadata"].get("namespace"), []).append(r)
if watched and cluster_roles:
    errors.append(f"watchNamespaces {watched} set, but a ClusterRole is rendered")
if not watched and not cluster_roles:
    errors.append("no ClusterRole although all namespaces are watched")
checked = 0
for n in needed:
    g, res = n["apiGroup"], n["resource"]
    for v in n["verbs"]:
        if n["scope"] == "leader-election-namespace":
            places = {"dhg-system": ns_roles.get("dhg-system", [])}
        elif watched:
            places = {ns: ns_roles.get(ns, []) for ns in watched}
        else:
            places = {"(cluster)": cluster_roles}
        for ns, rs in places.items():
            checked += 1
            if not any(grants(r, g, res, v) for r in rs):
                errors.append(f"{ns}: nothing grants {v} on {res}.{g or 'core'} (needed by {n.get('why', '?')})")
# grants the code does not use (information only)
need = {(n["apiGroup"], n["resource"], v) for n in needed for v in n["verbs"]}
extra = sorted({f"{r['kind']}: {v} {res}.{g or 'core'}" for r in roles for rule in r.get("rules", [])
                for g in rule.get("apiGroups", []) for res in rule.get("resources", []) for v in rule.get("verbs", [])
                if (g, res, v) not in need})
if extra:
    print(f"  {name}: granted but not used by the code: " + "; ".join(extra))
if errors:
    print(f"{name}:\n  " + "\n  ".join(errors))
    sys.exit(1)
print(f"  {name}: {checked} needed (verb, resource, place) grants present, no wildcard")
PY
}
check "chart (defaults)" "$T/default.yaml" "" || fail "chart defaults do not grant what the code needs"
check "deploy/operator.yaml" "$ROOT/deploy/operator.yaml" "" || fail "deploy/operator.yaml does not grant what the code needs (make deploy-manifests?)"
check "chart (watchNamespaces team-a,team-b)" "$T/ns.yaml" "team-a,team-b" || fail "chart with watchNamespaces does not grant what the code needs"
ok "RBAC of helm/dhg-operator and deploy/operator.yaml covers dhg-operator --print-rbac ($(grep -c '"resource"' "$T/needed.json") rules)"

# the check can fail: a chart without the status rule is caught
sed '/helmcharts\/status/d' "$T/default.yaml" >"$T/broken.yaml"
check "broken chart" "$T/broken.yaml" "" >"$T/broken.out" 2>&1 && fail "a ClusterRole without helmcharts/status passed"
grep -q 'nothing grants patch on helmcharts/status' "$T/broken.out" || fail "unexpected output: $(cat "$T/broken.out")"
ok "a missing rule is reported"
