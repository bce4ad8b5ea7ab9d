#!/usr/bin/env bash
# Registry 5xx mid-upload (a fault-injecting proxy in front of docker-registry): requests are
# retried and the push completes; a manifest PUT that keeps failing leaves no tag (no dangling
# tag), and the next push completes it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry.sh"

command -v docker-registry >/dev/null || skip "docker-registry not installed"
[ -x "$HELM4" ] || skip "helm 4 missing (make deps)"
export HOME=$T/home HELM_CACHE_HOME=$T/helm/cache HELM_CONFIG_HOME=$T/helm/config HELM_DATA_HOME=$T/helm/data
export HELM_REGISTRY_CONFIG=$T/helm/registry.json DHG_OCI_BACKOFF_MS=20
mkdir -p "$HOME"

registry_start --htpasswd
registry_chart "$T/chart" flaky 0.3.0

tag_status() { # REPO TAG -> HTTP status of the tag on the registry itself (not through the proxy)
	curl -s -o /dev/null -w '%{http_code}' -u "$REG_USER:$REG_PASS" \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG_HOST/v2/$1/manifests/$2"
}

# 1. transient failures everywhere: first tag HEAD, first upload POST, first two blob PUTs, first
#    manifest PUT → every request retried, push succeeds.
fault_proxy_start "$REG_HOST" "HEAD:/manifests/:1" "POST:/blobs/uploads/:1" "PUT:/blobs/uploads/:2" "PUT:/manifests/:1"
echo "$REG_PASS" | $DHG push "$T/chart" "oci://$PROXY_HOST/charts" --plain-http --username "$REG_USER" \
	--password-stdin >"$T/out1" 2>"$T/err1" || fail "push through faults: $(cat "$T/err1")"
cat "$T/err1"
grep -qx "Pushed: $PROXY_HOST/charts/flaky:0.3.0" "$T/out1" || fail "output"
[ "$(grep -c injected "$PROXY_LOG")" -eq 5 ] || fail "expected 5 injected failures: $(cat "$PROXY_LOG")"
[ "$(grep -c 'retrying request' "$T/err1")" -eq 5 ] || fail "expected 5 retries logged"
[ "$(tag_status charts/flaky 0.3.0)" = 200 ] || fail "tag missing after a successful push"
rm -rf "$T/pull" && mkdir -p "$T/pull"
echo "$REG_PASS" | $HELM4 registry login "$REG_HOST" --plain-http --username "$REG_USER" --password-stdin >/dev/null 2>&1 ||
	fail "helm login"
$HELM4 pull "oci://$REG_HOST/charts/flaky" --version 0.3.0 --plain-http -d "$T/pull" >/dev/null 2>&1 || fail "helm pull"
tar -tzf "$T/pull/flaky-0.3.0.tgz" | grep -x flaky/templates/configmap.yaml >/dev/null || fail "pulled chart content"
ok "5xx on HEAD/POST/PUT blob/PUT manifest retried; push complete; helm pulls it"

# 2. the manifest PUT fails every time: the push fails, blobs are there, the tag is not.
sed -i 's/^version: .*/version: 0.4.0/' "$T/chart/Chart.yaml"
fault_proxy_start "$REG_HOST" "PUT:/manifests/:1000"
set +e
echo "$REG_PASS" | $DHG push "$T/chart" "oci://$PROXY_HOST/charts" --plain-http --username "$REG_USER" \
	--password-stdin >"$T/out2" 2>"$T/err2"
rc=$?
set -e
cat "$T/err2"
[ $rc -eq 1 ] || fail "push with a failing manifest PUT: exit $rc"
grep -q "PUT /v2/charts/flaky/manifests/0.4.0: HTTP 500" "$T/err2" || fail "message does not name the request"
grep -q "after 5 attempts" "$T/err2" || fail "message does not say it retried"
[ "$(grep -c 'PUT /v2/charts/flaky/manifests/0.4.0 500 injected' "$PROXY_LOG")" -eq 5 ] || fail "not 5 attempts"
[ "$(tag_status charts/flaky 0.4.0)" = 404 ] || fail "a tag exists after the failed push"
ok "persistent 5xx on the manifest: clear failure, no tag"

