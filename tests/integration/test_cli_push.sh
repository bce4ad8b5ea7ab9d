#!/usr/bin/env bash
# Quick `dhg push` check (also run under `make asan` and `make valgrind`): push to a loopback
# docker-registry with htpasswd auth, re-push (no-op, same digest), refused overwrite, usage.
# The full OCI coverage (helm pulls, TLS, token auth, faults) is in test_oci_*.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry.sh"

command -v docker-registry >/dev/null || skip "docker-registry not installed"
export HOME=$T/home
unset DOCKER_CONFIG HELM_REGISTRY_CONFIG
mkdir -p "$HOME"

registry_start --htpasswd
registry_chart "$T/chart" quick 0.1.0

set +e
$DHG push >/dev/null 2>&1; [ $? -eq 2 ] || fail "no arguments: want exit 2"
$DHG push "$T/chart" "oci://$REG_HOST/c" --username "$REG_USER" >/dev/null 2>&1
[ $? -eq 2 ] || fail "--username without --password-stdin: want exit 2"
echo "wrong" | $DHG push "$T/chart" "oci://$REG_HOST/c" --plain-http --username "$REG_USER" --password-stdin \
	>/dev/null 2>"$T/err"
[ $? -eq 1 ] && grep "authentication failed" "$T/err" >/dev/null || fail "wrong password: $(cat "$T/err")"
set -e

push() { echo "$REG_PASS" | $DHG push "$1" "oci://$REG_HOST/c" --plain-http --username "$REG_USER" --password-stdin; }
push "$T/chart" >"$T/out1" || fail "push"
grep -x "Pushed: $REG_HOST/c/quick:0.1.0" "$T/out1" >/dev/null || fail "output: $(cat "$T/out1")"
push "$T/chart" >"$T/out2" || fail "re-push"
diff "$T/out1" "$T/out2" || fail "re-push differs"
echo "more: 1" >>"$T/chart/values.yaml"
set +e
push "$T/chart" >/dev/null 2>"$T/err"
rc=$?
set -e
[ $rc -eq 1 ] && grep "refusing to overwrite" "$T/err" >/dev/null || fail "overwrite: exit $rc: $(cat "$T/err")"
ok "dhg push: auth, idempotent re-push, no overwrite, exit codes"
