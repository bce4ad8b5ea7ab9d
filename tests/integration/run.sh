#!/usr/bin/env bash
# Runs integration test scripts; each exits 0 (pass), 77 (skipped, with a reason) or other (fail).
# Prints one line per script and a closing "N passed, N failed, N skipped" line.
set -uo pipefail
cd "$(dirname "$0")/../.."
pass=0 fail=0 skip=0 failed=()
mkdir -p tests/tmp
for t in "$@"; do
	name=$(basename "$t" .sh)
	log="tests/tmp/$name.log"
	start=$(date +%s)
	bash "$t" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); echo "PASS $name (${secs}s)"
	elif [ $rc -eq 77 ]; then
		skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$log")"
	else
		fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name (${secs}s, rc=$rc) — last lines of $log:"
		tail -n 40 "$log" | sed 's/^/    /'
	fi
done
echo "integration: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
