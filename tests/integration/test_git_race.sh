#!/usr/bin/env bash
# Concurrent writers: someone pushes between our fetch and our push -> we retry on top, both
# commits survive. Then several writers (separate clones, and a shared clone) push at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gitserver.sh"
gitsrv_tools
gitsrv_http_start
gitsrv_http_repo deploy
mkchart() {
	rm -rf "$1"; mkdir -p "$1/templates"
	printf 'apiVersion: v2\nname: %s\nversion: %s\n' "$2" "$3" >"$1/Chart.yaml"
	printf 'kind: ConfigMap # %s\n' "$3" >"$1/templates/cm-configmap.yaml"
}

git clone -q "$GIT_HTTP_AUTH_URL/deploy.git" "$T/other"
cat >"$T/intruder.sh" <<EOS
set -e
cd "$T/other"
git pull -q --ff-only origin main
echo "unrelated \$RANDOM" >>intruder.txt
git add intruder.txt
git commit -qm "unrelated commit by someone else"
git push -q origin main
git rev-parse HEAD >"$T/intruder.head"
EOS

mkchart "$T/c1" shop 0.1.0
out=$(GITOUT_TEST_BEFORE_PUSH="bash $T/intruder.sh" $W --url "$URL" --dir "$T/c1" --name shop --version 0.1.0 \
	"${AUTH[@]}" --work-dir "$T/work") || fail "write with a racing push failed"
echo "$out"
grep -q 'attempts=2' <<<"$out" || fail "expected a retried push (attempts=2): $out"
ours=$(sed -n 's/^commit=\([0-9a-f]*\).*/\1/p' <<<"$out")
[ "$(git -C "$REPO" rev-parse main)" = "$ours" ] || fail "branch head is not our commit"
git -C "$REPO" merge-base --is-ancestor "$(cat "$T/intruder.head")" main || fail "intruder's commit lost"
[ "$(git -C "$REPO" rev-parse main^)" = "$(cat "$T/intruder.head")" ] || fail "ours is not on top of theirs"
git -C "$REPO" cat-file -e main:intruder.txt && git -C "$REPO" cat-file -e main:charts/shop/Chart.yaml \
	|| fail "both changes must be in the tree"
ok "racing push: retried on top, both commits on the branch"

# Racing on every attempt: bounded, clear conflict error, nothing of ours half-written.
before=$(git -C "$REPO" rev-parse main)
mkchart "$T/c2" shop 0.2.0
# A server-side pre-receive hook that declines our push: not retried as a conflict, clear error.
cat >"$REPO/hooks/pre-receive" <<'EOS'
#!/bin/sh
while read old new ref; do
	if git cat-file -e "$new:charts/shop/Chart.yaml" 2>/dev/null && git show "$new:charts/shop/Chart.yaml" | grep -q 0.2.0; then
		echo "simulated contention" >&2; exit 1
	fi
done
EOS
chmod +x "$REPO/hooks/pre-receive"
if $W --url "$URL" --dir "$T/c2" --name shop --version 0.2.0 "${AUTH[@]}" --work-dir "$T/work" 2>"$T/err"; then
	fail "push rejected by the server reported success"; fi
cat "$T/err"
grep -q "push" "$T/err" || fail "no clear push error"
[ "$(git -C "$REPO" rev-parse main)" = "$before" ] || fail "branch moved although the push was rejected"
rm -f "$REPO/hooks/pre-receive"
ok "server-side rejection: clear error, branch untouched"

# Parallel writers: 4 charts from 4 clones + 2 processes sharing one clone (flock), 3 versions each.
pids=()
for n in a b c d; do
	( for v in 1 2 3; do mkchart "$T/p-$n-$v" "chart-$n" "0.0.$v"
	  $W --url "$URL" --dir "$T/p-$n-$v" --name "chart-$n" --version "0.0.$v" "${AUTH[@]}" \
		--work-dir "$T/work-$n" >/dev/null || exit 1; done ) 2>"$T/par-$n.err" &
	pids+=($!)
done
for n in e f; do
	( for v in 1 2 3; do mkchart "$T/p-$n-$v" "chart-$n" "0.0.$v"
	  $W --url "$URL" --dir "$T/p-$n-$v" --name "chart-$n" --version "0.0.$v" "${AUTH[@]}" \
		--work-dir "$T/work-shared" >/dev/null || exit 1; done ) 2>"$T/par-$n.err" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || { cat "$T"/par-*.err | grep -v '"level":"info"' | tail -20; fail "a parallel writer failed"; }; done
for n in a b c d e f; do
	git -C "$REPO" show "main:charts/chart-$n/Chart.yaml" | grep -q "version: 0.0.3" || fail "chart-$n final version missing"
	[ "$(git -C "$REPO" log --format=%s main -- "charts/chart-$n" | wc -l)" = 3 ] || fail "chart-$n should have 3 commits"
done
git -C "$REPO" merge-base --is-ancestor "$(cat "$T/intruder.head")" main || fail "earlier commit lost"
git -C "$REPO" fsck --no-progress --no-dangling || fail "remote fsck"
retries=$(cat "$T"/par-*.err | grep -c 'push rejected' || true)
ok "6 parallel writers x 3 versions: all 18 commits kept, linear history ($retries retried pushes)"

# Threads in one process: 6 threads, two repositories, one shared work dir (per-clone lock).
gitsrv_repo_create second
TH_BIN=$BUILD/gitout_threads
[ -x "$TH_BIN" ] || fail "missing $TH_BIN"
out=$(${DHG_WRAP:-} "$TH_BIN" --url-a "$URL" --url-b "$GIT_HTTP_URL/second.git" --work-dir "$T/work-threads" \
	--threads 6 --writes 3 --username "$GIT_HTTP_USER" --password-file "$T/pw" 2>"$T/threads.err") \
	|| { grep -v '"level":"info"' "$T/threads.err" | tail; fail "threaded writers failed"; }
echo "$out"
grep -q 'commits=18' <<<"$out" || fail "expected 18 commits from the threads: $out"
for i in 0 2 4; do git -C "$REPO" show "main:charts/t$i/templates/cm-configmap.yaml" | grep -q "thread $i write 3" || fail "t$i (repo a)"; done
for i in 1 3 5; do git -C "$GITSRV_ROOT/second.git" show "main:charts/t$i/templates/cm-configmap.yaml" | grep -q "thread $i write 3" || fail "t$i (repo b)"; done
[ "$(ls "$T/work-threads" | grep -c '\.git$')" = 2 ] || fail "expected one clone per repository"
ok "6 threads on 2 repositories sharing a work dir: 18 commits, all kept"
