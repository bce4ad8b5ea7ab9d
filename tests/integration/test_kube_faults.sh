#!/usr/bin/env bash
# The kube client's informer under faults, against the API emulator:
#  A. watches dropped about every second (clean end and TCP abort, alternating) while objects
#     are created/updated/deleted -> every change delivered exactly once, in order, and the
#     final cache equals the server's state;
#  B. history compacted while the watch is down -> 410 -> relist, and the difference is
#     delivered as add/update/delete (no event for unchanged objects).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emulator.sh"
. "$(dirname "$0")/kubetool.sh"

emu_start --bookmark-interval 0.5
KC=$EMU_KUBECONFIG
ns_create() { $TOOL --kubeconfig "$KC" create v1/namespaces - "{\"metadata\":{\"name\":\"$1\"}}" >/dev/null; }

# Python helpers: writes through the REST API (like curl) and the checks.
cat >"$T/kt.py" <<'PY'
import json, random, sys, time, urllib.request, urllib.error

URL = sys.argv[2]

def req(method, path, body=None, ctype="application/json"):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(URL + path, data=data, method=method)
    if data is not None:
        r.add_header("Content-Type", ctype)
    with urllib.request.urlopen(r, timeout=10) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None

def cm_path(ns, name=None):
    return "/api/v1/namespaces/%s/configmaps" % ns + ("/" + name if name else "")

def server_state(ns):
    items = req("GET", cm_path(ns))["items"]
    return {"%s/%s" % (ns, o["metadata"]["name"]): o["metadata"]["resourceVersion"] for o in items}

def read_lines(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out

def cmd_seed(ns, n):
    log = []
    for i in range(n):
        o = req("POST", cm_path(ns), {"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": "cm%d" % i, "labels": {"app": "faults"}},
                                      "data": {"v": "0"}})
        log.append({"type": "ADDED", "key": "%s/cm%d" % (ns, i), "rv": o["metadata"]["resourceVersion"]})
    return log

def cmd_churn(ns, ops, names, drop_every, logpath):
    """Random creates/updates/deletes; drops all watches about every drop_every seconds."""
    random.seed(42)
    live = set(k.split("/")[1] for k in server_state(ns))
    log = []
    last_drop = time.time()
    drops = 0
    for i in range(ops):
        name = "cm%d" % random.randrange(names)
        key = "%s/%s" % (ns, name)
        if name not in live:
            o = req("POST", cm_path(ns), {"metadata": {"name": name, "labels": {"app": "faults"}}, "data": {"v": str(i)}})
            live.add(name)
            log.append({"type": "ADDED", "key": key, "rv": o["metadata"]["resourceVersion"]})
        elif random.random() < 0.2:
            req("DELETE", cm_path(ns, name))
            live.discard(name)
            log.append({"type": "DELETED", "key": key, "rv": None})
        else:
            o = req("PATCH", cm_path(ns, name), {"data": {"v": str(i)}}, "application/merge-patch+json")
            log.append({"type": "MODIFIED", "key": key, "rv": o["metadata"]["resourceVersion"]})
        if time.time() - last_drop >= drop_every:
            req("POST", "/emulator/v1/drop-watches", {"abort": drops % 2 == 1})
            drops += 1
            last_drop = time.time()
        time.sleep(0.05)
    with open(logpath, "w") as f:
        for e in log:
            f.write(json.dumps(e) + "\n")
    print(drops)

def check_exact(ns, seedlog, churnlog, events, cache):
    want = read_lines(seedlog) + read_lines(churnlog)
    got = read_lines(events)
    if len(got) != len(want):
        sys.exit("event count %d, want %d (every change exactly once)" % (len(got), len(want)))
    per_key_want, per_key_got = {}, {}
    for e in want:
        per_key_want.setdefault(e["key"], []).append(e)
    for e in got:
        per_key_got.setdefault(e["key"], []).append(e)
    for key, w in per_key_want.items():
        g = per_key_got.get(key, [])
        if [x["type"] for x in g] != [x["type"] for x in w]:
            sys.exit("%s: event types %s, want %s" % (key, [x["type"] for x in g], [x["type"] for x in w]))
        for a, b in zip(g, w):
            if b["rv"] is not None and a["rv"] != b["rv"]:
                sys.exit("%s: %s rv %s, want %s" % (key, a["type"], a["rv"], b["rv"]))
    rvs = [int(e["rv"]) for e in got]
    if rvs != sorted(rvs) or len(set(rvs)) != len(rvs):
        sys.exit("events not in resourceVersion order: %s" % rvs)
    check_cache(ns, cache)
    print("ok %d events" % len(got))

def check_cache(ns, cache):
    state = server_state(ns)
    got = {e["key"]: e["rv"] for e in read_lines(cache)}
    if got != state:
        sys.exit("cache %s != server %s" % (got, state))

