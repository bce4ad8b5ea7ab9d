#!/usr/bin/env bash
# Bad input through the real CLI: every case exits non-zero with a message naming the
# file/object and field, writes no output directory, and leaves an existing chart directory
# byte-for-byte unchanged (DESIGN.md "Bad input"). Quick enough for make asan / valgrind.
. "$(dirname "$0")/lib.sh"

IN=$T/in
mkdir -p "$IN"

# A good chart to protect: generated once, then every bad run targets it too.
cat >"$IN/good.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: "prod"}
EOF
$DHG generate -f "$IN/good.yaml" -o "$T/keep" --chart-name keep >"$T/good.log" 2>&1 ||
	fail "generating the reference chart failed: $(cat "$T/good.log")"
[ -f "$T/keep/Chart.yaml" ] || fail "reference chart has no Chart.yaml"
tree_sum() { (cd "$1" && find . -print0 | LC_ALL=C sort -z | xargs -0 stat -c '%n %s %a %F' &&
	find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1; }
KEEP_SUM=$(tree_sum "$T/keep")

# check NAME WANT_RC PATTERN... -- DHG-GENERATE-ARGS... (without -o/--chart-name; NAME=x)
# Every PATTERN must appear (fixed string) in stderr.
check() {
	local name=$1 want=$2 pats=() rc out
	shift 2
	while [ "$1" != "--" ]; do pats+=("$1"); shift; done
	shift
	for out in "$T/out" "$T/keep"; do
		rm -rf "$T/out"
		set +e
		$DHG generate "$@" -o "$out" >"$T/stdout" 2>"$T/stderr"
		rc=$?
		set -e
		[ "$rc" -eq "$want" ] || fail "$name (-o $out): exit $rc, want $want; stderr: $(head -c 600 "$T/stderr")"
		for p in "${pats[@]}"; do
			grep -qF -- "$p" "$T/stderr" || fail "$name: stderr lacks '$p': $(head -c 600 "$T/stderr")"
		done
		[ "$(wc -l <"$T/stderr")" -le 5 ] || fail "$name: more than a short message on stderr"
		[ ! -e "$T/out" ] || fail "$name: $T/out exists after a failed run"
		[ "$(tree_sum "$T/keep")" = "$KEEP_SUM" ] || fail "$name: the existing chart directory changed"
		if ls -A "$T" | grep -vxE 'in|keep|out|stdout|stderr|good.log' | grep -q .; then
			fail "$name: leftovers next to the output: $(ls -A "$T" | tr '\n' ' ')"
		fi
	done
	ok "$name: $(head -n 1 "$T/stderr" | cut -c1-160)"
}

# 1. malformed YAML: file, line and column
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n   bad: [\n' >"$IN/malformed.yaml"
check malformed-yaml 1 "$IN/malformed.yaml:5:7:" "mapping values are not allowed" -- \
	-f "$IN/malformed.yaml" --chart-name x
printf 'a: 1\nb:\n  c: 1\n  c: 2\n' >"$IN/dupkey.yaml"
check duplicate-key 1 "$IN/dupkey.yaml:4:3: duplicate mapping key \"c\"" -- -f "$IN/dupkey.yaml" --chart-name x

# 2. documents without kind / apiVersion / metadata.name
printf 'apiVersion: v1\nmetadata: {name: a}\n' >"$IN/nokind.yaml"
check missing-kind 1 "$IN/nokind.yaml (document 1, line 1): kind is missing" -- -f "$IN/nokind.yaml" --chart-name x
printf 'kind: Service\nmetadata: {name: a}\n' >"$IN/noapi.yaml"
check missing-apiversion 1 "$IN/noapi.yaml (document 1, line 1): Service: apiVersion is missing" -- \
	-f "$IN/noapi.yaml" --chart-name x
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels: {app: x}\nspec: {}\n' >"$IN/noname.yaml"
check missing-name 1 "$IN/noname.yaml (document 2, line 5): Deployment: metadata.name is missing" -- \
	-f "$IN/noname.yaml" --chart-name x

# 3. duplicate objects (two files of one directory)
mkdir -p "$IN/dups"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\n' >"$IN/dups/a.yaml"
printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: cfg, namespace: shop}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\n' >"$IN/dups/b.yaml"
check duplicate-objects 1 "duplicate object ConfigMap shop/cfg" "$IN/dups/a.yaml (document 1, line 1)" \
	"$IN/dups/b.yaml (document 2, line 5)" -- -f "$IN/dups" --chart-name x

# 4. an unknown deprecated API, and a removed one
printf 'apiVersion: extensions/v1beta1\nkind: ThirdPartyResource\nmetadata: {name: tpr}\n' >"$IN/tpr.yaml"
check unknown-deprecated-api 1 "$IN/tpr.yaml (document 1, line 1) ThirdPartyResource tpr" \
	"extensions/v1beta1, an unknown deprecated API" -- -f "$IN/tpr.yaml" --chart-name x
printf 'apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: restricted}\nspec: {}\n' >"$IN/psp.yaml"
check removed-api 1 "$IN/psp.yaml (document 1, line 1) PodSecurityPolicy restricted" "policy/v1beta1" "removed" -- \
	-f "$IN/psp.yaml" --chart-name x

# 5. unreadable paths
check nonexistent-path 1 "$IN/nope.yaml: No such file or directory" -- -f "$IN/nope.yaml" --chart-name x
check directory-as-file 1 "$IN/good.yaml/x.yaml: Not a directory" -- -f "$IN/good.yaml/x.yaml" --chart-name x
if [ "$(id -u)" = 0 ]; then
	echo "note: running as root, the chmod 000 sub-case is skipped (root reads anything)"
else
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: locked}\n' >"$IN/locked.yaml"
	chmod 000 "$IN/locked.yaml"
	check unreadable-file 1 "$IN/locked.yaml: Permission denied" -- -f "$IN/locked.yaml" --chart-name x
	mkdir -p "$IN/lockeddir/sub" && chmod 000 "$IN/lockeddir/sub"
	check unreadable-dir 1 "$IN/lockeddir/sub: Permission denied" -- -f "$IN/lockeddir" --chart-name x
	chmod 755 "$IN/lockeddir/sub" && chmod 644 "$IN/locked.yaml"