# 3. blob uploads keep failing: the push fails before any manifest PUT.
sed -i 's/^version: .*/version: 0.5.0/' "$T/chart/Chart.yaml"
echo "# changed" >>"$T/chart/values.yaml"
fault_proxy_start "$REG_HOST" "PUT:/blobs/uploads/:1000"
set +e
echo "$REG_PASS" | $DHG push "$T/chart" "oci://$PROXY_HOST/charts" --plain-http --username "$REG_USER" \
	--password-stdin >/dev/null 2>"$T/err3"
rc=$?
set -e
[ $rc -eq 1 ] || fail "push with failing blob uploads: exit $rc"
grep -q "PUT /v2/charts/flaky/manifests" "$PROXY_LOG" && fail "manifest PUT attempted before blobs were confirmed"
[ "$(tag_status charts/flaky 0.5.0)" = 404 ] || fail "tag exists without its blobs"
ok "persistent 5xx on blob uploads: no manifest PUT, no tag"

# 4. healthy again: both versions complete (blobs already uploaded are skipped)
echo "$REG_PASS" | $DHG push "$T/chart" "oci://$REG_HOST/charts" --plain-http --username "$REG_USER" \
	--password-stdin --debug >"$T/out4" 2>"$T/err4" || fail "push after recovery: $(cat "$T/err4")"
[ "$(tag_status charts/flaky 0.5.0)" = 200 ] || fail "0.5.0 missing after recovery"
sed -i 's/^version: .*/version: 0.4.0/' "$T/chart/Chart.yaml"
sed -i '$d' "$T/chart/values.yaml"
echo "$REG_PASS" | $DHG push "$T/chart" "oci://$REG_HOST/charts" --plain-http --username "$REG_USER" \
	--password-stdin --debug >"$T/out5" 2>"$T/err5" || fail "push 0.4.0 after recovery: $(cat "$T/err5")"
grep -q "blob already present" "$T/err5" || fail "uploaded blobs were not skipped on retry"
grep -q "POST /v2/charts/flaky/blobs/uploads/" "$T/err5" && fail "0.4.0 re-uploaded blobs the registry had"
[ "$(tag_status charts/flaky 0.4.0)" = 200 ] || fail "0.4.0 missing after recovery"
ok "next run completes; existing blobs skipped"

# 5. a registry that refuses the monolithic PUT (405): the blob goes up in chunks (POST, PATCH, PUT)
sed -i 's/^version: .*/version: 0.6.0/' "$T/chart/Chart.yaml"
fault_proxy_start "$REG_HOST" "PUT:/blobs/uploads/:1:405"
echo "$REG_PASS" | $DHG push "$T/chart" "oci://$PROXY_HOST/charts" --plain-http --username "$REG_USER" \
	--password-stdin >"$T/out6" 2>"$T/err6" || fail "push with monolithic refused: $(cat "$T/err6")"
cat "$PROXY_LOG"
grep -q "PUT /v2/charts/flaky/blobs/uploads/.* 405 injected" "$PROXY_LOG" || fail "405 not injected"
grep -q "PATCH /v2/charts/flaky/blobs/uploads/.* 202" "$PROXY_LOG" || fail "no chunked fallback"
grep -q "DELETE /v2/charts/flaky/blobs/uploads/.* 204" "$PROXY_LOG" || fail "abandoned upload session not cancelled"
[ "$(tag_status charts/flaky 0.6.0)" = 200 ] || fail "0.6.0 missing"
rm -rf "$T/pull" && mkdir -p "$T/pull"
$HELM4 pull "oci://$REG_HOST/charts/flaky" --version 0.6.0 --plain-http -d "$T/pull" >/dev/null 2>&1 || fail "helm pull 0.6.0"
ok "monolithic upload refused: chunked fallback, abandoned session cancelled"

# 6. 429 Too Many Requests with Retry-After: 1 → the retry waits at least that long
sed -i 's/^version: .*/version: 0.7.0/' "$T/chart/Chart.yaml"
fault_proxy_start "$REG_HOST" "HEAD:/manifests/:1:429"
t0=$(date +%s%N)
echo "$REG_PASS" | $DHG push "$T/chart" "oci://$PROXY_HOST/charts" --plain-http --username "$REG_USER" \
	--password-stdin >/dev/null 2>"$T/err7" || fail "push after 429: $(cat "$T/err7")"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
grep -q "HEAD /v2/charts/flaky/manifests/0.7.0 429 injected" "$PROXY_LOG" || fail "429 not injected"
[ "$ms" -ge 1000 ] || fail "Retry-After not honoured (${ms} ms)"
ok "429 with Retry-After honoured (${ms} ms)"
ok "all"