def cmd_gap(ns, snapfile):
    """While the watch is down: update cm0 twice and cm1, delete cm2, create new1/new2; cm3.. untouched."""
    snap = server_state(ns)
    json.dump(snap, open(snapfile, "w"))
    req("PATCH", cm_path(ns, "cm0"), {"data": {"v": "gap1"}}, "application/merge-patch+json")
    req("PATCH", cm_path(ns, "cm0"), {"data": {"v": "gap2"}}, "application/merge-patch+json")
    req("PATCH", cm_path(ns, "cm1"), {"data": {"v": "gap"}}, "application/merge-patch+json")
    req("DELETE", cm_path(ns, "cm2"))
    for n in ("new1", "new2"):
        req("POST", cm_path(ns), {"metadata": {"name": n}})
    print(json.dumps(req("POST", "/emulator/v1/compact", {})))

def check_gap(ns, snapfile, events, cache, nseed):
    snap = json.load(open(snapfile))
    state = server_state(ns)
    got = read_lines(events)[nseed:]
    want = set()
    for k, rv in state.items():
        if k not in snap:
            want.add(("ADDED", k, rv, ""))
        elif snap[k] != rv:
            want.add(("MODIFIED", k, rv, snap[k]))
    for k, rv in snap.items():
        if k not in state:
            want.add(("DELETED", k, rv, ""))
    gotset = [(e["type"], e["key"], e["rv"], e["oldRv"]) for e in got]
    if len(gotset) != len(set(gotset)) or set(gotset) != want:
        sys.exit("relist diff events %s, want %s" % (sorted(gotset), sorted(want)))
    check_cache(ns, cache)
    print("ok diff %d events" % len(got))

if __name__ == "__main__":
    c = sys.argv[1]
    a = sys.argv[3:]
    if c == "seed":
        for e in cmd_seed(a[0], int(a[1])):
            print(json.dumps(e))
    elif c == "churn":
        cmd_churn(a[0], int(a[1]), int(a[2]), float(a[3]), a[4])
    elif c == "check-exact":
        check_exact(*a)
    elif c == "gap":
        cmd_gap(*a)
    elif c == "check-gap":
        check_gap(a[0], a[1], a[2], a[3], int(a[4]))
    elif c == "stats":
        print(json.dumps(req("GET", "/emulator/v1/stats")))
PY
kt() { $PY "$T/kt.py" "$1" "$EMU_URL" "${@:2}"; }
# wait_lines FILE N: until FILE has at least N lines (max ~15 s)
wait_lines() {
	for _ in $(seq 1 150); do
		[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- A. watch drops while objects change -------------------------------------------------
ns_create faults
kt seed faults 5 >"$T/seed.log"
kubetool_informer_start A "$KC" v1/configmaps faults --watch-timeout 30
drops=$(kt churn faults 80 12 1.0 "$T/churn.log")
[ "$drops" -ge 3 ] || fail "only $drops watch drops happened"
want=$(( $(wc -l <"$T/seed.log") + $(wc -l <"$T/churn.log") ))
wait_lines "$T/A.events" "$want" || true
sleep 0.5 # anything extra (a duplicate) would arrive now
touch "$T/A.stop"
wait "$INF" || fail "informer A exited with $?: $(cat "$T/A.err")"
kt check-exact faults "$T/seed.log" "$T/churn.log" "$T/A.events" "$T/A.cache" || fail "exactly-once check failed"
watches=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["watches"])' "$T/A.stats")
[ "$watches" -gt "$drops" ] || fail "informer made $watches watch requests for $drops drops"
# a dropped stream (even a TCP abort mid-line) is a normal end: resumed, not an error or a relist
$PY -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["errors"] == 0 and s["lists"] == 1 else 1)' \
	"$T/A.stats" || fail "watch drops caused errors or relists: $(cat "$T/A.stats")"
ok "A: $want changes delivered exactly once in order across $drops watch drops ($watches watches); cache == server"

# ---- B. compaction while the watch is down -> 410 -> relist with a diff -------------------
ns_create compact
kt seed compact 6 >/dev/null
kubetool_informer_start B "$KC" v1/configmaps compact --watch-timeout 30
wait_lines "$T/B.events" 6 || fail "initial adds missing"
# keep the watch down (its reconnects fail with 500) until the gap and the compaction are done,
# then let it reconnect: from its old resourceVersion it must get 410 and relist
emu_ctl fail '{"count":1000,"code":500,"pathPrefix":"/api/v1/namespaces/compact/configmaps","verb":"watch"}' >/dev/null
emu_ctl drop-watches >/dev/null
kt gap compact "$T/snap.json" >/dev/null
emu_ctl reset >/dev/null
wait_lines "$T/B.events" 11 || true # 6 adds + cm0, cm1 modified, cm2 deleted, new1, new2 added
sleep 0.5
touch "$T/B.stop"
wait "$INF" || fail "informer B exited with $?: $(cat "$T/B.err")"
kt check-gap compact "$T/snap.json" "$T/B.events" "$T/B.cache" 6 || fail "relist diff check failed ($(cat "$T/B.stats"))"
$PY - "$T/B.stats" <<'PY' || fail "no 410 relist happened: $(cat "$T/B.stats")"
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if s["relistsGone"] >= 1 and s["lists"] >= 2 else 1)
PY
ok "B: compaction -> 410 -> relist delivered exactly the difference; cache == server ($(cat "$T/B.stats"))"
