#!/usr/bin/env bash
# Builds the libcurl the binaries link: Debian's source package of the installed
# libcurl4-openssl-dev (with Debian's patches, security fixes included), configured with only
# what the project uses (HTTP/HTTPS over OpenSSL, HTTP/2, gzip, threaded resolver, proxies),
# as a static library in .tools/curl. Debian's shared libcurl4 is built with LDAP, RTMP,
# GSSAPI, SSH, PSL, IDN2, zstd and brotli; loading it (gnutls, krb5, ldap, ...) alone costs
# more resident memory than the operator's idle budget (DESIGN.md "Performance targets").
#
# Usage: scripts/build-curl.sh   (called by scripts/install-deps.sh; idempotent: a stamp
#        records the Debian version, the configure line and the compiler flags, and a rebuild
#        happens only when one of them changes). Needs apt-get (root or sudo); downloads from the system's Debian mirror.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PREFIX="$ROOT/.tools/curl"
SRC="$ROOT/.tools/src"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
say() { echo "build-curl: $*" >&2; }

# Options: HTTP(S) only, OpenSSL + zlib + nghttp2, and Debian's CA locations (the same
# defaults as Debian's libcurl4). Everything else the Debian build enables is left out.
CONFIGURE_OPTS="--disable-shared --enable-static --with-pic --disable-dependency-tracking
  --with-openssl --with-zlib --with-nghttp2 --enable-threaded-resolver --enable-ipv6
  --with-ca-path=/etc/ssl/certs --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt
  --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet --disable-tftp
  --disable-pop3 --disable-imap --disable-smb --disable-smtp --disable-gopher --disable-mqtt
  --disable-ftp --disable-file --disable-ntlm-wb --disable-manual --disable-libcurl-option
  --without-librtmp --without-libssh2 --without-libssh --without-wolfssh --without-gssapi
  --without-libpsl --without-libidn2 --without-brotli --without-zstd --without-libgsasl
  --without-gnutls --without-nss --without-hyper --without-ngtcp2 --without-nghttp3
  --without-quiche --without-msh3 --without-zsh-functions-dir --without-fish-functions-dir"
# Build dependencies: the compiler, dpkg-source, and the -dev packages of what stays.
BUILD_DEPS="build-essential dpkg-dev pkg-config libssl-dev zlib1g-dev libnghttp2-dev
  libcurl4-openssl-dev"

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
missing=""
for p in $BUILD_DEPS; do installed "$p" || missing="$missing $p"; done
if [ -n "$missing" ]; then
	say "apt-get install$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The source version is the one of the installed libcurl4-openssl-dev (the system's libcurl).
VERSION=$(dpkg-query -W -f='${Version}' libcurl4-openssl-dev)
UPSTREAM=${VERSION#*:}
UPSTREAM=${UPSTREAM%-*}
# Debian's hardening flags.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS="$(dpkg-buildflags --get CFLAGS)"
CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)"
STAMP_WANT="$VERSION $(echo $CONFIGURE_OPTS "$CFLAGS" "$CPPFLAGS" | sha256sum | cut -c1-16)"
if [ -f "$PREFIX/lib/libcurl.a" ] && [ "$(cat "$PREFIX/.stamp" 2>/dev/null)" = "$STAMP_WANT" ]; then
	exit 0
fi
say "building libcurl $VERSION (Debian source package) into $PREFIX"
t0=$(date +%s)

