#!/usr/bin/env bash
# Every allocation failure of dhg-operator is reported and recovered from: with
# build/failalloc.so (tests/preload/failalloc.c) the Nth allocation of an operator process
# fails, for every OOM_STEP-th N of a whole run (start-up, the informers' lists and watches, a
# reconcile that generates a chart and writes it with the local writer, the status patch and
# the Event). Each run must either exit 1 at start-up with a message, or - the failure being a
# single one - end Ready with the content digest of a run without the preload, the very same
# chart on disk and exactly one version written; never a crash, never Ready with another
# chart, never stuck (a lost informer event once left the HelmChart unreconciled for good; an
# out-of-memory generation once stalled it as "deterministic"; jansson's parser, out of memory,
# once overran a buffer and could return a document with characters missing). The operator's allocations
# vary a little between runs (threads, timing), so a run that fails is reproduced with a
# nearby N: FAILALLOC_AT=N DHG_ALLOC=malloc LD_PRELOAD=build/failalloc.so build/dhg-operator ...
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/operator.sh"

PRELOAD=$BUILD/failalloc.so
[ -f "$PRELOAD" ] || fail "$PRELOAD missing (make tools)"
[ -z "${DHG_WRAP:-}" ] || skip "not under valgrind: it replaces malloc itself"
if nm -D "$BUILD/dhg-operator" 2>/dev/null | grep -q __asan_init || ldd "$BUILD/dhg-operator" | grep -qE "libasan|libtsan"; then
	skip "not with a sanitizer: it replaces malloc itself"
fi
STEP=${OOM_STEP:-450}
START=${OOM_START:-3000} # the first ~3,000 are OpenSSL's and libcurl's initialisation

op_setup
op_app shop shop nginx:1.25
MPORT=$(free_port)
PPORT=$(free_port)
HCURL=$EMU_URL/apis/dhg.deckhouse.io/v1alpha1/namespaces/shop/helmcharts
HC='{"apiVersion":"dhg.deckhouse.io/v1alpha1","kind":"HelmChart","metadata":{"name":"shop","namespace":"shop"},
"spec":{"chart":{"name":"shop","version":"0.1.0"},"source":{"cluster":{"selector":{"matchLabels":
{"app.kubernetes.io/part-of":"shop"}}}},"output":{"local":{}},"sync":{"debounce":"0s"}}}'

# await.py PID WANT_DIGEST TIMEOUT_S: waits until hc/shop is Ready=True with that contentDigest
# (any digest when empty; printed), or the process PID is gone (exit 3), or the timeout (exit 2).
cat >"$T/await.py" <<'P'
import json, os, sys, time, urllib.request
pid, want, limit = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
url = os.environ["HCURL"] + "/shop"
end = time.time() + limit
while time.time() < end:
    try:
        st = json.load(urllib.request.urlopen(url, timeout=5)).get("status") or {}
    except Exception:
        st = {}
    ready = [c for c in st.get("conditions", []) if c.get("type") == "Ready"]
    d = st.get("contentDigest", "")
    if ready and ready[0].get("status") == "True" and d and (not want or d == want):
        print(d)
        sys.exit(0)
    try:
        os.kill(pid, 0)
        with open("/proc/%d/stat" % pid) as f:
            if f.read().split(") ")[-1].startswith("Z"):
                sys.exit(3)
    except OSError:
        sys.exit(3)
    time.sleep(0.03)
print(json.dumps(st)[:600])
sys.exit(2)
P
export HCURL

# run NAME [AT]: a fresh HelmChart (no status) and output root, an operator with the preload
# (failing allocation AT when given) started in the background as OP_PID.
run() {
	emu_curl -s -X DELETE "$HCURL/shop" >/dev/null || true
	emu_curl -sf -X POST -H 'Content-Type: application/json' -d "$HC" "$HCURL" >/dev/null || fail "create hc/shop"
	rm -rf "$T/out.$1" "$T/work"
	env DHG_ALLOC=malloc LD_PRELOAD="$PRELOAD" FAILALLOC_COUNT="$T/count" ${2:+FAILALLOC_AT=$2} \
		$BUILD/dhg-operator --kubeconfig "$EMU_KUBECONFIG" --output-root "$T/out.$1" --work-dir "$T/work" \
		--metrics-bind-address "127.0.0.1:$MPORT" --health-probe-bind-address "127.0.0.1:$PPORT" \
		--default-debounce 0s >"$T/log.$1" 2>&1 &
	OP_PID=$!
}
stop() { # -> RC: the operator's exit status after SIGTERM (or its own exit)
	kill -TERM "$OP_PID" 2>/dev/null || true
	RC=0
	wait "$OP_PID" || RC=$?
}

run ref
ref=$($PY "$T/await.py" "$OP_PID" "" 30) || { cat "$T/log.ref"; fail "no Ready without a failure: $ref"; }
stop
[ "$RC" = 0 ] || fail "the run without a failure exited $RC"
total=$(cat "$T/count")
[ "$total" -gt 5000 ] || fail "only $total allocations counted (preload not active?)"
[ -f "$T/out.ref/shop/shop/Chart.yaml" ] || fail "no chart written without a failure"
[ "$(wc -l <"$T/out.ref/shop/shop.versions")" = 1 ] || fail "reference: not one version"
echo "reference: $ref, $total allocations"

n=0 nexit=0 nrecovered=0
t0=$(date +%s)
for ((k = START; k <= total; k += STEP)); do
	n=$((n + 1))
	run "$k" "$k"
	set +e
	got=$($PY "$T/await.py" "$OP_PID" "$ref" 20)
	arc=$?
	set -e
	stop
	case $arc in
	0)
		[ "$RC" = 0 ] || fail "allocation $k failed: Ready, then exit $RC on SIGTERM (crash?): $(tail -c 400 "$T/log.$k")"
		diff -r "$T/out.ref/shop" "$T/out.$k/shop" >"$T/diff" ||
			fail "allocation $k failed: Ready with digest $got but another chart on disk: $(head -c 400 "$T/diff")"
		;;
	3)
		[ "$RC" = 1 ] || fail "allocation $k failed: exit $RC (crash?): $(tail -c 600 "$T/log.$k")"
		grep -qiE "out of memory|cannot allocate|cannot initiali[sz]e" "$T/log.$k" ||
			fail "allocation $k failed: exit 1 without an out-of-memory message: $(tail -c 400 "$T/log.$k")"
		grep -q '"starting workers"' "$T/log.$k" && grep -q '"reconciled"' "$T/log.$k" &&
			fail "allocation $k failed: the operator exited after it had started reconciling: $(tail -c 400 "$T/log.$k")"
		nexit=$((nexit + 1))
		continue
		;;
	*)
		fail "allocation $k failed: not Ready with the reference digest $ref within 20 s (exit $RC on SIGTERM): status $got; log: $(grep -v '"informer started' "$T/log.$k" | tail -c 800)"
		;;
	esac
	if grep -qiE '"level":"(warn|error)"' "$T/log.$k"; then nrecovered=$((nrecovered + 1)); fi
done
[ "$nrecovered" -gt 0 ] || fail "no run logged a failure: are allocations failing at all?"
ok "$n runs over $total allocations (every ${STEP}th from $START) in $(($(date +%s) - t0)) s: $nexit exited 1 at start-up with a message, $nrecovered logged a failure and recovered (Ready, same chart), the others were unaffected"
