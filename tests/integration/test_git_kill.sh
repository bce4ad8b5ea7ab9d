#!/usr/bin/env bash
# Kill test: the writer is SIGKILLed at random points during 50 writes. After every kill the
# remote is intact (git fsck clean, branch at a valid commit) and the next run completes the
# write from whatever the killed run left in the local clone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gitserver.sh"
gitsrv_tools
N=${GIT_KILL_ROUNDS:-50}
gitsrv_http_start
gitsrv_http_repo deploy
AUTH+=(--work-dir "$T/work")
mkchart() {
	rm -rf "$1"; mkdir -p "$1/templates"
	printf 'apiVersion: v2\nname: shop\nversion: 0.1.%s\n' "$2" >"$1/Chart.yaml"
	for k in $(seq 1 $(( $2 % 7 + 1 ))); do printf 'kind: ConfigMap\ndata: {v: "%s-%s"}\n' "$2" "$k" >"$1/templates/cm$k-configmap.yaml"; done
}

# How long does one write take here? Kill points are drawn from [0, that].
mkchart "$T/c" 0
$W --url "$URL" --dir "$T/c" --name shop --version 0.1.0 "${AUTH[@]}" >/dev/null 2>&1 || fail "initial write failed"
mkchart "$T/c" 100
s0=$(date +%s%N)
$W --url "$URL" --dir "$T/c" --name shop --version 0.1.100 "${AUTH[@]}" >/dev/null 2>&1 || fail "second write failed"
span=$(( ($(date +%s%N) - s0) / 1000000 ))
[ "$span" -ge 20 ] || span=20
echo "one write takes ~${span} ms; kill points drawn from 0..${span} ms"
killed=0 finished_before_kill=0 landed=0
for i in $(seq 1 "$N"); do
	mkchart "$T/c" "$i"
	$W --url "$URL" --dir "$T/c" --name shop --version "0.1.$i" "${AUTH[@]}" >/dev/null 2>&1 &
	pid=$!
	r=$((RANDOM % span)); sleep "$((r / 1000)).$(printf '%03d' $((r % 1000)))"
	if kill -KILL "$pid" 2>/dev/null; then killed=$((killed + 1)); else finished_before_kill=$((finished_before_kill + 1)); fi
	wait "$pid" 2>/dev/null || true
	gitsrv_http_idle || fail "round $i: server still busy after 10 s"
	git -C "$REPO" fsck --no-progress --no-dangling >"$T/fsck" 2>&1 || { cat "$T/fsck"; fail "round $i: remote fsck failed"; }
	if git -C "$REPO" rev-parse -q --verify refs/heads/main >/dev/null; then
		[ "$(git -C "$REPO" cat-file -t main)" = commit ] || fail "round $i: main is not a commit"
		git -C "$REPO" show main:charts/shop/Chart.yaml 2>/dev/null | grep -q "version: 0.1.$i\$" && landed=$((landed + 1))
	fi
	$W --url "$URL" --dir "$T/c" --name shop --version "0.1.$i" "${AUTH[@]}" >/dev/null 2>"$T/err" \
		|| { cat "$T/err"; fail "round $i: the run after the kill failed"; }
	rm -rf "$T/check" && mkdir "$T/check"
	git -C "$REPO" archive main charts/shop | tar -x -C "$T/check"
	diff -r "$T/c" "$T/check/charts/shop" >/dev/null || fail "round $i: remote tree differs from the chart"
done
git -C "$REPO" fsck --no-progress --strict || fail "final fsck"
commits=$(git -C "$REPO" rev-list --count main)
ok "$N rounds: $killed writers killed mid-run, $finished_before_kill finished before the kill, $landed pushes landed before the kill; remote fsck clean every round; every follow-up run completed ($commits commits on main)"
