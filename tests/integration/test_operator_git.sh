#!/usr/bin/env bash
# The operator writing charts to real git servers (issue 5 through the operator): emulator +
# git http-backend behind nginx (basic auth, HTTPS with a test CA) + sshd (key auth, known_hosts)
# + dhg-operator. HelmCharts with spec.output.git over HTTPS (username/password/ca.crt Secret)
# and SSH (identity/known_hosts Secret, branch created) -> Ready, status.git = the branch head,
# the tree at `path` is exactly the generated chart (its local output); drift -> exactly one new
# commit per branch touching only `path`; a wrong password -> Ready=False/GitFailed with no
# password anywhere and nothing pushed; fixing the Secret -> Ready.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/operator.sh"
. "$(dirname "$0")/gitserver.sh"

command -v nginx >/dev/null && command -v fcgiwrap >/dev/null && [ -x /usr/sbin/sshd ] || skip "nginx/fcgiwrap/sshd missing"
b64() { printf '%s' "$1" | base64 -w0; }
b64f() { base64 -w0 <"$1"; }
# wait_eq "COMMAND" WANT: re-evaluates COMMAND until it prints WANT (~20 s)
wait_eq() { for _ in $(seq 1 200); do [ "$(eval "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }
cond() { op_status shop "$1" ".status.conditions[?(@.type==\"Ready\")].$2"; }
head_of() { git -C "$GITSRV_ROOT/$1.git" rev-parse -q --verify "refs/heads/$2" 2>/dev/null || true; }

gitsrv_http_start --tls
gitsrv_ssh_start
gitsrv_repo_create deploy-https
gitsrv_repo_create deploy-ssh
gitsrv_repo_create deploy-http
op_setup
op_app shop shop nginx:1.25

hc() { # NAME URL BRANCH PATH SECRET
	cat <<Y
---
apiVersion: dhg.deckhouse.io/v1alpha1
kind: HelmChart
metadata: {name: $1, namespace: shop}
spec:
  chart: {name: shop, version: 0.1.0, description: "shop via $1"}
  source: {cluster: {selector: {matchLabels: {app.kubernetes.io/part-of: shop}}}}
  output:
    local: {}
    git:
      url: $2
      branch: $3
      path: $4
      secretRef: {name: $5}
      author: {name: Chart Bot, email: chart-bot@example.invalid}
  sync: {debounce: 0s}
Y
}
{
	cat <<Y
apiVersion: v1
kind: Secret
metadata: {name: git-https, namespace: shop}
type: Opaque
data: {username: $(b64 "$GIT_HTTP_USER"), password: $(b64 "$GIT_HTTP_PASSWORD"), ca.crt: $(b64f "$GIT_HTTPS_CA")}
---
apiVersion: v1
kind: Secret
metadata: {name: git-ssh, namespace: shop}
type: Opaque
data: {identity: $(b64f "$GIT_SSH_KEY"), known_hosts: $(b64f "$GIT_SSH_KNOWN_HOSTS")}
---
apiVersion: v1
kind: Secret
metadata: {name: git-wrong, namespace: shop}
type: Opaque
data: {username: $(b64 "$GIT_HTTP_USER"), password: $(b64 "wrong-$GIT_HTTP_PASSWORD-x")}
Y
	hc https "$GIT_HTTPS_URL/deploy-https.git" main charts/shop git-https
	hc ssh "$GIT_SSH_URL/deploy-ssh.git" release deploy/shop git-ssh
	hc http "$GIT_HTTP_URL/deploy-http.git" main charts/shop git-wrong
} >"$T/hc.yaml"
h0=$(head_of deploy-http main)
K apply -f "$T/hc.yaml" >/dev/null || fail "apply Secrets + HelmCharts"
op_start op1
for n in https ssh; do
	K wait --for=condition=Ready "hc/$n" -n shop --timeout=30s >/dev/null \
		|| { tail -n 20 "$T/op1.log"; fail "hc/$n not Ready: $(op_status shop $n .status)"; }
done

# status.git is the branch head; the tree at path is the generated chart; message and author
check_write() { # HC REPO BRANCH PATH VERSION
	local n=$1 repo=$2 br=$3 p=$4 v=$5 c
	c=$(head_of "$repo" "$br")
	[ -n "$c" ] && [ "$(op_status shop "$n" .status.git.commit)" = "$c" ] || fail "$n: status.git.commit '$(op_status shop "$n" .status.git.commit)' != $br head '$c'"
	[ "$(op_status shop "$n" .status.git.branch)" = "$br" ] && [ "$(op_status shop "$n" .status.git.path)" = "$p" ] \
		|| fail "$n: status.git = $(op_status shop "$n" .status.git)"
	rm -rf "$T/clone-$n"
	git clone -q -b "$br" "$GITSRV_ROOT/$repo.git" "$T/clone-$n" || fail "$n: plain git clone"
	diff -r "$T/clone-$n/$p" "$OUT/shop/$n" >"$T/diff" || { cat "$T/diff"; fail "$n: $p in git != the generated chart"; }
	[ "$(git -C "$T/clone-$n" log -1 --format=%s)" = "Update chart shop to $v" ] || fail "$n: subject '$(git -C "$T/clone-$n" log -1 --format=%s)'"
	git -C "$T/clone-$n" log -1 --format=%b | grep -q 'selector app.kubernetes.io/part-of=shop' || fail "$n: body: $(git -C "$T/clone-$n" log -1 --format=%b)"
	[ "$(git -C "$T/clone-$n" log -1 --format='%an <%ae>')" = "Chart Bot <chart-bot@example.invalid>" ] || fail "$n: author"
	git -C "$T/clone-$n" cat-file -e HEAD:README.md || fail "$n: README.md of the base branch lost"
	grep -qE "^version: \"?$v\"?\$" "$T/clone-$n/$p/Chart.yaml" || fail "$n: Chart.yaml version"
}
check_write https deploy-https main charts/shop 0.1.0
c=$(head_of deploy-https main)
grep -qE "^shop 0.1.0 written to .* and git ${c:0:7}$" <<<"$(cond https message)" || fail "Ready message: $(cond https message)"
check_write ssh deploy-ssh release deploy/shop 0.1.0
[ "$(git -C "$GITSRV_ROOT/deploy-ssh.git" rev-list --count release)" = 2 ] || fail "ssh: release branch is not main + 1 commit"
[ "$(git -C "$GITSRV_ROOT/deploy-ssh.git" rev-parse main)" = "$(git -C "$GITSRV_ROOT/deploy-ssh.git" rev-parse release~1)" ] || fail "ssh: release not created from main"
ok "https (basic auth + ca.crt) and ssh (identity + known_hosts, new branch) -> Ready, the chart at path"

# wrong password: GitFailed, no password anywhere, nothing pushed
wait_eq 'cond http reason' GitFailed || fail "hc/http: no GitFailed: $(op_status shop http .status)"
[ "$(cond http status)" = False ] || fail "hc/http Ready is not False"
msg=$(cond http message)
echo "  GitFailed message: $msg"
grep -qiE 'auth|401|credential' <<<"$msg" || fail "message does not say it is an authentication failure: $msg"
for f in "$T/op1.log" <(K get hc -A -o json) <(K get events -n shop -o json); do
	grep -qF "$GIT_HTTP_PASSWORD" "$f" && fail "a git password leaked into $f"
done
[ "$(head_of deploy-http main)" = "$h0" ] || fail "something was pushed with a wrong password"
ok "wrong password -> Ready=False/GitFailed, no secret leaked, nothing pushed"

# drift -> exactly one new commit on each branch, touching only path
c_https=$(head_of deploy-https main) c_ssh=$(head_of deploy-ssh release)
K set image deployment/shop-web -n shop web=nginx:1.26 >/dev/null || fail "set image"
for n in https ssh; do
	wait_eq "op_status shop $n .status.chartVersion" 0.1.1 || { tail -n 20 "$T/op1.log"; fail "$n: no 0.1.1 after the drift"; }
done
sleep 1.5 # anything extra would show up now
for x in "https deploy-https main charts/shop $c_https" "ssh deploy-ssh release deploy/shop $c_ssh"; do
	read -r n repo br p c0 <<<"$x"
	g="$GITSRV_ROOT/$repo.git"
	[ "$(git -C "$g" rev-list --count "$c0..$br")" = 1 ] || fail "$n: $(git -C "$g" rev-list --count "$c0..$br") commits after the drift, want 1"
	[ -z "$(git -C "$g" diff --name-only "$c0" "$br" | grep -v "^$p/")" ] || fail "$n: the drift commit touches files outside $p"
	git -C "$g" show "$br:$p/values.yaml" | grep -q '1.26' || fail "$n: new image not in values.yaml"
	check_write "$n" "$repo" "$br" "$p" 0.1.1
done
ok "drift -> exactly one new commit per branch (only under path), tree == chart"

# a no-op reconcile request makes no commit
K annotate hc https -n shop --overwrite dhg.deckhouse.io/reconcile-requested-at=r1 >/dev/null
wait_eq 'op_status shop https .status.lastHandledReconcileAt' r1 || fail "reconcile request not handled"
[ "$(head_of deploy-https main)" = "$(op_status shop https .status.git.commit)" ] \
	&& [ "$(git -C "$GITSRV_ROOT/deploy-https.git" rev-list --count "$c_https..main")" = 1 ] || fail "a no-op reconcile committed"
# the Ready message keeps naming the branch head after a no-op reconcile (it used to become
# "up to date (no change)": the line-100 check flaked when a redundant reconcile came first)
c=$(head_of deploy-https main)
grep -qE "^shop 0.1.1 written to .* and git ${c:0:7}$" <<<"$(cond https message)" || fail "Ready message after a no-op: $(cond https message)"
ok "no-op reconcile -> no commit"

# fixing the Secret -> Ready (the failed key is retried with backoff, and the Secret is read each time)
K patch secret git-wrong -n shop --type=merge -p "{\"data\":{\"password\":\"$(b64 "$GIT_HTTP_PASSWORD")\"}}" >/dev/null || fail "patch secret"
K annotate hc http -n shop --overwrite dhg.deckhouse.io/reconcile-requested-at=fixed >/dev/null
wait_eq 'cond http reason' Succeeded || fail "hc/http not Ready after fixing the password: $(op_status shop http .status)"
check_write http deploy-http main charts/shop "$(op_status shop http .status.chartVersion)"
ok "password fixed -> Ready, written"

rc=0
op_stop "$OP_PID" || rc=$?
[ $rc = 0 ] || { grep -A12 -E 'Sanitizer|runtime error' "$T/op1.log" | head -n 40; fail "operator exit status $rc on SIGTERM"; }
ok "SIGTERM -> exit 0"
