#!/usr/bin/env bash
# dhg-operator flags: --help documents every flag; bad flags and bad DHG_<FLAG> environment values
# exit 2 naming the flag/variable; a missing kubeconfig is a clear error.
. "$(dirname "$0")/lib.sh"
[ -x "$BUILD/dhg-operator" ] || skip "dhg-operator not built"
$OPERATOR --help >"$T/help" || fail "--help"
for f in kubeconfig metrics-bind-address health-probe-bind-address leader-elect leader-election-namespace \
	leader-election-id watch-namespace allow-cross-namespace concurrency work-dir output-root \
	default-debounce log-level log-format webhook-secret-file; do
	grep -q -- "--$f" "$T/help" || fail "--help lacks --$f"
done
grep -q 'DHG_<FLAG>' "$T/help" || fail "--help does not mention the environment"
set +e
$OPERATOR --no-such-flag >"$T/o" 2>&1; rc=$?
[ $rc = 2 ] && grep -q 'unknown flag --no-such-flag' "$T/o" || fail "unknown flag: rc=$rc $(cat "$T/o")"
$OPERATOR --concurrency zero >"$T/o" 2>&1; rc=$?
[ $rc = 2 ] && grep -q -- '--concurrency' "$T/o" || fail "bad --concurrency: rc=$rc $(cat "$T/o")"
DHG_CONCURRENCY=zero $OPERATOR >"$T/o" 2>&1; rc=$?
[ $rc = 2 ] && grep -q 'DHG_CONCURRENCY' "$T/o" || fail "bad DHG_CONCURRENCY: rc=$rc $(cat "$T/o")"
DHG_DEFAULT_DEBOUNCE=soon $OPERATOR >"$T/o" 2>&1; rc=$?
[ $rc = 2 ] && grep -q 'default-debounce' "$T/o" || fail "bad DHG_DEFAULT_DEBOUNCE: rc=$rc $(cat "$T/o")"
DHG_WATCH_NAMESPACE=Bad_NS $OPERATOR >"$T/o" 2>&1; rc=$?
[ $rc = 2 ] && grep -q 'DHG_WATCH_NAMESPACE' "$T/o" || fail "bad DHG_WATCH_NAMESPACE: rc=$rc $(cat "$T/o")"
# a missing kubeconfig names the file
DHG_METRICS_BIND_ADDRESS=127.0.0.1:1 KUBECONFIG=/nonexistent $OPERATOR --kubeconfig "$T/missing" \
	--metrics-bind-address 0 >"$T/o" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "$T/missing" "$T/o" || fail "missing kubeconfig: rc=$rc $(cat "$T/o")"
$OPERATOR --metrics-bind-address localhost --kubeconfig "$T/missing" >"$T/o" 2>&1; rc=$?
[ $rc != 0 ] || fail "bad bind address accepted"
set -e
ok "flags and environment"
