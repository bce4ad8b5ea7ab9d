#!/usr/bin/env bash
# Bearer token auth: docker-registry with `auth: token` and a token server (Python stdlib, RS256
# JWTs signed by openssl) — dhg follows the WWW-Authenticate Bearer challenge, gets a token with
# its basic credentials, pushes; helm 3.17 and 4.1 pull; a wrong password fails clearly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry.sh"

command -v docker-registry >/dev/null || skip "docker-registry not installed"
[ -x "$HELM3" ] && [ -x "$HELM4" ] || skip "helm binaries missing (make deps)"
export HOME=$T/home HELM_CACHE_HOME=$T/helm/cache HELM_CONFIG_HOME=$T/helm/config HELM_DATA_HOME=$T/helm/data
export HELM_REGISTRY_CONFIG=$T/helm/registry.json
mkdir -p "$HOME"

registry_start --token
registry_chart "$T/chart" tok 2.0.0
curl -sS -D - -o /dev/null "http://$REG_HOST/v2/" | tr -d '\r' | grep -i '^www-authenticate: Bearer realm=' >/dev/null ||
	fail "registry does not send a Bearer challenge"

set +e
echo "wrong" | $DHG push "$T/chart" "oci://$REG_HOST/charts" --plain-http --username "$REG_USER" --password-stdin \
	>"$T/out" 2>"$T/err"
rc=$?
set -e
cat "$T/err"
[ $rc -eq 1 ] || fail "wrong password: exit $rc"
grep -q "token server rejected the credentials" "$T/err" || fail "wrong password message"
set +e
$DHG push "$T/chart" "oci://$REG_HOST/charts" --plain-http >"$T/out" 2>"$T/err"
rc=$?
set -e
cat "$T/err"
[ $rc -eq 1 ] && grep -q "requires authentication" "$T/err" || fail "anonymous push: exit $rc"
ok "wrong/no credentials fail clearly"

echo "$REG_PASS" | $DHG push "$T/chart" "oci://$REG_HOST/charts" --plain-http --username "$REG_USER" --password-stdin \
	--debug >"$T/out1" 2>"$T/err1" || fail "token push: $(cat "$T/err1")"
cat "$T/out1"
grep -q "fetching a bearer token" "$T/err1" || fail "no token flow"
grep -qF "$REG_PASS" "$T/err1" && fail "password in the debug log"
grep -qx "Pushed: $REG_HOST/charts/tok:2.0.0" "$T/out1" || fail "output"
digest=$(sed -n 's/^Digest: //p' "$T/out1")
echo "$REG_PASS" | $DHG push "$T/chart" "oci://$REG_HOST/charts" --plain-http --username "$REG_USER" --password-stdin \
	>"$T/out2" || fail "second token push"
diff "$T/out1" "$T/out2" || fail "second push differs"
ok "bearer token push (and idempotent re-push)"

for H in "$HELM3" "$HELM4"; do
	v=$($H version --short)
	rm -f "$HELM_REGISTRY_CONFIG"
	loginflags=""
	[ "$H" = "$HELM4" ] && loginflags="--plain-http"
	echo "$REG_PASS" | $H registry login "$REG_HOST" $loginflags --username "$REG_USER" --password-stdin >"$T/login" 2>&1 ||
		fail "$v login: $(cat "$T/login")"
	rm -rf "$T/pull" && mkdir -p "$T/pull"
	$H pull "oci://$REG_HOST/charts/tok" --version 2.0.0 --plain-http -d "$T/pull" >"$T/pull.log" 2>&1 ||
		fail "$v pull: $(cat "$T/pull.log")"
	grep -q "Digest: $digest" "$T/pull.log" || fail "$v: other manifest"
	tar -xzOf "$T/pull/tok-2.0.0.tgz" tok/Chart.yaml | cmp - "$T/chart/Chart.yaml" || fail "$v: Chart.yaml differs"
	ok "$v pulls through the token flow"
done
ok "all"