# A deb-src entry for every Debian archive the system uses, if there is none yet: the deb822
# stanzas / one-line entries whose URI is a Debian archive (…/debian, …/debian-security),
# with the same suites, components and keyring, so apt checks the Sources index's signature.
# (apt-cache output goes through a variable: `grep -q` closing the pipe early fails under pipefail)
src_available() { local v; v=$(apt-cache showsrc --only-source curl 2>/dev/null || true); grep -qx "Version: $VERSION" <<<"$v"; }
has_deb_src() {
	grep -qsE '^\s*(deb-src\s|Types:.*\bdeb-src\b)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources >/dev/null
}
if ! has_deb_src; then
	entries=$(
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			awk 'BEGIN { RS = "" }
			{
				n = split($0, l, "\n"); deb = 0; archive = 0; off = 0; out = ""
				for (i = 1; i <= n; i++) {
					if (l[i] ~ /^#/) continue
					if (l[i] ~ /^Types:/) { deb = (" " l[i] " ") ~ /[ \t]deb[ \t]/; l[i] = "Types: deb-src" }
					if (l[i] ~ /^URIs:/ && l[i] ~ /\/debian(-security)?\/?([ \t]|$)/) archive = 1
					if (l[i] ~ /^Enabled:[ \t]*no/) off = 1
					out = out l[i] "\n"
				}
				if (deb && archive && !off) printf "%s\n", out
			}' "$f"
		done
	)
	lines=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" && $0 ~ /\/debian(-security)?\/? / { $1 = "deb-src"; print }' || true)
	[ -n "$entries$lines" ] || { say "no Debian archive in the apt sources: cannot get curl's source package"; exit 1; }
	if [ -n "$entries" ]; then
		printf '%s\n' "$entries" | $SUDO tee /etc/apt/sources.list.d/dhg-src.sources >/dev/null
	fi
	if [ -n "$lines" ]; then
		printf '%s\n' "$lines" | $SUDO tee /etc/apt/sources.list.d/dhg-src.list >/dev/null
	fi
	say "added deb-src entries (/etc/apt/sources.list.d/dhg-src.*)"
	$SUDO apt-get update -qq
elif ! src_available; then
	$SUDO apt-get update -qq
fi
if ! src_available; then
	say "the mirror has no source package curl $VERSION (the installed libcurl4-openssl-dev);"
	say "upgrade it (apt-get install libcurl4-openssl-dev) and run this again"
	exit 1
fi

# Download and unpack (apt checks the files against its signed Sources index, dpkg-source
# against the .dsc, and applies Debian's patches). Debian's OpenSSL flavour is built without the
# last two patches (they rename the library for the GnuTLS and NSS flavours); the other patches
# to the build system only touch GSSAPI and LDAP in configure.ac, both disabled here, and the
# zsh completion of the curl tool, not built, so the released configure script is used as is (no autotools; AM_MAINTAINER_MODE keeps make from
# re-running them). A new Debian patch to the library's build files stops the build for review.
KNOWN_BUILD_PATCHES="build-Divide-mit-krb5-gssapi-link-flags-between-LDFLAGS-a.patch
  Use-OpenLDAP-specific-functionality.patch 08_enable-zsh.patch 90_gnutls.patch 99_nss.patch"
dir="$SRC/curl-$VERSION"
rm -rf "$SRC"/curl-*
mkdir -p "$dir"
(cd "$dir" && apt-get source -qq --only-source "curl=$VERSION" >/dev/null 2>"$dir/source.log") || {
	cat "$dir/source.log" >&2
	say "apt-get source curl=$VERSION failed"
	exit 1
}
tree="$dir/curl-$UPSTREAM"
[ -x "$tree/configure" ] || { say "unexpected source layout in $dir"; exit 1; }
for p in $(awk '/^[^#]/ {print $1}' "$tree/debian/patches/series"); do
	case " $(echo $KNOWN_BUILD_PATCHES) " in *" $p "*) continue ;; esac
	files=$(awk '/^\+\+\+ / {sub(/^[^\/]*\//, "", $2); print $2}' "$tree/debian/patches/$p")
	if grep -qE '^(configure\.ac|acinclude\.m4|m4/|lib/.*Makefile|include/.*Makefile|Makefile\.am)' <<<"$files"; then
		say "Debian patch $p changes libcurl's build system; the released configure/Makefile.in"
		say "would not see it: review scripts/build-curl.sh (autoreconf may be needed)"
		exit 1
	fi
done
for p in 99_nss.patch 90_gnutls.patch; do
	if [ -f "$tree/debian/patches/$p" ]; then
		patch -d "$tree" -R -p1 -s <"$tree/debian/patches/$p"
	fi
done

jobs=$(nproc 2>/dev/null || echo 2)
# shellcheck disable=SC2086
(cd "$tree" && ./configure --prefix="$PREFIX" $CONFIGURE_OPTS CFLAGS="$CFLAGS" CPPFLAGS="$CPPFLAGS" \
	>"$dir/configure.log" 2>&1) || {
	tail -n 30 "$dir/configure.log" >&2
	say "configure failed (log: $dir/configure.log)"
	exit 1
}
# Installed into a staging directory, then moved into place: a build running meanwhile sees the
# old library or the new one, never a half-installed one.
stage="$dir/stage"
(cd "$tree" && make -s -j"$jobs" -C lib >"$dir/make.log" 2>&1 &&
	make -s -C lib install DESTDIR="$stage" >>"$dir/make.log" 2>&1 &&
	make -s -C include install DESTDIR="$stage" >>"$dir/make.log" 2>&1 &&
	make -s install-pkgconfigDATA install-binSCRIPTS DESTDIR="$stage" >>"$dir/make.log" 2>&1) || {
	tail -n 30 "$dir/make.log" >&2
	say "build failed (log: $dir/make.log)"
	exit 1
}
rm -f "$stage$PREFIX/lib/libcurl.la"
echo "$STAMP_WANT" >"$stage$PREFIX/.stamp"
rm -rf "$PREFIX.old"
[ ! -e "$PREFIX" ] || mv "$PREFIX" "$PREFIX.old"
mv "$stage$PREFIX" "$PREFIX"
rm -rf "$PREFIX.old" "$stage"
say "libcurl $VERSION built in $(($(date +%s) - t0)) s: $(grep -E '^\s+(SSL|HTTP2|Protocols|Features):' "$dir/configure.log" | tr -s ' ' | tr '\n' ';')"