fi

# 6. binary garbage: NUL bytes, and bytes that are not UTF-8
$PY - "$IN" <<'EOF'
import random, sys
r = random.Random(42)
d = sys.argv[1]
open(d + "/garbage.bin.yaml", "wb").write(b"apiVersion: v1\n" + bytes(r.getrandbits(8) for _ in range(4096)) + b"\x00")
open(d + "/latin1.yaml", "wb").write(b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n")
EOF
check binary-garbage 1 "$IN/garbage.bin.yaml:" "binary data" -- -f "$IN/garbage.bin.yaml" --chart-name x
check invalid-utf8 1 "$IN/latin1.yaml:3:" "invalid UTF-8 byte 0xE9" -- -f "$IN/latin1.yaml" --chart-name x

# 7. a 50 MB file: refused before parsing (sparse, so creating it costs nothing)
truncate -s 50M "$IN/huge.yaml"
check huge-file 1 "$IN/huge.yaml" "file is 52428800 bytes, more than the limit of 33554432" -- -f "$IN/huge.yaml" --chart-name x

# 8. a chart name that is not a DNS-1123 label: a usage error (exit 2, "2 usage" in issue 2)
check bad-chart-name 2 "--chart-name 'Bad_Name'" "DNS-1123" -- -f "$IN/good.yaml" --chart-name Bad_Name

# The reference chart is still intact and a good run still works.
[ "$(tree_sum "$T/keep")" = "$KEEP_SUM" ] || fail "the existing chart directory changed"
$DHG generate -f "$IN/good.yaml" -o "$T/out" --chart-name x >/dev/null 2>&1 || fail "a good run failed afterwards"
[ -f "$T/out/Chart.yaml" ] || fail "a good run wrote no Chart.yaml"
ok "all bad-input cases"
