#!/usr/bin/env bash
# Git writer against a real smart-HTTP server (nginx + fcgiwrap + git http-backend, basic auth).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gitserver.sh"
gitsrv_tools
gitsrv_http_start
gitsrv_http_repo deploy
AUTH+=(--work-dir "$T/work")

mkchart() { # dir version [extra-template]
	rm -rf "$1"; mkdir -p "$1/templates"
	printf 'apiVersion: v2\nname: shop\nversion: %s\n' "$2" >"$1/Chart.yaml"
	printf 'replicas: 1\n' >"$1/values.yaml"
	printf 'kind: Deployment\n' >"$1/templates/web-deployment.yaml"
	[ -z "${3:-}" ] || printf 'kind: Service\n' >"$1/templates/$3"
}
head_of() { git -C "$REPO" rev-parse --verify -q "refs/heads/$1"; }

# Someone else's file outside our path.
git clone -q "$GIT_HTTP_AUTH_URL/deploy.git" "$T/other"
mkdir -p "$T/other/charts" && echo keep >"$T/other/charts/other.txt" && echo app >"$T/other/app.txt"
git -C "$T/other" add -A && git -C "$T/other" commit -qm "other files" && git -C "$T/other" push -q origin main

# 1. first write: creates the path on main
mkchart "$T/c1" 0.1.0 web-service.yaml
out=$($W --url "$URL" --dir "$T/c1" --name shop --version 0.1.0 --source "namespaces shop" "${AUTH[@]}") \
	|| fail "first write failed"
echo "$out"
grep -q 'changed=1' <<<"$out" || fail "first write made no commit"
h1=$(head_of main)
[ "$h1" = "$(sed -n 's/^commit=\([0-9a-f]*\).*/\1/p' <<<"$out")" ] || fail "reported commit != remote head"
git -C "$REPO" log -1 --format=%B main | grep -q '^Update chart shop to 0.1.0$' || fail "commit subject"
git -C "$REPO" log -1 --format=%B main | grep -q '^Source: namespaces shop$' || fail "commit body source"
git -C "$REPO" log -1 --format=%B main | grep -q '^Content digest: sha256:' || fail "commit body digest"
[ "$(git -C "$REPO" log -1 --format='%an <%ae>' main)" = "dhg test <dhg-test@example.invalid>" ] || fail "author"
ok "first write created charts/shop ($h1)"

# 2. identical write: no commit, no push (no receive-pack request)
rp_before=$(grep -c 'git-receive-pack' "$GIT_HTTP_ACCESS_LOG" || true)
out=$($W --url "$URL" --dir "$T/c1" --name shop --version 0.1.0 "${AUTH[@]}") || fail "second write failed"
grep -q 'changed=0' <<<"$out" || fail "identical write made a commit: $out"
[ "$(head_of main)" = "$h1" ] || fail "branch moved on an identical write"
rp_after=$(grep -c 'git-receive-pack' "$GIT_HTTP_ACCESS_LOG" || true)
[ "$rp_before" = "$rp_after" ] || fail "identical write talked to receive-pack"
ok "identical write: no commit, no push"

# 3. changed chart (template removed, version bumped): exactly one commit, tree == chart
mkchart "$T/c2" 0.1.1
out=$($W --url "$URL" --dir "$T/c2" --name shop --version 0.1.1 "${AUTH[@]}") || fail "third write failed"
grep -q 'changed=1' <<<"$out" || fail "changed chart made no commit"
[ "$(git -C "$REPO" rev-list --count "$h1..main")" = 1 ] || fail "expected exactly one new commit"
[ "$(git -C "$REPO" rev-parse main^)" = "$h1" ] || fail "new commit's parent is not the old head"
rm -rf "$T/check" && git clone -q "$GIT_HTTP_AUTH_URL/deploy.git" "$T/check"
diff -r "$T/c2" "$T/check/charts/shop" || fail "tree at charts/shop differs from the chart"
[ "$(cat "$T/check/charts/other.txt")" = keep ] && [ "$(cat "$T/check/app.txt")" = app ] \
	|| fail "files outside the path were touched"
[ ! -e "$T/check/charts/shop/templates/web-service.yaml" ] || fail "removed template still present"
ok "changed chart: one commit, tree equals chart, outside files kept"

# 4. new branch is created from the default branch; custom path
out=$($W --url "$URL" --dir "$T/c2" --name shop --version 0.1.1 --branch release --path deploy/shop "${AUTH[@]}") \
	|| fail "write to new branch failed"
[ "$(git -C "$REPO" rev-parse release^)" = "$(head_of main)" ] || fail "release not created from main"
git -C "$REPO" cat-file -e release:deploy/shop/Chart.yaml || fail "release has no chart"
ok "missing branch created from the default branch"

# 5. empty repository: orphan commit on the new branch
gitsrv_repo_create empty --empty
out=$($W --url "$GIT_HTTP_URL/empty.git" --dir "$T/c1" --name shop --version 0.1.0 --branch main "${AUTH[@]}") \
	|| fail "write to empty repo failed"
[ "$(git -C "$GITSRV_ROOT/empty.git" rev-list --count main)" = 1 ] || fail "orphan commit missing"
ok "empty repository: orphan commit"

# 6. wrong password: clear error, no secret in it, remote unchanged
printf 'wrong-password\n' >"$T/badpw"
before=$(head_of main)
mkchart "$T/c3" 0.1.2 extra.yaml
if $W --url "$URL" --dir "$T/c3" --name shop --version 0.1.2 --username "$GIT_HTTP_USER" \
	--password-file "$T/badpw" --work-dir "$T/work" 2>"$T/err"; then fail "wrong password accepted"; fi
