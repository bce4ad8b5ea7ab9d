#!/usr/bin/env bash
# Git as a source through the operator (issue 5): manifests in a test repository on the smart-HTTP
# git server (basic auth Secret) -> chart generated (local output + git output to a second
# repository, whose commit body names the source URL and commit); a new commit in the source ->
# a new chart version on the resync interval (spec.sync.interval: 2s); with a long interval, a
# signed webhook (GitHub X-Hub-Signature-256) on POST /hooks/reconcile -> a new version at once;
# bad / missing signatures -> 401 and nothing happens; a push for another repository matches 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/operator.sh"
. "$(dirname "$0")/gitserver.sh"

command -v nginx >/dev/null && command -v fcgiwrap >/dev/null || skip "nginx/fcgiwrap missing"
b64() { printf '%s' "$1" | base64 -w0; }
# wait_eq "COMMAND" WANT [TRIES]: re-evaluates COMMAND until it prints WANT (TRIES x 0.1 s)
wait_eq() { for _ in $(seq 1 "${3:-200}"); do [ "$(eval "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }
cond() { op_status shop src ".status.conditions[?(@.type==\"Ready\")].$1"; }
now() { date +%s.%N; }
since() { $PY -c "import sys; print(round($(now)-$1, 2))"; }

gitsrv_http_start
gitsrv_repo_create manifests
gitsrv_repo_create deploy
SRC_URL=$GIT_HTTP_URL/manifests.git
gitsrv_manifests_clone "$T/m"
src_commit() { # MESSAGE : commit + push the work tree, print the commit
	git -C "$T/m" add -A && git -C "$T/m" commit -qm "$1" && git -C "$T/m" push -q origin main && git -C "$T/m" rev-parse HEAD
}
c1=$(src_commit "shop v1")

op_setup
printf '%s\n' "hook-secret-$RANDOM$RANDOM" >"$T/hook.secret"
HOOK_SECRET=$(head -n 1 "$T/hook.secret")
cat >"$T/hc.yaml" <<Y
apiVersion: v1
kind: Secret
metadata: {name: git-creds, namespace: shop}
type: Opaque
data: {username: $(b64 "$GIT_HTTP_USER"), password: $(b64 "$GIT_HTTP_PASSWORD")}
---
apiVersion: dhg.deckhouse.io/v1alpha1
kind: HelmChart
metadata: {name: src, namespace: shop}
spec:
  chart: {name: shop, version: 0.1.0}
  source:
    git: {url: $SRC_URL, ref: {branch: main}, path: apps/shop, secretRef: {name: git-creds}}
  output:
    local: {}
    git: {url: $GIT_HTTP_URL/deploy.git, branch: main, path: charts/shop, secretRef: {name: git-creds}}
  sync: {debounce: 0s, interval: 2s}
Y
K apply -f "$T/hc.yaml" >/dev/null || fail "apply Secret + HelmChart"
op_start op1 --webhook-secret-file "$T/hook.secret"
K wait --for=condition=Ready hc/src -n shop --timeout=30s >/dev/null \
	|| { tail -n 20 "$T/op1.log"; fail "hc/src not Ready: $(op_status shop src .status)"; }
[ "$(op_status shop src .status.chartVersion)" = 0.1.0 ] || fail "chartVersion $(op_status shop src .status.chartVersion)"
[ "$(op_status shop src .status.resourceCount)" = 2 ] || fail "resourceCount $(op_status shop src .status.resourceCount) (apps/other must not be read)"
"$HELM3" template shop "$OUT/shop/src" >"$T/r1.yaml" || fail "helm template of the generated chart"
grep -q 'replicas: 2' "$T/r1.yaml" && grep -q 'kind: Service' "$T/r1.yaml" && ! grep -q 'name: other' "$T/r1.yaml" \
	|| fail "generated chart does not render the source manifests: $(cat "$T/r1.yaml")"
# where the source commit is reported: the git output's commit body (the CRD status has no field for it)
body() { git -C "$GITSRV_ROOT/deploy.git" log -1 --format=%b main; }
body | grep -qF "$SRC_URL@${c1:0:12} path apps/shop" || fail "commit body does not name the source commit ${c1:0:12}: $(body)"
body | grep -qF "$GIT_HTTP_PASSWORD" && fail "password in the commit body"
ok "source $SRC_URL@${c1:0:7} apps/shop -> chart 0.1.0 (local + git; the commit body names the source commit)"

# a new source commit -> 0.1.1 on the resync interval (2 s)
sed -i 's/replicas: 2/replicas: 3/' "$T/m/apps/shop/web.yaml"
c2=$(src_commit "shop v2")
t0=$(now)
wait_eq 'op_status shop src .status.chartVersion' 0.1.1 60 || { tail -n 10 "$T/op1.log"; fail "no 0.1.1 within 6 s of a source commit (interval 2s)"; }
lat=$(since "$t0")
"$HELM3" template shop "$OUT/shop/src" | grep -q 'replicas: 3' || fail "0.1.1 does not hold replicas 3"
body | grep -qF "$SRC_URL@${c2:0:12}" || fail "commit body does not name ${c2:0:12}: $(body)"
ok "new source commit ${c2:0:7} -> 0.1.1 after ${lat}s (interval 2s)"

# resyncs without a source change make nothing new
sleep 4.5
[ "$(op_status shop src .status.chartVersion)" = 0.1.1 ] || fail "a resync without a source change made $(op_status shop src .status.chartVersion)"
[ "$(git -C "$GITSRV_ROOT/deploy.git" rev-list --count main)" = 3 ] || fail "deploy.git: $(git -C "$GITSRV_ROOT/deploy.git" rev-list --count main) commits, want 3"
ok "resyncs without a source change: no new version, no commit"

# webhook: with a 10 m interval, a signed push event reconciles at once
K patch hc src -n shop --type=merge -p '{"spec":{"sync":{"interval":"10m"}}}' >/dev/null || fail "patch interval"
wait_eq 'op_status shop src .status.observedGeneration' 2 || fail "interval change not observed"
sleep 0.5
HOOK=http://127.0.0.1:$OP_METRICS/hooks/reconcile
hook() { # BODY [curl args] -> prints the HTTP status, body in $T/hook.out
	local b=$1
	shift
	curl -sS -o "$T/hook.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$@" --data-binary "$b" "$HOOK"
}
sig() { printf '%s' "$1" | openssl dgst -sha256 -hmac "$HOOK_SECRET" | sed 's/^.*= //'; }
payload=$(printf '{"ref":"refs/heads/main","after":"x","repository":{"full_name":"t/manifests","clone_url":"%s"}}' "$SRC_URL")
other=$(printf '{"ref":"refs/heads/main","repository":{"clone_url":"%s/unrelated.git"}}' "$GIT_HTTP_URL")
sed -i 's/replicas: 3/replicas: 4/' "$T/m/apps/shop/web.yaml"
c3=$(src_commit "shop v3")
[ "$(hook "$payload")" = 401 ] || fail "unsigned webhook not refused: $(cat "$T/hook.out")"
[ "$(hook "$payload" -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: sha256=$(sig "x$payload")")" = 401 ] \
	|| fail "badly signed webhook not refused"
[ "$(hook "$other" -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: sha256=$(sig "$other")")" = 202 ] \
	&& grep -q '"matched": *0' "$T/hook.out" || fail "push for another repository: $(cat "$T/hook.out")"
sleep 1.5
[ "$(op_status shop src .status.chartVersion)" = 0.1.1 ] || fail "an unsigned/foreign webhook (or the 10m interval) triggered a reconcile"
ok "webhook: unsigned and badly signed -> 401, another repository -> matched 0, nothing reconciled"
t0=$(now)
[ "$(hook "$payload" -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: sha256=$(sig "$payload")")" = 202 ] \
	&& grep -q '"matched": *1' "$T/hook.out" || fail "signed webhook: $(cat "$T/hook.out")"
wait_eq 'op_status shop src .status.chartVersion' 0.1.2 50 || { tail -n 10 "$T/op1.log"; fail "no 0.1.2 within 5 s of a signed webhook"; }
lat=$(since "$t0")
"$HELM3" template shop "$OUT/shop/src" | grep -q 'replicas: 4' || fail "0.1.2 does not hold replicas 4"
body | grep -qF "$SRC_URL@${c3:0:12}" || fail "commit body does not name ${c3:0:12}"
grep -q '"webhook: reconcile requested"' "$T/op1.log" || fail "no webhook log line"
ok "signed webhook -> 0.1.2 from ${c3:0:7} in ${lat}s (interval 10m)"

# a source that cannot be read: SourceFailed, the last chart stays
K patch hc src -n shop --type=merge -p '{"spec":{"source":{"git":{"path":"apps/nope"}}}}' >/dev/null || fail "patch path"
wait_eq 'cond reason' SourceFailed || fail "missing source path: $(op_status shop src .status)"
echo "  SourceFailed message: $(cond message)"
cond message | grep -q 'apps/nope' || fail "SourceFailed message does not name the path"
[ "$(op_status shop src .status.chartVersion)" = 0.1.2 ] && [ -f "$OUT/shop/src/Chart.yaml" ] || fail "the last chart was lost"
ok "missing source path -> SourceFailed naming it; the last chart stays"

rc=0
op_stop "$OP_PID" || rc=$?
[ $rc = 0 ] || { grep -A12 -E 'Sanitizer|runtime error' "$T/op1.log" | head -n 40; fail "operator exit status $rc on SIGTERM"; }
ok "SIGTERM -> exit 0"
