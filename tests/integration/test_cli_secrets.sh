#!/usr/bin/env bash
# dhg generate --secrets mask|include|external-secret, checked with real Helm 3 and 4:
# mask leaks no Secret value (plain or base64) into any file and requires the values back;
# include reproduces every Secret exactly; external-secret renders valid ExternalSecrets.
. "$(dirname "$0")/lib.sh"

[ -x "$HELM3" ] && [ -x "$HELM4" ] || skip "helm 3/4 not installed (make deps)"

mkdir -p "$T/in"
b64() { printf '%s' "$1" | base64 -w0; }
cat >"$T/in/secrets.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata: {name: db-credentials, namespace: shop}
type: Opaque
data:
  username: $(b64 'shop-admin-user')
  password: $(b64 'Sup3r-S3cret-Passw0rd!')
  multi.line: $(b64 $'line-one-secret\nline-two-secret\n')
---
apiVersion: v1
kind: Secret
metadata: {name: api-keys, namespace: shop, annotations: {owner: payments}}
type: Opaque
stringData:
  stripe-key: sk_test_4eC39HqLyjWDarjtT1zdp7dc
  webhook: "whsec_99887766554433"
  retries: "31337"
---
apiVersion: v1
kind: Secret
metadata: {name: web-tls, namespace: shop}
type: kubernetes.io/tls
data:
  tls.crt: $(b64 $'-----BEGIN CERTIFICATE-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END CERTIFICATE-----\n')
  tls.key: $(b64 $'-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCo\n-----END PRIVATE KEY-----\n')
---
apiVersion: v1
kind: Secret
metadata: {name: registry-credentials, namespace: shop}
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: $(b64 '{"auths":{"registry.example.com":{"auth":"dXNlcjpwYXNzd29yZDEyMw=="}}}')
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      imagePullSecrets: [{name: registry-credentials}]
      containers:
        - name: api
          image: shop/api:2.0.1
          env:
            - name: DB_PASSWORD
              valueFrom: {secretKeyRef: {name: db-credentials, key: password}}
EOF

# Every secret value, plain and base64, one per line (for grep -F -f).
$PY - "$T/in/secrets.yaml" >"$T/needles.txt" <<'EOF'
import base64, sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if not d or d["kind"] != "Secret":
        continue
    for v in (d.get("data") or {}).values():
        plain = base64.b64decode(v).decode()
        print(v)
        for line in plain.splitlines():
            if len(line) >= 8:
                print(line)
    for v in (d.get("stringData") or {}).values():
        print(v)
        print(base64.b64encode(v.encode()).decode())
EOF
[ "$(wc -l <"$T/needles.txt")" -ge 15 ] || fail "needle list too short"

no_leak() { # no_leak CHARTDIR
	if grep -rF -f "$T/needles.txt" "$1" >"$T/leaks.txt"; then
		fail "secret value found in $1: $(cut -c1-200 "$T/leaks.txt")"
	fi
}

# ---- mask (the default) ----------------------------------------------------------------------
$DHG generate -f "$T/in" -o "$T/mask/shop" --chart-name shop >/dev/null || fail "generate (mask)"
no_leak "$T/mask/shop"
# The values come back through --values; `data` values are given in plain text.
$PY - "$T/in/secrets.yaml" >"$T/secret-values.yaml" <<'EOF'
import base64, re, sys, yaml
def camel(n):
    parts = re.split(r"[^A-Za-z0-9]+", n)
    parts = [p for p in parts if p]
    return parts[0][:1].lower() + parts[0][1:] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
vals = {}
for d in yaml.safe_load_all(open(sys.argv[1])):
    if not d or d["kind"] != "Secret":
        continue
    s = vals.setdefault(camel(d["metadata"]["name"]), {}).setdefault("secret", {})
    for k, v in (d.get("data") or {}).items():
        s.setdefault("data", {})[k] = base64.b64decode(v).decode()
    for k, v in (d.get("stringData") or {}).items():
        s.setdefault("stringData", {})[k] = v