cat "$T/err"
grep -q "authentication failed for http://127.0.0.1:.*/deploy.git" "$T/err" || fail "no clear auth error"
! grep -q "wrong-password" "$T/err" || fail "password leaked into the error"
[ "$(head_of main)" = "$before" ] || fail "remote changed after a failed auth"
git -C "$REPO" fsck --no-progress --no-dangling || fail "remote fsck after failed auth"
ok "wrong password refused clearly, nothing written"

# 7. no credentials at all
if $W --url "$URL" --dir "$T/c3" --work-dir "$T/work" 2>"$T/err"; then fail "anonymous accepted"; fi
grep -q "authentication failed" "$T/err" || fail "no clear error without credentials: $(cat "$T/err")"
ok "anonymous refused clearly"

# 8. a clone locked by another writer: wait, then a clear timeout
lockf=$T/work/$(printf %s "$URL" | sha256sum | cut -c1-16).lock   # <work>/<sha256(url)[:16]>.lock
[ -f "$lockf" ] || fail "lock file $lockf missing"
flock -x "$lockf" -c 'sleep 3' &
holder=$!; PIDS+=($holder)
sleep 0.3
if $W --url "$URL" --dir "$T/c3" "${AUTH[@]}" --lock-timeout-ms 400 2>"$T/err"; then fail "locked clone written"; fi
grep -q "locked by another writer" "$T/err" || fail "no clear lock timeout: $(cat "$T/err")"
kill "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true
ok "clone locked by another writer: clear timeout"

# 9. server down: a transient 'Unavailable' error
dead=$(free_port)
if $W --url "http://127.0.0.1:$dead/deploy.git" --dir "$T/c3" "${AUTH[@]}" 2>"$T/err"; then fail "dead server written"; fi
grep -q "(Unavailable)" "$T/err" || fail "unreachable server not reported as Unavailable: $(cat "$T/err")"
ok "unreachable server: Unavailable"

# 10. corrupted local clone is detected and re-made
for d in "$T"/work/*.git; do rm -rf "$d/objects" "$d/HEAD"; done
out=$($W --url "$URL" --dir "$T/c3" --name shop --version 0.1.2 "${AUTH[@]}") || fail "write after corruption failed"
grep -q 'changed=1' <<<"$out" || fail "write after corruption made no commit"
git -C "$REPO" cat-file -e main:charts/shop/templates/extra.yaml || fail "chart not written after corruption"
ok "corrupted local clone re-created"

# 11. lost objects in an otherwise valid clone: the write fails locally, is retried on a fresh clone
mkchart "$T/c4" 0.1.3 again.yaml
d=${lockf%.lock}.git
rm -f "$d"/objects/pack/* && find "$d/objects" -type f -delete
out=$($W --url "$URL" --dir "$T/c4" --name shop --version 0.1.3 "${AUTH[@]}" 2>"$T/err") || { cat "$T/err"; fail "write after object loss failed"; }
git -C "$REPO" cat-file -e main:charts/shop/templates/again.yaml || fail "chart not written after object loss"
git -C "$REPO" fsck --no-progress --no-dangling || fail "remote fsck after object loss"
ok "clone with lost objects: recovered ($(grep -c 'fresh clone' "$T/err" || true) fresh-clone retry)"

# 12. a clone grown too much (libgit2 has no gc) is re-made: 51 packs in it
for k in $(seq 1 51); do : >"$d/objects/pack/pack-fake$k.pack"; done
mkchart "$T/c4" 0.1.3 again2.yaml
$W --url "$URL" --dir "$T/c4" --name shop --version 0.1.3 "${AUTH[@]}" >/dev/null 2>"$T/err" || { cat "$T/err"; fail "write with overgrown clone"; }
grep -q "local clone has grown" "$T/err" || fail "overgrown clone not re-made"
[ "$(ls "$d"/objects/pack/*.pack | wc -l)" -lt 5 ] || fail "fake packs still there"
git -C "$REPO" cat-file -e main:charts/shop/templates/again2.yaml || fail "chart not written after re-clone"
ok "overgrown clone re-made"

# secrets never reach logs, errors or the clone's config (a changing write, a failing one)
mkchart "$T/c5" 0.1.4
$W --url "$URL" --dir "$T/c5" --name shop --version 0.1.4 "${AUTH[@]}" >"$T/ok.out" 2>"$T/ok.err" || fail "write c5"
grep -q '"msg":"git: chart written"' "$T/ok.err" || fail "expected a log line from the write"
$W --url "http://$GIT_HTTP_USER:$GIT_HTTP_PASSWORD@127.0.0.1:$dead/x.git" --dir "$T/c5" --work-dir "$T/work" 2>"$T/bad.err" && fail "dead url"
grep -q "Unavailable" "$T/bad.err" || fail "unexpected error: $(cat "$T/bad.err")"
# credentials inside the URL work too, and are redacted everywhere
mkchart "$T/c6" 0.1.5
$W --url "$GIT_HTTP_AUTH_URL/deploy.git" --dir "$T/c6" --name shop --version 0.1.5 --work-dir "$T/work" \
	>"$T/url.out" 2>"$T/url.err" || { cat "$T/url.err"; fail "write with credentials in the URL"; }
grep -q '"url":"http://127.0.0.1:[0-9]*/deploy.git"' "$T/url.err" || fail "URL not redacted in the log"
git -C "$REPO" show main:charts/shop/Chart.yaml | grep -q "0.1.5" || fail "URL-credential write missing"
if grep -q -- "$GIT_HTTP_PASSWORD" "$T/ok.out" "$T/ok.err" "$T/bad.err" "$T/url.out" "$T/url.err" "$T"/work/*.git/config; then
	fail "password found in output, logs or clone config"; fi
ok "no secret in logs, errors or local config"
