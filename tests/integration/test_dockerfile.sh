#!/usr/bin/env bash
# The Dockerfile's runtime stage must provide every shared library the built binaries load:
# each library `ldd` reports, and each library they dlopen() on first use (libgit2, libarchive:
# internal/util/dl.h; their SONAMEs are string constants in the binaries) with what `ldd` reports
# for it, is owned (dpkg -S) by a package that the runtime stage installs, by one of their
# dependencies (apt-cache depends --recurse), or by the base image's essentials.
. "$(dirname "$0")/lib.sh"
command -v apt-cache >/dev/null || skip "apt-cache not available"
bins=()
for b in dhg dhg-operator; do [ -x "$BUILD/$b" ] && bins+=("$BUILD/$b"); done
[ ${#bins[@]} -gt 0 ] || fail "no built binaries in $BUILD"

# Packages named in the runtime stage's install line (the stage after the last FROM).
runtime_pkgs=$(awk '/^FROM /{stage++} {print stage "\t" $0}' "$ROOT/Dockerfile" \
	| awk -F'\t' -v last="$(grep -c '^FROM ' "$ROOT/Dockerfile")" '$1==last{print $2}' \
	| sed -n '/apt-get install/,/rm -rf/p' | tr ' \\' '\n\n' \
	| grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vE '^(apt-get|install|rm|update|DEBIAN_FRONTEND.*|var|lib|apt|lists)$' | sort -u)
[ -n "$runtime_pkgs" ] || fail "could not read the runtime stage's package list"
# (one apt-cache call: each call loads the whole package cache, ~3 s apiece on a loaded machine)
known=$(apt-cache show --no-all-versions $runtime_pkgs 2>/dev/null | sed -n 's/^Package: //p' | sort -u)
for p in $runtime_pkgs; do
	grep -qx "$p" <<<"$known" || fail "runtime package '$p' does not exist in Debian"
done
# Everything apt would bring in with them, plus the essential packages every Debian image has.
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
	--no-replaces --no-enhances $runtime_pkgs 2>/dev/null | grep -vE '^\s' | sed 's/:.*//' | sort -u)
essential=$(dpkg-query -W -f='${Package} ${Essential} ${Priority}\n' | awk '$2=="yes" || $3=="required"{print $1}' | sed 's/:.*//')
have=$(printf '%s\n%s\n%s\n' "$runtime_pkgs" "$closure" "$essential" | sort -u)

missing=0
# Libraries loaded with dlopen(): the SONAMEs compiled into the binaries (the names of their
# DT_NEEDED entries match too: harmless, ldd covers them anyway), found through ld.so's cache.
strings -a "${bins[@]}" | grep -E '^lib[A-Za-z0-9_+-]+\.so(\.[0-9]+)+$' | sort -u >"$T/sonames"
grep -qx 'libgit2\.so\..*' "$T/sonames" && grep -qx 'libarchive\.so\..*' "$T/sonames" ||
	fail "no libgit2/libarchive SONAME found in ${bins[*]} (how are they loaded now?)"
dlopened=()
while read -r so; do
	path=$(ldconfig -p | awk -v s="$so" '$1 == s && !p {print $NF; p = 1}')
	[ -n "$path" ] || fail "the binaries load $so, which is not installed here"
	dlopened+=("$path")
done <"$T/sonames"
# Every library any binary loads, resolved once, owners looked up in one dpkg -S call.
{ ldd "${bins[@]}" "${dlopened[@]}" | awk '/=> \//{print $3}'; printf '%s\n' "${dlopened[@]}"; } | sort -u >"$T/libs"
while read -r lib; do readlink -f "$lib"; done <"$T/libs" >"$T/real"
owners=$( (dpkg -S $(cat "$T/libs" "$T/real") 2>/dev/null || true) | sed 's/:[^ ]*: /\t/; s/: /\t/')
while read -r lib; do
	real=$(readlink -f "$lib")
	owner=$(awk -F'\t' -v a="$lib" -v b="$real" '$2==a || $2==b {print $1; exit}' <<<"$owners")
	if [ -z "$owner" ]; then echo "no package owns $lib"; missing=1; continue; fi
	if ! grep -qx "$owner" <<<"$have"; then
		echo "MISSING: $lib from package '$owner' is not installed by the runtime stage"
		missing=1
	fi
done <"$T/libs"
[ $missing = 0 ] || fail "the runtime stage lacks libraries"
ok "runtime stage covers the shared libraries of ${bins[*]##*/}, dlopen'ed ones included (packages: $(echo $runtime_pkgs))"
