#!/usr/bin/env bash
# Git writer over SSH against a real sshd (key auth from memory, known_hosts checked).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gitserver.sh"
gitsrv_tools
gitsrv_ssh_start
gitsrv_repo_create deploy
REPO=$GITSRV_ROOT/deploy.git
URL=$GIT_SSH_URL/deploy.git
AUTH=(--identity-file "$GIT_SSH_KEY" --known-hosts-file "$GIT_SSH_KNOWN_HOSTS" --work-dir "$T/work")
mkchart() {
	rm -rf "$1"; mkdir -p "$1/templates"
	printf 'apiVersion: v2\nname: shop\nversion: %s\n' "$2" >"$1/Chart.yaml"
	printf 'kind: Deployment\n' >"$1/templates/web-deployment.yaml"
	[ -z "${3:-}" ] || printf 'kind: Service\n' >"$1/templates/$3"
}
head_of() { git -C "$REPO" rev-parse --verify -q "refs/heads/$1"; }

# Someone else's file outside our path (pushed over ssh by plain git).
git clone -q "$URL" "$T/other"
echo app >"$T/other/app.txt" && git -C "$T/other" add -A && git -C "$T/other" commit -qm other && git -C "$T/other" push -q origin main

mkchart "$T/c1" 0.1.0 web-service.yaml
out=$($W --url "$URL" --dir "$T/c1" --name shop --version 0.1.0 "${AUTH[@]}") || fail "first write failed"
grep -q 'changed=1' <<<"$out" || fail "first write made no commit"
h1=$(head_of main)
ok "first write over ssh ($h1)"

out=$($W --url "$URL" --dir "$T/c1" --name shop --version 0.1.0 "${AUTH[@]}") || fail "second write failed"
grep -q 'changed=0' <<<"$out" && [ "$(head_of main)" = "$h1" ] || fail "identical write changed the branch"
ok "identical write: no commit"

mkchart "$T/c2" 0.1.1
$W --url "$URL" --dir "$T/c2" --name shop --version 0.1.1 "${AUTH[@]}" >/dev/null || fail "third write failed"
[ "$(git -C "$REPO" rev-list --count "$h1..main")" = 1 ] || fail "expected one new commit"
rm -rf "$T/check" && git clone -q "$URL" "$T/check"
diff -r "$T/c2" "$T/check/charts/shop" || fail "tree differs from chart"
[ "$(cat "$T/check/app.txt")" = app ] || fail "file outside the path touched"
ok "changed chart: one commit, tree equals chart"

# new branch over ssh
$W --url "$URL" --dir "$T/c2" --name shop --version 0.1.1 --branch env/prod "${AUTH[@]}" >/dev/null || fail "branch write"
[ "$(git -C "$REPO" rev-parse env/prod)" = "$(head_of main)" ] || fail "env/prod should equal main (same tree, no commit)"
ok "new branch created without an empty commit"

# URL without a user: the Secret's username is used for ssh
nouser_url=${URL/\/\/$(id -un)@/\/\/}
[ "$nouser_url" != "$URL" ] || fail "could not strip the user from $URL"
$W --url "$nouser_url" --dir "$T/c2" --name shop --version 0.1.1 --username "$(id -un)" "${AUTH[@]}" >/dev/null \
	|| fail "ssh with the username from the Secret failed"
ok "ssh user from the Secret when the URL has none"

# unknown host key: a known_hosts for another key
ssh-keygen -q -t ed25519 -N '' -f "$T/otherhost"
port=$(sed 's/^\[127.0.0.1\]:\([0-9]*\) .*/\1/' "$GIT_SSH_KNOWN_HOSTS")
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$T/otherhost.pub")" >"$T/kh_wrong"
echo "[127.0.0.2]:$port $(cut -d' ' -f1,2 "$T/otherhost.pub")" >"$T/kh_unknown"
mkchart "$T/c3" 0.1.2 extra.yaml
before=$(head_of main)
if $W --url "$URL" --dir "$T/c3" --identity-file "$GIT_SSH_KEY" --known-hosts-file "$T/kh_wrong" \
	--work-dir "$T/work" 2>"$T/err"; then fail "mismatching host key accepted"; fi
cat "$T/err"; grep -q "host key does not match known_hosts" "$T/err" || fail "no clear mismatch error"
if $W --url "$URL" --dir "$T/c3" --identity-file "$GIT_SSH_KEY" --known-hosts-file "$T/kh_unknown" \
	--work-dir "$T/work" 2>"$T/err"; then fail "unknown host accepted"; fi
cat "$T/err"; grep -q "unknown host" "$T/err" || fail "no clear unknown-host error"
if $W --url "$URL" --dir "$T/c3" --identity-file "$GIT_SSH_KEY" --work-dir "$T/work" 2>"$T/err"; then
	fail "no known_hosts accepted"; fi
grep -q "no known_hosts given" "$T/err" || fail "no clear error without known_hosts"
[ "$(head_of main)" = "$before" ] || fail "remote changed after refused host key"
ok "unknown / mismatching host key refused"

# hashed known_hosts entry (ssh-keygen -H) is accepted
cp "$GIT_SSH_KNOWN_HOSTS" "$T/kh_hashed" && ssh-keygen -q -H -f "$T/kh_hashed" 2>/dev/null
grep -q '^|1|' "$T/kh_hashed" || fail "ssh-keygen -H did not hash"
$W --url "$URL" --dir "$T/c3" --name shop --version 0.1.2 --identity-file "$GIT_SSH_KEY" \
	--known-hosts-file "$T/kh_hashed" --work-dir "$T/work" >/dev/null || fail "hashed known_hosts refused"
git -C "$REPO" cat-file -e main:charts/shop/templates/extra.yaml || fail "write with hashed known_hosts missing"
ok "hashed known_hosts accepted"

# wrong key: authentication failure, no loop
ssh-keygen -q -t ed25519 -N '' -f "$T/badkey"
before=$(head_of main)
if timeout 30 $W --url "$URL" --dir "$T/c1" --identity-file "$T/badkey" --known-hosts-file "$GIT_SSH_KNOWN_HOSTS" \
	--work-dir "$T/work" 2>"$T/err"; then fail "wrong key accepted"; fi
cat "$T/err"; grep -q "authentication failed for ssh://.*deploy.git" "$T/err" || fail "no clear auth error"
! grep -q "PRIVATE KEY" "$T/err" || fail "key material in error"
[ "$(head_of main)" = "$before" ] || fail "remote changed after failed auth"
ok "wrong key refused clearly"
