#!/usr/bin/env bash
# Runs deploy/argocd/health-helmchart.lua (the Argo CD health check) with a real Lua 5.4 on
# HelmChart objects in each state and checks the health Argo CD would show.
. "$(dirname "$0")/lib.sh"
command -v lua5.4 >/dev/null || fail "lua5.4 is not installed (scripts/install-deps.sh installs it)"
LUA=$ROOT/deploy/argocd/health-helmchart.lua
cat > "$T/run.lua" <<'LUAEOF'
local cjson = require("cjson")
local f = io.open(arg[2]); local text = f:read("a"); f:close()
obj = cjson.decode(text)
local chunk = assert(loadfile(arg[1]))
local hs = chunk()
print(hs.status .. "\t" .. (hs.message or ""))
LUAEOF
check() { # name expected-status expected-message-substring json
	echo "$4" > "$T/obj.json"
	out=$(lua5.4 "$T/run.lua" "$LUA" "$T/obj.json") || fail "$1: lua error"
	[ "${out%%$'\t'*}" = "$2" ] || fail "$1: expected $2, got '$out'"
	[[ "$out" == *"$3"* ]] || fail "$1: message '$out' lacks '$3'"
	ok "$1 -> $out"
}
check "no status" Progressing "Waiting for the operator" '{"metadata":{"generation":1},"spec":{}}'
check "ready" Healthy "shop 0.1.4 written" '{"metadata":{"generation":2},"spec":{},"status":{"observedGeneration":2,"conditions":[{"type":"Ready","status":"True","reason":"Succeeded","message":"shop 0.1.4 written to git a1b2c3d"}]}}'
check "old generation" Progressing "generation 3 is" '{"metadata":{"generation":3},"spec":{},"status":{"observedGeneration":2,"conditions":[{"type":"Ready","status":"True"}]}}'
check "stalled" Degraded "spec.source" '{"metadata":{"generation":1},"spec":{},"status":{"observedGeneration":1,"conditions":[{"type":"Ready","status":"False","reason":"InvalidSpec","message":"x"},{"type":"Stalled","status":"True","reason":"InvalidSpec","message":"spec.source: exactly one of cluster or git must be set"}]}}'
check "retrying" Progressing "push rejected" '{"metadata":{"generation":1},"spec":{},"status":{"observedGeneration":1,"conditions":[{"type":"Ready","status":"False","reason":"GitFailed","message":"push rejected"},{"type":"Reconciling","status":"True","reason":"Progressing"}]}}'
check "failed, not retrying" Degraded "OCIFailed" '{"metadata":{"generation":1},"spec":{},"status":{"observedGeneration":1,"conditions":[{"type":"Ready","status":"False","reason":"OCIFailed"}]}}'
check "suspended" Suspended "suspend" '{"metadata":{"generation":1},"spec":{"suspend":true},"status":{"observedGeneration":1,"conditions":[{"type":"Ready","status":"True"}]}}'
