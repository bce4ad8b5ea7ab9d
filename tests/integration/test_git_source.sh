#!/usr/bin/env bash
# Git as a source: a manifests repository fetched at branch, tag and commit over smart HTTP and
# SSH, exported to a directory the engine's extractor reads; a new commit gives a new resolved
# commit. When build/dhg can generate, the exported manifests are turned into a chart and written
# back with the git writer (source -> chart -> git output).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gitserver.sh"
gitsrv_tools
gitsrv_http_start
gitsrv_ssh_start
gitsrv_repo_create manifests
printf '%s\n' "$GIT_HTTP_PASSWORD" >"$T/pw"
HAUTH=(--username "$GIT_HTTP_USER" --password-file "$T/pw" --work-dir "$T/work")
SAUTH=(--identity-file "$GIT_SSH_KEY" --known-hosts-file "$GIT_SSH_KNOWN_HOSTS" --work-dir "$T/work")
HURL=$GIT_HTTP_URL/manifests.git
SURL=$GIT_SSH_URL/manifests.git
val() { tr " " "\n" <<<"$2" | sed -n "s/^$1=//p"; }

gitsrv_manifests_clone "$T/m"
git -C "$T/m" add -A && git -C "$T/m" commit -qm "shop v1" && git -C "$T/m" push -q origin main
c1=$(git -C "$T/m" rev-parse HEAD)
git -C "$T/m" tag -a v1 -m "release 1" && git -C "$T/m" push -q origin v1

# branch over HTTP
out=$($S --url "$HURL" --branch main --path apps/shop --dest "$T/out" --extract "${HAUTH[@]}") || fail "fetch at branch"
echo "$out"
[ "$(val commit "$out")" = "$c1" ] || fail "resolved commit != $c1"
[ "$(val files "$out")" = 1 ] && [ "$(val objects "$out")" = 2 ] || fail "expected 1 file / 2 objects: $out"
diff -r -x .dhg-source "$T/m/apps/shop" "$T/out" || fail "exported files differ"
ok "branch main over http: $c1, 2 objects extracted"

# same commit again: the export is reused, nothing fetched or written
touch -d '2000-01-01' "$T/out/web.yaml"
out=$($S --url "$HURL" --branch main --path apps/shop --dest "$T/out" "${HAUTH[@]}") || fail "refetch same commit"
[ "$(val reused "$out")" = 1 ] && [ "$(val commit "$out")" = "$c1" ] && [ "$(val files "$out")" = 1 ] || fail "not reused: $out"
[ "$(stat -c %Y "$T/out/web.yaml")" = "$(date -d 2000-01-01 +%s)" ] || fail "a reused export was rewritten"
out=$($S --url "$HURL" --branch main --dest "$T/out" "${HAUTH[@]}") || fail "fetch other path"
[ "$(val reused "$out")" = 0 ] && [ -f "$T/out/apps/shop/web.yaml" ] || fail "other path must re-export: $out"
$S --url "$HURL" --branch main --path apps/shop --dest "$T/out" "${HAUTH[@]}" >/dev/null || fail "back to apps/shop"
ok "unchanged source commit: export reused"

# new commit on the branch -> new resolved commit; a removed file disappears from the export
sed -i 's/replicas: 2/replicas: 3/' "$T/m/apps/shop/web.yaml"
echo "apiVersion: v1
kind: ConfigMap
metadata: {name: extra, namespace: shop}" >"$T/m/apps/shop/extra.yaml"
git -C "$T/m" add -A && git -C "$T/m" commit -qm "shop v2" && git -C "$T/m" push -q origin main
c2=$(git -C "$T/m" rev-parse HEAD)
out=$($S --url "$HURL" --branch main --path apps/shop --dest "$T/out" --extract "${HAUTH[@]}") || fail "refetch"
[ "$(val commit "$out")" = "$c2" ] && [ "$c2" != "$c1" ] || fail "new commit not picked up: $out"
[ "$(val objects "$out")" = 3 ] || fail "expected 3 objects after the new commit: $out"
diff -r -x .dhg-source "$T/m/apps/shop" "$T/out" || fail "export after new commit differs"
ok "new source commit picked up ($c2)"

