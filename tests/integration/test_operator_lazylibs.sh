#!/usr/bin/env bash
# libgit2 and libarchive are loaded on first use (internal/util/dl.h), not at start-up (the
# operator's idle RSS target): an idle operator, one writing only to local output, and `dhg
# generate` map neither (nor libxml2, ICU, libstdc++, mbedTLS, libssh2 that come with them);
# the first git write maps libgit2 (not libarchive), the first OCI push libarchive; `dhg push`
# loads libarchive only. Checked in /proc/PID/maps (operator) and with LD_DEBUG=files (CLI).
# A libgit2 that cannot be loaded makes git writes fail (GitFailed naming the library), nothing
# else (needs `unshare -m`: root).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/operator.sh"
. "$(dirname "$0")/gitserver.sh"
. "$(dirname "$0")/registry.sh"

command -v nginx >/dev/null && command -v fcgiwrap >/dev/null || skip "nginx/fcgiwrap missing"
command -v docker-registry >/dev/null && command -v htpasswd >/dev/null || skip "docker-registry/htpasswd missing"
[ -x "$BUILD/dhg" ] || fail "no $BUILD/dhg"
export HOME=$T/home
mkdir -p "$HOME"
LAZY='libgit2|libarchive|libxml2|libicu|libstdc\+\+|libmbed|libssh2'
# (the sanitizer runtimes link libstdc++ themselves)
if ldd "$BUILD/dhg-operator" | grep -E 'lib(a|ub|t)san' >/dev/null; then LAZY='libgit2|libarchive|libxml2|libicu|libmbed|libssh2'; fi
# secret NAME ARGS...: an Opaque Secret in namespace shop (kubectl create secret generic ARGS)
secret() { K create secret generic "$1" -n shop "${@:2}" --dry-run=client -o yaml | K apply -f - >/dev/null || fail "Secret $1"; }
maps() { awk '$6 ~ /\.so/ {n = split($6, p, "/"); print p[n]}' "/proc/$OP_PID/maps" | sort -u; }
ready() { curl -sf "http://127.0.0.1:$OP_PROBE/readyz" >/dev/null; }
# loaded CMD...: the libraries CMD loads (ld.so's LD_DEBUG=files trace; the binary runs unwrapped)
loaded() { LD_DEBUG=files LD_DEBUG_OUTPUT=$T/ld "$@" >/dev/null 2>"$T/cmd.err" || { cat "$T/cmd.err"; return 1; }
	sed -n 's/.*file=\([^ ]*\) .*/\1/p' "$T"/ld.* | sed 's|.*/||' | sort -u; rm -f "$T"/ld.*; }

# ---- CLI
shop_manifests "$T/shop.yaml"
libs=$(loaded "$BUILD/dhg" generate -f "$T/shop.yaml" -o "$T/gen" --chart-name shop --chart-version 0.1.0) || fail "dhg generate"
grep -q '^libjansson' <<<"$libs" || fail "the LD_DEBUG trace is not read: $libs"
! grep -E "$LAZY" <<<"$libs" || fail "dhg generate loads the libraries above"
registry_start --htpasswd || fail "registry did not start"
printf '%s\n' "$REG_PASS" >"$T/pw"
libs=$(loaded "$BUILD/dhg" push "$T/gen" "oci://$REG_HOST/cli" --plain-http --username "$REG_USER" \
	--password-stdin <"$T/pw") || fail "dhg push"
grep -q '^libarchive\.so' <<<"$libs" || fail "dhg push did not load libarchive: $libs"
! grep -E 'libgit2|libssh2|libmbed' <<<"$libs" || fail "dhg push loads git's libraries"
ok "dhg generate loads neither libgit2 nor libarchive; dhg push loads libarchive only"

