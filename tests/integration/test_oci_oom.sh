#!/usr/bin/env bash
# Every allocation failure of `dhg push` (chart packaging, manifest, HTTP to a loopback
# docker-registry) is reported or harmless: with build/failalloc.so (tests/preload/failalloc.c)
# the Nth allocation fails, for every OOM_STEP-th N of a whole push. Each run exits 1 with a
# message, or 0 with the normal output ("Pushed: ..."); never a crash, and the message blames
# the memory, not the chart (it once said "invalid YAML at line 1" or "not valid UTF-8").
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry.sh"

PRELOAD=$BUILD/failalloc.so
[ -f "$PRELOAD" ] || fail "$PRELOAD missing (make tools)"
[ -z "${DHG_WRAP:-}" ] || skip "not under valgrind: it replaces malloc itself"
if nm -D "$BUILD/dhg" 2>/dev/null | grep -q __asan_init; then skip "not with AddressSanitizer: it replaces malloc itself"; fi
command -v docker-registry >/dev/null || skip "docker-registry not installed"
STEP=${OOM_STEP:-23}
export HOME=$T/home
unset DOCKER_CONFIG HELM_REGISTRY_CONFIG
mkdir -p "$HOME"
registry_start --htpasswd
registry_chart "$T/chart" quick 0.1.0

push() { # ENV...
	echo "$REG_PASS" | env "$@" DHG_ALLOC=malloc LD_PRELOAD="$PRELOAD" $DHG push "$T/chart" "oci://$REG_HOST/c" \
		--plain-http --username "$REG_USER" --password-stdin
}
push FAILALLOC_COUNT="$T/count" >"$T/ref" 2>"$T/err" || fail "push without a failure: $(cat "$T/err")"
grep -q "^Pushed: " "$T/ref" || fail "push: $(cat "$T/ref")"
total=$(cat "$T/count")
[ "$total" -gt 1000 ] || fail "only $total allocations counted (preload not active?)"
n=0 nfail=0
for ((k = 1; k <= total; k += STEP)); do
	set +e
	push FAILALLOC_AT=$k >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	n=$((n + 1))
	case $rc in
	0) cmp -s "$T/out" "$T/ref" || fail "allocation $k failed, exit 0 but: $(cat "$T/out")" ;;
	1)
		nfail=$((nfail + 1))
		[ -s "$T/err" ] || fail "allocation $k failed: exit 1 without a message"
		! grep -qE "invalid YAML|not valid UTF-8|invalid digest|invalid or non-UTF-8" "$T/err" ||
			fail "allocation $k failed: the chart is blamed: $(cat "$T/err")"
		;;
	*) fail "allocation $k failed: exit $rc (crash?): $(tail -c 300 "$T/err")" ;;
	esac
done
ok "dhg push: $n runs over $total allocations (every ${STEP}th), $nfail failed with a message, the others pushed"
# the chart in the registry is still the one pushed first: a re-push is a no-op with the same digest
push >"$T/again" 2>"$T/err" || fail "re-push after the failures: $(cat "$T/err")"
cmp -s "$T/again" "$T/ref" || fail "re-push: $(cat "$T/again")"
ok "re-push after the failures: same digest"