# annotated tag (peeled to its commit) over SSH, whole-tree export
out=$($S --url "$SURL" --tag v1 --dest "$T/out-tag" "${SAUTH[@]}") || fail "fetch at tag over ssh"
[ "$(val commit "$out")" = "$c1" ] || fail "tag v1 resolved to $(val commit "$out"), want $c1"
grep -q 'replicas: 2' "$T/out-tag/apps/shop/web.yaml" && [ -f "$T/out-tag/apps/other/cm.yaml" ] || fail "tag export content"
ok "annotated tag v1 over ssh -> $c1"

# commit id (older than the branch head), over HTTP
out=$($S --url "$HURL" --commit "$c1" --path apps/shop --dest "$T/out-c" "${HAUTH[@]}") || fail "fetch at commit"
[ "$(val commit "$out")" = "$c1" ] && grep -q 'replicas: 2' "$T/out-c/web.yaml" && [ ! -e "$T/out-c/extra.yaml" ] \
	|| fail "commit export wrong"
ok "commit $c1 exported"

# abbreviated commit id, resolved in a fresh clone (fetches branches and tags first)
out=$($S --url "$HURL" --commit "${c1:0:8}" --path apps/shop --dest "$T/out-s" --username "$GIT_HTTP_USER" \
	--password-file "$T/pw" --work-dir "$T/work-short") || fail "fetch at abbreviated commit"
[ "$(val commit "$out")" = "$c1" ] && grep -q 'replicas: 2' "$T/out-s/web.yaml" || fail "abbreviated commit: $out"
if $S --url "$HURL" --commit "XYZ" --dest "$T/out-s" "${HAUTH[@]}" 2>"$T/err"; then fail "bad commit id accepted"; fi
grep -q "7 to 40 lower-case hex" "$T/err" || fail "unclear invalid-commit error: $(cat "$T/err")"
ok "abbreviated commit ${c1:0:8} resolved to $c1"

# errors: missing branch, missing path, unknown commit, wrong password; the last export stays intact
for args in "--branch nope" "--branch main --path apps/none" "--commit 0123456789012345678901234567890123456789" "--commit 0123456"; do
	# shellcheck disable=SC2086
	if $S --url "$HURL" $args --dest "$T/out" "${HAUTH[@]}" 2>"$T/err"; then fail "accepted: $args"; fi
	grep -qE "not found|not a directory" "$T/err" || fail "unclear error for $args: $(cat "$T/err")"
done
printf 'bad\n' >"$T/bad"
if $S --url "$HURL" --branch main --dest "$T/out" --username "$GIT_HTTP_USER" --password-file "$T/bad" \
	--work-dir "$T/work" 2>"$T/err"; then fail "wrong password accepted"; fi
grep -q "authentication failed" "$T/err" || fail "unclear auth error"
diff -r -x .dhg-source "$T/m/apps/shop" "$T/out" || fail "failed fetches damaged the previous export"
ok "missing branch / path / commit and wrong password: clear errors, previous export intact"

# source -> chart -> git output (needs the engine's generate command)
if [ -x "$BUILD/dhg" ] && $DHG generate -f "$T/out" -o "$T/chart" --chart-name shop >"$T/gen.log" 2>&1; then
	gitsrv_repo_create deploy
	$W --url "$GIT_HTTP_URL/deploy.git" --dir "$T/chart" --name shop --version 0.1.0 \
		--source "git $HURL@$c2 apps/shop" "${HAUTH[@]}" >/dev/null || fail "writing the generated chart"
	git -C "$GITSRV_ROOT/deploy.git" log -1 --format=%B main | grep -q "Source: git .*manifests.git@$c2 apps/shop" \
		|| fail "commit body does not name the source commit"
	ok "manifests from git -> dhg generate -> chart committed to the deploy repository"
else
	echo "note: dhg generate not available in this build; source->chart->output step not run: $(tail -1 "$T/gen.log" 2>/dev/null)"
fi
