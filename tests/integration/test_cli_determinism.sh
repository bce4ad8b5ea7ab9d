#!/usr/bin/env bash
# Determinism: the fixture set, and the same documents shuffled across differently named
# files, given as a directory, as several files in another order, and on stdin, must give the
# same content digest (as printed by `dhg generate`) and byte-identical chart files. The
# digest must also be the one DESIGN.md defines (sha256 over sorted path, NUL, 8-byte
# big-endian length, bytes), recomputed here from the written files.
. "$(dirname "$0")/lib.sh"
[ -x "$BUILD/dhg" ] || skip "no $BUILD/dhg"
$DHG generate --help >/dev/null 2>&1 || skip "dhg generate is not part of this build"

SRC="$T/src"
mkdir -p "$SRC"
# the fixture inputs (not expected/): one directory tree
for d in "$ROOT"/tests/fixtures/*/input; do
	cp -r "$d" "$SRC/$(basename "$(dirname "$d")")"
done

# Split every file into its documents (raw text, so no value is re-typed), shuffle them
# with a fixed seed and write three other layouts.
$PY - "$SRC" "$T" <<'PY'
import os, random, re, sys
src, t = sys.argv[1], sys.argv[2]
docs = []
for root, dirs, files in os.walk(src):
    dirs.sort()
    for f in sorted(files):
        if not f.endswith((".yaml", ".yml")):
            continue
        text = open(os.path.join(root, f), encoding="utf-8").read()
        for part in re.split(r"(?m)^---[ \t]*\n", text):
            if any(l.strip() and not l.lstrip().startswith("#") for l in part.splitlines()):
                docs.append(part if part.endswith("\n") else part + "\n")
assert len(docs) >= 60, len(docs)
rnd = random.Random(20240601)
rnd.shuffle(docs)
# A: a directory tree, one document per file, unrelated names, nested folders, empty documents
for i, d in enumerate(docs):
    sub = os.path.join(t, "A", "part-%d" % (i % 3), "deeper" if i % 2 else "")
    os.makedirs(sub, exist_ok=True)
    ext = ".yml" if i % 4 == 0 else ".yaml"
    with open(os.path.join(sub, "z%03d-%x%s" % (rnd.randrange(1000), i * 7919, ext)), "w", encoding="utf-8") as fh:
        fh.write("# shuffled copy\n---\n" + d + ("---\n" if i % 5 == 0 else ""))
# B: three files, documents dealt round-robin
os.makedirs(os.path.join(t, "B"), exist_ok=True)
for k in range(3):
    with open(os.path.join(t, "B", "bundle-%d.yaml" % k), "w", encoding="utf-8") as fh:
        fh.write("---\n".join(docs[k::3]))
# C: one stream, reversed order
with open(os.path.join(t, "all.yaml"), "w", encoding="utf-8") as fh:
    fh.write("---\n" + "---\n".join(reversed(docs)))
print("documents: %d" % len(docs))
PY

gen() { # $1 = output dir, rest = -f arguments; prints the digest found in the CLI output
	local out=$1
	shift
	$DHG generate --secrets include "$@" -o "$out" --chart-name fixtures --chart-version 1.2.3 --namespace shop \
		>"$out.log" 2>&1 || fail "generate $*: $(tail -n 5 "$out.log")"
	grep -oE 'sha256:[0-9a-f]{64}' "$out.log" | head -n 1
}

d0=$(gen "$T/chart0" -f "$SRC")
[ -n "$d0" ] || fail "dhg generate printed no content digest: $(cat "$T/chart0.log")"
d1=$(gen "$T/chart1" -f "$SRC")
dA=$(gen "$T/chartA" -f "$T/A")
dB=$(gen "$T/chartB" -f "$T/B/bundle-2.yaml" -f "$T/B/bundle-0.yaml" -f "$T/B/bundle-1.yaml")
dC=$(gen "$T/chartC" -f - <"$T/all.yaml")
echo "digests: $d0 $d1 $dA $dB $dC"
for v in d1 dA dB dC; do
	[ "${!v}" = "$d0" ] || fail "digest differs for ${v#d}: ${!v} != $d0"
done
for v in 1 A B C; do
	diff -r "$T/chart0" "$T/chart$v" >"$T/diff-$v" || fail "files differ for $v: $(head -n 20 "$T/diff-$v")"
done
n=$(find "$T/chart0" -type f | wc -l)
[ "$n" -gt 60 ] || fail "only $n files in the chart"
ok "same digest $d0 and identical $n files for directory, shuffled tree, re-split files and stdin"

# ... and it is content-sensitive: one changed value gives another digest.
sed 's/LOG_LEVEL: info/LOG_LEVEL: debug/' "$T/all.yaml" >"$T/changed.yaml"
cmp -s "$T/all.yaml" "$T/changed.yaml" && fail "test input has no LOG_LEVEL: info to change"
dX=$(gen "$T/chartX" -f "$T/changed.yaml")
[ -n "$dX" ] && [ "$dX" != "$d0" ] || fail "a changed value kept the digest $d0"
ok "one changed value changes the digest ($dX)"

# The printed digest is the documented one, over the files actually written.
calc=$($PY - "$T/chart0" <<'PY'
import hashlib, os, struct, sys
root = sys.argv[1]
files = []
for r, dirs, fs in os.walk(root):
    for f in fs:
        p = os.path.join(r, f)
        files.append((os.path.relpath(p, root).replace(os.sep, "/"), open(p, "rb").read()))
h = hashlib.sha256()
for path, data in sorted(files, key=lambda x: x[0].encode()):
    h.update(path.encode() + b"\0" + struct.pack(">Q", len(data)) + data)
print("sha256:" + h.hexdigest())
PY
)
[ "$calc" = "$d0" ] || fail "printed digest $d0 is not sha256 over the written files ($calc)"
ok "digest matches sha256 over sorted (path, length, bytes) of the written files"
