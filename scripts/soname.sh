#!/usr/bin/env bash
# Prints the SONAME of a pkg-config package's shared library, e.g. `soname.sh libgit2 git2`
# -> libgit2.so.1.5: what the build compiles in for dlopen() (internal/util/dl.h). Prints
# nothing (exit 1) when the package or its library is missing.
set -euo pipefail
pkg=$1 lib=${2:-${1#lib}}
dir=$(pkg-config --variable=libdir "$pkg" 2>/dev/null) || exit 1
objdump -p "$dir/lib$lib.so" 2>/dev/null | awk '$1 == "SONAME" {print $2; found = 1} END {exit !found}'
