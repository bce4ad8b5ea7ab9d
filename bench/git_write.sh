#!/usr/bin/env bash
# Git writer benchmark against the loopback smart-HTTP server (nginx + fcgiwrap + git http-backend,
# basic auth): a 100-template chart; times of a no-change write and of a one-file-change write
# (wall and CPU time of one gitout_write process each, median and p90 over N runs), and proof that a
# no-change write makes no push (nginx access log: no git-receive-pack request; ref unchanged).
#   DHG_BUILD=build bash bench/git_write.sh [N]     (machine load matters: note `uptime` with the figures)
. "$(dirname "$0")/../tests/integration/lib.sh"
. "$(dirname "$0")/../tests/integration/gitserver.sh"
N=${1:-20}
W=$BUILD/gitout_write
[ -x "$W" ] || fail "missing $W (make tools)"
gitsrv_http_start
gitsrv_repo_create deploy
REPO=$GITSRV_ROOT/deploy.git
printf '%s\n' "$GIT_HTTP_PASSWORD" >"$T/pw"
ARGS=(--url "$GIT_HTTP_URL/deploy.git" --dir "$T/chart" --name shop --version 0.1.0
	--username "$GIT_HTTP_USER" --password-file "$T/pw" --work-dir "$T/work")
mkdir -p "$T/chart/templates"
printf 'apiVersion: v2\nname: shop\nversion: 0.1.0\n' >"$T/chart/Chart.yaml"
for i in $(seq 1 100); do
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%s\ndata:\n  k: "%s"\n' "$i" "$i" >"$T/chart/templates/cm-$i-configmap.yaml"
done
# ms CMD...: prints "<wall ms> <cpu ms (user+sys of the process)>"
ms() {
	$PY - "$@" <<'PYEOF' || fail "write failed"
import os, subprocess, sys, time
t = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, ru = os.wait4(p.pid, 0)
wall = (time.monotonic() - t) * 1000
if status != 0:
    sys.exit(1)
print("%d %.1f" % (wall, (ru.ru_utime + ru.ru_stime) * 1000))
PYEOF
}
stats() { # wall ms in column 1, cpu ms in column 2
	awk '{print $1}' "$1" | sort -n | awk '{a[NR]=$1} END {printf "wall median %d ms, p90 %d ms, min %d, max %d (n=%d)", a[int((NR+1)/2)], a[int(NR*0.9+0.5)], a[1], a[NR], NR}'
	awk '{print $2}' "$1" | sort -n | awk '{a[NR]=$1} END {printf "; CPU median %.1f ms", a[int((NR+1)/2)]}'
}

first=$(ms "$W" "${ARGS[@]}")
echo "first write (clone of an empty-ish repo + commit + push): wall/CPU ms: $first"

head0=$(git -C "$REPO" rev-parse main)
reqs0=$(wc -l <"$GIT_HTTP_ACCESS_LOG"); rp0=$(grep -c receive-pack "$GIT_HTTP_ACCESS_LOG" || true)
for _ in $(seq 1 "$N"); do ms "$W" "${ARGS[@]}"; done >"$T/nochange"
reqs1=$(wc -l <"$GIT_HTTP_ACCESS_LOG"); rp1=$(grep -c receive-pack "$GIT_HTTP_ACCESS_LOG" || true)
[ "$(git -C "$REPO" rev-parse main)" = "$head0" ] || fail "no-change writes moved the branch"
[ "$rp0" = "$rp1" ] || fail "no-change writes talked to receive-pack"
echo "no-change write: $(stats "$T/nochange"); HTTP requests per write: $(( (reqs1 - reqs0) / N )) ($(tail -n +$((reqs0 + 1)) "$GIT_HTTP_ACCESS_LOG" | awk '{print $6, $7}' | sort | uniq -c | awk '{printf "%s×%s %s; ", $1, $2, $3}')) receive-pack requests: 0; branch unchanged"

read -r rw rc < <(ms "$W" "${ARGS[@]}" --repeat "$N")
echo "no-change write, $N in one process (libgit2 initialised once, as in the operator): wall $((rw / N)) ms, CPU $(awk -v c="$rc" -v n="$N" 'BEGIN {printf "%.1f", c / n}') ms per write (whole process: $rc ms CPU)"
[ "$(git -C "$REPO" rev-parse main)" = "$head0" ] || fail "no-change writes moved the branch"

for i in $(seq 1 "$N"); do
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-7\ndata:\n  k: "run-%s"\n' "$i" >"$T/chart/templates/cm-7-configmap.yaml"
	ms "$W" "${ARGS[@]}"
done >"$T/change"
commits=$(git -C "$REPO" rev-list --count "$head0..main")
[ "$commits" = "$N" ] || fail "expected $N commits, got $commits"
echo "one-file-change write (fetch + commit + push): $(stats "$T/change"); $commits commits"
echo "load: $(uptime | sed 's/.*load average/load average/')"
