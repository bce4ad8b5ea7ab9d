# shellcheck shell=bash
# Helpers to run the Kubernetes API emulator in integration tests.
# Source after lib.sh:  . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/emulator.sh"
#
# emu_start [extra emulator args...]
#     Starts tests/kube-emulator/emulator.py on a free 127.0.0.1 port and waits until it is ready.
#     Sets EMU_PORT, EMU_URL (http:// or https:// when --tls-cert is passed), EMU_KUBECONFIG
#     (a kubeconfig file for the server, with the token / CA when given), EMU_PID, EMU_DIR,
#     and adds the PID to PIDS (stopped by lib.sh's cleanup). Can be called several times;
#     each call starts a new emulator and overwrites the variables.
# emu_stop
#     Stops the last emulator started (by PID).
# emu_ctl <path> [json]
#     POSTs json (default {}) to $EMU_URL/emulator/v1/<path>; prints the JSON answer.
#     emu_ctl stats does a GET. Examples:
#       emu_ctl fail '{"count":3,"code":429,"retryAfter":1,"pathPrefix":"/api/v1/namespaces/default/configmaps"}'
#       emu_ctl drop-watches; emu_ctl compact; emu_ctl latency '{"ms":200}'; emu_ctl reset
# emu_curl <curl args...>
#     curl against the emulator with the right TLS/token options, e.g. emu_curl "$EMU_URL/api/v1/namespaces"

EMU_PY=${PY:-/usr/bin/python3}
EMU_SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../kube-emulator" && pwd)/emulator.py"
EMU_SEQ=0

emu_start() {
	EMU_SEQ=$((EMU_SEQ + 1))
	EMU_DIR="$T/emulator.$EMU_SEQ"
	mkdir -p "$EMU_DIR"
	EMU_KUBECONFIG="$EMU_DIR/kubeconfig"
	EMU_TOKEN_FILE=""
	EMU_TLS=0
	local a prev=""
	for a in "$@"; do
		[ "$prev" = "--token-file" ] && EMU_TOKEN_FILE=$a
		[ "$a" = "--tls-cert" ] && EMU_TLS=1
		prev=$a
	done
	"$EMU_PY" "$EMU_SCRIPT" --port-file "$EMU_DIR/port" --kubeconfig-out "$EMU_KUBECONFIG" "$@" \
		>"$EMU_DIR/log" 2>&1 &
	EMU_PID=$!
	PIDS+=("$EMU_PID")
	for _ in $(seq 1 200); do
		[ -s "$EMU_DIR/port" ] && break
		if ! kill -0 "$EMU_PID" 2>/dev/null; then
			echo "emulator failed to start:" >&2; cat "$EMU_DIR/log" >&2; return 1
		fi
		sleep 0.05
	done
	[ -s "$EMU_DIR/port" ] || { echo "emulator did not write its port" >&2; cat "$EMU_DIR/log" >&2; return 1; }
	EMU_PORT=$(cat "$EMU_DIR/port")
	if [ "$EMU_TLS" = 1 ]; then EMU_URL="https://127.0.0.1:$EMU_PORT"; else EMU_URL="http://127.0.0.1:$EMU_PORT"; fi
	export EMU_PORT EMU_URL EMU_KUBECONFIG EMU_PID EMU_DIR
}

emu_stop() {
	[ -n "${EMU_PID:-}" ] || return 0
	kill "$EMU_PID" 2>/dev/null || true
	wait "$EMU_PID" 2>/dev/null || true
	EMU_PID=""
}

emu_curl() {
	local opts=(-sS)
	[ "$EMU_TLS" = 1 ] && opts+=(-k)
	if [ -n "${EMU_TOKEN_FILE:-}" ] && [ -s "$EMU_TOKEN_FILE" ]; then
		opts+=(-H "Authorization: Bearer $(head -n 1 "$EMU_TOKEN_FILE")")
	fi
	curl "${opts[@]}" "$@"
}

emu_ctl() {
	local path=$1 body=${2:-'{}'}
	local opts=(-sS --fail-with-body)
	[ "$EMU_TLS" = 1 ] && opts+=(-k)
	if [ "$path" = stats ]; then
		curl "${opts[@]}" "$EMU_URL/emulator/v1/stats"
	else
		curl "${opts[@]}" -X POST -H 'Content-Type: application/json' -d "$body" "$EMU_URL/emulator/v1/$path"
	fi
	echo
}