# ---- operator: idle, then local output only
gitsrv_http_start
gitsrv_repo_create deploy
op_setup
op_app shop shop nginx:1.25
op_start op1
wait_for ready || fail "operator not ready: $(tail -n 5 "$T/op1.log")"
maps >"$T/maps-idle"
grep -q '^libjansson' "$T/maps-idle" || fail "cannot read the operator's maps: $(cat "$T/maps-idle")"
! grep -E "$LAZY" "$T/maps-idle" || fail "the idle operator maps the libraries above"
op_hc shop local shop 0s
K wait --for=condition=Ready hc/local -n shop --timeout=30s >/dev/null || fail "hc/local not Ready: $(op_status shop local .status)"
! maps | grep -E "$LAZY" || fail "a local write maps the libraries above"
ok "idle and local-only operator: none of libgit2, libarchive and their dependencies mapped ($(wc -l <"$T/maps-idle") libraries)"

# ---- first git write: libgit2 (with its dependencies), still no libarchive
secret git-http --from-literal=username="$GIT_HTTP_USER" --from-literal=password="$GIT_HTTP_PASSWORD"
op_hc shop git shop 0s "output: {git: {url: \"$GIT_HTTP_URL/deploy.git\", branch: main, path: charts/shop, secretRef: {name: git-http}}}"
K wait --for=condition=Ready hc/git -n shop --timeout=30s >/dev/null || fail "hc/git not Ready: $(op_status shop git .status)"
maps | grep '^libgit2\.so' >/dev/null || fail "libgit2 not mapped after a git write"
! maps | grep -E 'libarchive|libxml2|libicu' || fail "a git write maps libarchive's libraries"
ok "after a git write: libgit2 mapped, libarchive not"

# ---- first OCI push: libarchive
secret reg-basic --from-literal=username="$REG_USER" --from-literal=password="$REG_PASS"
op_hc shop oci shop 0s "output: {oci: {repository: \"oci://$REG_HOST/op\", insecure: true, secretRef: {name: reg-basic}}}"
K wait --for=condition=Ready hc/oci -n shop --timeout=30s >/dev/null || fail "hc/oci not Ready: $(op_status shop oci .status)"
maps | grep '^libarchive\.so' >/dev/null || fail "libarchive not mapped after an OCI push"
op_stop "$OP_PID"
ok "after an OCI push: libarchive mapped"

# ---- libgit2 that cannot be loaded (an empty file bound over it in a mount namespace of the
# operator's own): the git write fails with a clear reason on the HelmChart, the operator lives on
if ! unshare -m true 2>/dev/null; then
	echo "note: unshare -m not permitted (needs root): the load-failure case is not checked"
	exit 0
fi
lib=$(ldconfig -p | awk '$1 ~ /^libgit2\.so\./ && !p {print $NF; p = 1}')
[ -n "$lib" ] || fail "libgit2 not found through ld.so's cache"
: >"$T/empty"
printf '#!/bin/sh\nmount --bind "%s" "%s" || exit 97\nexec "$@"\n' "$T/empty" "$(readlink -f "$lib")" >"$T/nogit2"
chmod +x "$T/nogit2"
OPERATOR="unshare -m $T/nogit2 ${DHG_WRAP:-} $BUILD/dhg-operator" op_start op2
wait_for ready || fail "operator (no libgit2) not ready: $(tail -n 5 "$T/op2.log")"
op_hc shop nogit shop 0s "output: {git: {url: \"$GIT_HTTP_URL/deploy.git\", branch: main, path: charts/nogit, secretRef: {name: git-http}}}"
reason() { op_status shop nogit '.status.conditions[?(@.type=="Ready")].reason'; }
wait_for [ "$(reason)" = GitFailed ] || true
[ "$(reason)" = GitFailed ] || fail "no GitFailed: $(op_status shop nogit .status)"
msg=$(op_status shop nogit '.status.conditions[?(@.type=="Ready")].message')
grep -qE "^git output: git: cannot load ${lib##*/}: " <<<"$msg" || fail "Ready message: $msg"
kill -0 "$OP_PID" && ready || fail "the operator died: $(tail -n 5 "$T/op2.log")"
op_stop "$OP_PID"
echo "  Ready message: $msg"
ok "libgit2 cannot be loaded -> Ready=False/GitFailed naming it, the operator keeps running"