print(yaml.safe_dump(vals))
EOF
for H in "$HELM3" "$HELM4"; do
	hn=$(basename "$H")
	set +e
	"$H" template rel "$T/mask/shop" --namespace shop >/dev/null 2>"$T/req.err"
	rc=$?
	set -e
	[ $rc -ne 0 ] || fail "$hn: mask chart rendered without the secret values"
	grep -q "is not stored in the chart" "$T/req.err" || fail "$hn: unclear required message: $(cat "$T/req.err")"
	"$H" template rel "$T/mask/shop" --namespace shop -f "$T/secret-values.yaml" >"$T/mask.yaml" ||
		fail "$hn: mask chart with values"
	$PY "$ROOT/tests/integration/fidelity.py" --input "$T/in" --rendered "$T/mask.yaml" --namespace shop \
		--case mask-with-values || fail "$hn: mask chart + values does not reproduce the Secrets"
	"$H" lint --strict "$T/mask/shop" -f "$T/secret-values.yaml" >"$T/lint.txt" 2>&1 ||
		fail "$hn lint --strict (mask): $(cat "$T/lint.txt")"
	ok "$hn: mask leaks nothing, requires the values, reproduces the Secrets from them"
done

# ---- include -----------------------------------------------------------------------------------
$DHG generate -f "$T/in" -o "$T/include/shop" --chart-name shop --secrets include >/dev/null || fail "generate (include)"
grep -qF "Sup3r" "$T/include/shop/values.yaml" || grep -qF "$(b64 'Sup3r-S3cret-Passw0rd!')" "$T/include/shop/values.yaml" ||
	fail "include mode does not hold the values"
for H in "$HELM3" "$HELM4"; do
	hn=$(basename "$H")
	"$H" template rel "$T/include/shop" --namespace shop >"$T/include.yaml" || fail "$hn: template (include)"
	$PY "$ROOT/tests/integration/fidelity.py" --input "$T/in" --rendered "$T/include.yaml" --namespace shop \
		--case include || fail "$hn: include mode differs from the input"
	"$H" lint --strict "$T/include/shop" >"$T/lint.txt" 2>&1 || fail "$hn lint --strict (include): $(cat "$T/lint.txt")"
	ok "$hn: include reproduces every Secret"
done

# ---- external-secret ---------------------------------------------------------------------------
$DHG generate -f "$T/in" -o "$T/ext/shop" --chart-name shop --secrets external-secret \
	--external-secret-store vault --external-secret-store-kind ClusterSecretStore >/dev/null || fail "generate (external)"
no_leak "$T/ext/shop"
for H in "$HELM3" "$HELM4"; do
	hn=$(basename "$H")
	"$H" template rel "$T/ext/shop" --namespace shop >"$T/ext.yaml" || fail "$hn: template (external)"
	$PY - "$T/in/secrets.yaml" "$T/ext.yaml" <<'EOF' || fail "$hn: ExternalSecrets are not as expected"
import sys, yaml
want = {}
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "Secret":
        keys = set(d.get("data") or {}) | set(d.get("stringData") or {})
        want[d["metadata"]["name"]] = (d["metadata"]["namespace"], d.get("type"), keys)
got = {}
for d in yaml.safe_load_all(open(sys.argv[2])):
    if not d:
        continue
    assert d["kind"] != "Secret", "a Secret was rendered in external-secret mode"
    if d["kind"] == "ExternalSecret":
        assert d["apiVersion"] == "external-secrets.io/v1beta1", d["apiVersion"]
        m, s = d["metadata"], d["spec"]
        assert s["secretStoreRef"] == {"name": "vault", "kind": "ClusterSecretStore"}, s["secretStoreRef"]
        assert s["target"]["name"] == m["name"], s["target"]
        assert isinstance(s["refreshInterval"], str)
        keys = set()
        for e in s["data"]:
            assert set(e) == {"secretKey", "remoteRef"}, e
            assert e["remoteRef"]["key"] and e["remoteRef"]["property"] == e["secretKey"], e
            keys.add(e["secretKey"])
        got[m["name"]] = (m["namespace"], (s["target"].get("template") or {}).get("type"), keys)
assert got == want, (got, want)
print("ok", len(got), "ExternalSecrets")
EOF
	"$H" lint --strict "$T/ext/shop" >"$T/lint.txt" 2>&1 || fail "$hn lint --strict (external): $(cat "$T/lint.txt")"
	ok "$hn: external-secret renders one valid ExternalSecret per Secret"
done
