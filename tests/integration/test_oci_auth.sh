#!/usr/bin/env bash
# dhg push to a TLS registry (test CA from openssl) with htpasswd (bcrypt) auth: --ca-file,
# --username/--password-stdin, docker config credentials, wrong CA, wrong password,
# --insecure-skip-tls-verify; helm 3.17 and 4.1 log in and pull our bytes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry.sh"

command -v docker-registry >/dev/null || skip "docker-registry not installed"
command -v htpasswd >/dev/null || skip "htpasswd (apache2-utils) not installed"
[ -x "$HELM3" ] && [ -x "$HELM4" ] || skip "helm binaries missing (make deps)"

export HOME=$T/home HELM_CACHE_HOME=$T/helm/cache HELM_CONFIG_HOME=$T/helm/config HELM_DATA_HOME=$T/helm/data
export HELM_REGISTRY_CONFIG=$T/helm/registry.json
unset DOCKER_CONFIG
mkdir -p "$HOME"

registry_start --tls --htpasswd
registry_ca_make "$T/wrong" ca
registry_chart "$T/chart" secure 1.0.0
repo="oci://$REG_HOST/team/charts"

expect_fail() { # NAME GREP-PATTERN CMD...   (stdin passed through)
	local name=$1 pat=$2 rc
	shift 2
	set +e
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	[ $rc -eq 1 ] || fail "$name: exit $rc, want 1: $(cat "$T/err")"
	grep -q -- "$pat" "$T/err" || fail "$name: message '$(cat "$T/err")' lacks '$pat'"
	grep -qF -- "$REG_PASS" "$T/err" "$T/out" && fail "$name: password in the output"
	[ ! -s "$T/out" ] || fail "$name: printed to stdout"
	echo "  $name: $(cat "$T/err")"
}

# no credentials
expect_fail "anonymous" "requires authentication" $DHG push "$T/chart" "$repo" --ca-file "$REG_CA"
# wrong password
echo "not-the-password" | expect_fail "wrong password" "authentication failed for user 'dhg-user'" \
	$DHG push "$T/chart" "$repo" --ca-file "$REG_CA" --username "$REG_USER" --password-stdin
# wrong CA, and the system CAs (which do not know the test CA)
echo "$REG_PASS" | expect_fail "wrong CA" "SSL\|certificate" \
	$DHG push "$T/chart" "$repo" --ca-file "$T/wrong/ca.crt" --username "$REG_USER" --password-stdin
echo "$REG_PASS" | expect_fail "system CAs" "SSL\|certificate" \
	$DHG push "$T/chart" "$repo" --username "$REG_USER" --password-stdin
# plain HTTP against a TLS port
echo "$REG_PASS" | expect_fail "plain http to TLS" "registry $REG_HOST" \
	$DHG push "$T/chart" "$repo" --plain-http --username "$REG_USER" --password-stdin
curl -fsS --cacert "$REG_CA" -u "$REG_USER:$REG_PASS" "https://$REG_HOST/v2/_catalog" | grep '"repositories":\[\]' >/dev/null ||
	fail "failed pushes left something in the registry"
ok "failures are clear, leave nothing behind, and never print the password"

# right CA + right password
echo "$REG_PASS" | $DHG push "$T/chart" "$repo" --ca-file "$REG_CA" --username "$REG_USER" --password-stdin >"$T/out1" ||
	fail "push with --ca-file"
cat "$T/out1"
grep -qx "Pushed: $REG_HOST/team/charts/secure:1.0.0" "$T/out1" || fail "output"
digest=$(sed -n 's/^Digest: //p' "$T/out1")
ok "TLS + basic auth push"

# credentials from $DOCKER_CONFIG/config.json (auth = base64 user:pass), and insecure-skip-tls-verify
mkdir -p "$T/docker"
printf '{"auths":{"https://%s":{"auth":"%s"}}}' "$REG_HOST" "$(printf '%s:%s' "$REG_USER" "$REG_PASS" | base64 -w0)" \
	>"$T/docker/config.json"
DOCKER_CONFIG=$T/docker $DHG push "$T/chart" "$repo" --ca-file "$REG_CA" >"$T/out2" || fail "push with docker config"
diff "$T/out1" "$T/out2" || fail "docker-config push: other output"
printf '{"auths":{"%s":{"username":"%s","password":"%s"}}}' "$REG_HOST" "$REG_USER" "$REG_PASS" >"$HOME/config.json"
mkdir -p "$HOME/.docker" && mv "$HOME/config.json" "$HOME/.docker/config.json"
$DHG push "$T/chart" "$repo" --insecure-skip-tls-verify >"$T/out3" || fail "push with ~/.docker/config.json + insecure"
diff "$T/out1" "$T/out3" || fail "home docker config push: other output"
rm -rf "$HOME/.docker"
ok "docker config credentials (DOCKER_CONFIG and ~/.docker), --insecure-skip-tls-verify"

# helm 3 and 4: log in with the CA and pull our bytes
layer=$(curl -fsS --cacert "$REG_CA" -u "$REG_USER:$REG_PASS" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"https://$REG_HOST/v2/team/charts/secure/manifests/1.0.0" |
	$PY -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])')
# Helm 3's resolver speaks plain HTTP to loopback IPs, so helm reaches the registry by host
# name (REG_ALIAS_HOST, in the certificate); without one, helm 3 is not checked over TLS here.
for H in "$HELM3" "$HELM4"; do
	v=$($H version --short)
	hh=$REG_ALIAS_HOST
	if [ -z "$hh" ]; then
		[ "$H" = "$HELM3" ] && { echo "  note: no host name resolving to 127.0.0.1: $v TLS pull not checked"; continue; }
		hh=$REG_HOST
	fi
	rm -f "$HELM_REGISTRY_CONFIG"
	echo "$REG_PASS" | $H registry login "$hh" --ca-file "$REG_CA" --username "$REG_USER" --password-stdin \
		>"$T/login" 2>&1 || fail "$v login: $(cat "$T/login")"
	rm -rf "$T/pull" && mkdir -p "$T/pull"
	$H pull "oci://$hh/team/charts/secure" --version 1.0.0 --ca-file "$REG_CA" -d "$T/pull" >"$T/pull.log" 2>&1 ||
		fail "$v pull: $(cat "$T/pull.log")"
	grep -q "Digest: $digest" "$T/pull.log" || fail "$v pulled another manifest: $(cat "$T/pull.log")"
	[ "sha256:$(sha256sum <"$T/pull/secure-1.0.0.tgz" | cut -d' ' -f1)" = "$layer" ] || fail "$v: bytes differ"
	$H show chart "oci://$hh/team/charts/secure" --version 1.0.0 --ca-file "$REG_CA" | grep -x "name: secure" >/dev/null ||
		fail "$v show chart"
	ok "$v login + pull + show chart over TLS ($hh)"
done

# Helm's registry config (written by `helm registry login`) also serves dhg as a credential source
sed -i 's/^version: .*/version: 1.0.1/' "$T/chart/Chart.yaml"
hh=${REG_ALIAS_HOST:-$REG_HOST}
$DHG push "$T/chart" "oci://$hh/team/charts" --ca-file "$REG_CA" >"$T/out4" 2>"$T/err4" ||
	fail "push with helm's registry config: $(cat "$T/err4")"
grep -qx "Pushed: $hh/team/charts/secure:1.0.1" "$T/out4" || fail "output 4"
ok "helm registry config credentials"
ok "all"
