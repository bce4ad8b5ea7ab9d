#!/usr/bin/env bash
# Operator with a git source and a git output (smart HTTP behind nginx with basic auth, creds from
# a Secret in the HelmChart's namespace): Ready with status.git filled; a push to the source repo
# + a signed webhook (GitHub X-Hub-Signature-256) -> a new chart version committed; a bad
# signature -> 401.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/operator.sh"
command -v nginx >/dev/null && command -v fcgiwrap >/dev/null || skip "nginx/fcgiwrap not installed"
. "$(dirname "$0")/gitserver.sh"
op_setup
gitsrv_http_start
gitsrv_repo_create manifests
gitsrv_repo_create deploy
W=$T/work-src
git clone -q "$GIT_HTTP_AUTH_URL/manifests.git" "$W"
mkdir -p "$W/apps/shop"
cat >"$W/apps/shop/app.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.25"}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80}]
Y
git -C "$W" add -A && git -C "$W" commit -q -m app && git -C "$W" push -q origin main
b64() { printf %s "$1" | base64 -w0; }
printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: git-creds, namespace: shop}\ndata: {username: %s, password: %s}\n' \
	"$(b64 "$GIT_HTTP_USER")" "$(b64 "$GIT_HTTP_PASSWORD")" | K apply -f - >/dev/null || fail "secret"
cat <<Y | K apply -f - >/dev/null || fail "hc"
apiVersion: dhg.deckhouse.io/v1alpha1
kind: HelmChart
metadata: {name: shop, namespace: shop}
spec:
  chart: {name: shop, version: 0.1.0}
  source: {git: {url: "$GIT_HTTP_URL/manifests.git", ref: {branch: main}, path: apps/shop, secretRef: {name: git-creds}}}
  output: {git: {url: "$GIT_HTTP_URL/deploy.git", branch: main, path: charts/shop, secretRef: {name: git-creds}}}
Y
printf 'hook-secret\n' >"$T/hook"
op_start op --webhook-secret-file "$T/hook"
K wait --for=condition=Ready hc/shop -n shop --timeout=60s >/dev/null || { tail -5 "$T/op.log"; fail "not Ready: $(op_status shop shop .status.conditions)"; }
c1=$(op_status shop shop .status.git.commit)
[ ${#c1} = 40 ] || fail "status.git.commit: '$c1'"
[ "$(op_status shop shop .status.git.path)" = charts/shop ] || fail "status.git.path"
op_status shop shop '.status.conditions[?(@.type=="Ready")].message' | grep -q "written to git ${c1:0:7}" || fail "Ready message"
op_status shop shop '.status.conditions[?(@.type=="Ready")].message' | grep -q "$GIT_HTTP_PASSWORD" && fail "password in status"
grep -q "$GIT_HTTP_PASSWORD" "$T/op.log" && fail "password in the log"
git clone -q "$GIT_HTTP_AUTH_URL/deploy.git" "$T/deploy"
grep -qE "^version: \"?0\.1\.0" "$T/deploy/charts/shop/Chart.yaml" || fail "chart not in the deploy repo: $(git -C "$T/deploy" log --oneline --all | head -3; find "$T/deploy" -maxdepth 3 -not -path "*/.git*"; head -3 "$T/deploy/charts/shop/Chart.yaml")"
ok "git source -> git output, commit ${c1:0:7}"

# push a change, then the webhook
sed -i 's/nginx:1.25/nginx:1.27/' "$W/apps/shop/app.yaml"
git -C "$W" commit -q -am bump && git -C "$W" push -q origin main
body="{\"ref\":\"refs/heads/main\",\"repository\":{\"clone_url\":\"$GIT_HTTP_URL/manifests.git\"}}"
sig=$(printf %s "$body" | openssl dgst -sha256 -hmac hook-secret -r | awk '{print $1}')
code=$(curl -s -o "$T/hook.out" -w '%{http_code}' -H "X-Hub-Signature-256: sha256=deadbeef$sig" -d "$body" "http://127.0.0.1:$OP_METRICS/hooks/reconcile")
[ "$code" = 401 ] || fail "bad signature gave $code"
code=$(curl -s -o "$T/hook.out" -w '%{http_code}' -H "X-Hub-Signature-256: sha256=$sig" -d "$body" "http://127.0.0.1:$OP_METRICS/hooks/reconcile")
[ "$code" = 202 ] || fail "webhook gave $code"
grep -q '"matched":1' "$T/hook.out" || fail "webhook matched: $(cat "$T/hook.out")"
op_wait_status shop shop .status.chartVersion 0.1.1 || fail "no new version after the webhook: $(op_status shop shop .status.conditions)"
c2=$(op_status shop shop .status.git.commit)
[ "$c2" != "$c1" ] || fail "no new commit"
git -C "$T/deploy" pull -q
grep -qE "^version: \"?0\.1\.1" "$T/deploy/charts/shop/Chart.yaml" || fail "0.1.1 not committed"
grep -rq '1.27' "$T/deploy/charts/shop/values.yaml" || fail "new image not in the committed chart"
ok "webhook -> 0.1.1 committed (${c2:0:7})"
op_stop "$OP_PID"
