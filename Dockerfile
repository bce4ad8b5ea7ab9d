# syntax=docker/dockerfile:1
# dhg-operator image: build on Debian bookworm, run on bookworm-slim with only the runtime
# libraries the binaries link against (tests/integration/test_dockerfile.sh checks that list
# against `ldd` of the built binaries).

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential pkg-config git ca-certificates dpkg-dev \
      libcurl4-openssl-dev libyaml-dev libjansson-dev libwebsockets-dev libgit2-dev \
      libssl-dev libarchive-dev check zlib1g-dev libnghttp2-dev
WORKDIR /src
# libcurl: built from Debian's source package (same version as libcurl4-openssl-dev, Debian's
# patches applied), HTTP(S) only, static (scripts/build-curl.sh); a layer of its own.
COPY scripts/build-curl.sh scripts/
RUN bash scripts/build-curl.sh && rm -rf .tools/src /var/lib/apt/lists/*
COPY . .
ARG VERSION=0.0.0-dev
RUN make BUILD=/out VERSION=${VERSION} all

FROM debian:bookworm-slim
ARG VERSION=0.0.0-dev
LABEL org.opencontainers.image.title="dhg-operator" \
      org.opencontainers.image.description="Kubernetes operator that turns cluster objects into Helm charts and keeps them current" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/deckhouse/dhg-operator"
# runtime-packages: the shared libraries of /dhg-operator and /dhg, and those they dlopen()
# (libgit2, libarchive). libcurl, OpenSSL and libwebsockets are linked in statically; libssl3
# stays for libgit2's libssh2.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libyaml-0-2 libjansson4 libgit2-1.5 \
      libssl3 libnghttp2-14 zlib1g libarchive13 libcap2 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/dhg-operator /dhg-operator
COPY --from=build /out/dhg /dhg
# Non-root numeric user; the root filesystem can be read-only: scratch space is --work-dir,
# mounted as a volume (an emptyDir in deploy/ and the Helm chart).
USER 65532:65532
# Fewer malloc arenas keep the informer cache compact (bench/informer.sh: 23.2 -> 19.3 MB at 10k objects).
ENV DHG_WORK_DIR=/work HOME=/work MALLOC_ARENA_MAX=2
VOLUME ["/work"]
ENTRYPOINT ["/dhg-operator"]
