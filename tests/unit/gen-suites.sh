#!/usr/bin/env bash
# Emits a C file listing every `Suite *<name>_suite(void)` defined in the given test files.
set -euo pipefail
names=$(grep -hoE '^Suite \*[a-z0-9_]+_suite\(void\)' "$@" | sed -E 's/^Suite \*([a-z0-9_]+)\(void\)/\1/' | sort -u)
echo '#include <check.h>'
echo '#include <stddef.h>'
for n in $names; do echo "Suite *$n(void);"; done
echo 'Suite *(*const dhg_test_suites[])(void) = {'
for n in $names; do echo "	$n,"; done
echo '	NULL'
echo '};'
