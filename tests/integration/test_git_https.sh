#!/usr/bin/env bash
# Git writer over HTTPS with basic auth and a private CA given as ca.crt (nginx TLS, test CA
# made by openssl): trusted with the right ca.crt, refused without it or with another CA.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gitserver.sh"
gitsrv_tools
gitsrv_http_start --tls
gitsrv_http_repo deploy
URL=$GIT_HTTPS_URL/deploy.git
AUTH+=(--work-dir "$T/work")
mkdir -p "$T/c/templates" && printf 'apiVersion: v2\nname: shop\nversion: 0.1.0\n' >"$T/c/Chart.yaml"
echo 'kind: Service' >"$T/c/templates/web-service.yaml"
before=$(git -C "$REPO" rev-parse main)

if $W --url "$URL" --dir "$T/c" --name shop "${AUTH[@]}" 2>"$T/err"; then fail "untrusted certificate accepted"; fi
cat "$T/err"; grep -qi "certificate" "$T/err" || fail "no clear certificate error"
if $W --url "$URL" --dir "$T/c" --name shop "${AUTH[@]}" --ca-file "$GIT_HTTPS_OTHER_CA" 2>"$T/err"; then
	fail "certificate from another CA accepted"; fi
cat "$T/err"; grep -q "not signed by the given ca.crt" "$T/err" || fail "no clear CA mismatch error"
[ "$(git -C "$REPO" rev-parse main)" = "$before" ] || fail "remote changed after refused TLS"
ok "untrusted / wrong-CA certificate refused"

out=$($W --url "$URL" --dir "$T/c" --name shop --version 0.1.0 "${AUTH[@]}" --ca-file "$GIT_HTTPS_CA") \
	|| fail "write with ca.crt failed"
grep -q changed=1 <<<"$out" || fail "no commit over https"
git -C "$REPO" cat-file -e main:charts/shop/templates/web-service.yaml || fail "chart missing on the remote"
out=$($S --url "$URL" --branch main --path charts/shop --dest "$T/src" "${AUTH[@]}" --ca-file "$GIT_HTTPS_CA") \
	|| fail "source fetch over https failed"
diff -r -x .dhg-source "$T/c" "$T/src" || fail "source export over https differs"
ok "https with ca.crt: chart written and read back"
