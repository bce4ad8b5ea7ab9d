# The kube client's test tool (tests/tools/kube_tool.c) for integration tests. Source it after
# lib.sh:
#   . "$(dirname "$0")/kubetool.sh"  -> TOOL: the command running it (under $DHG_WRAP); fails when
#                                       it is not built
#   kubetool_informer_start NAME KUBECONFIG RESOURCE NAMESPACE [ARGS...]
#       runs `informer RESOURCE NAMESPACE` in the background with --events $T/NAME.events,
#       --cache $T/NAME.cache, --stop-file $T/NAME.stop (removed first), --synced-file
#       $T/NAME.synced and ARGS; stdout to $T/NAME.stats, stderr to $T/NAME.err. INF is its PID
#       (also in PIDS, stopped by lib.sh's cleanup). Fails unless it syncs within ~20 s.
#       Stop it with: touch "$T/NAME.stop"; wait "$INF"
TOOL=$BUILD/kube_tool
[ -x "$TOOL" ] || fail "$TOOL not built (make tools)"
TOOL="${DHG_WRAP:-} $TOOL"

kubetool_informer_start() {
	local name=$1 kc=$2 res=$3 ns=$4
	shift 4
	rm -f "$T/$name.stop"
	$TOOL --kubeconfig "$kc" informer "$res" "$ns" --events "$T/$name.events" --cache "$T/$name.cache" \
		--stop-file "$T/$name.stop" --synced-file "$T/$name.synced" "$@" >"$T/$name.stats" 2>"$T/$name.err" &
	INF=$!
	PIDS+=("$INF")
	wait_for test -s "$T/$name.synced" || fail "informer $name did not sync: $(cat "$T/$name.err")"
}
