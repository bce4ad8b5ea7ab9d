# dhg-operator build. `make` builds build/dhg (and build/dhg-operator once it exists).
# Targets: all deps test unit integration asan tsan valgrind coverage lint fuzz bench demo clean
.DEFAULT_GOAL := all
SHELL := /bin/bash

BUILD   ?= build
CC      ?= cc
PKGS    := yaml-0.1 jansson libwebsockets libgit2 openssl libarchive
# Loaded at run time on first use (internal/util/dl.h): headers only, not linked. Their SONAMEs
# are compiled in (DHG_LIBGIT2_SONAME, DHG_LIBARCHIVE_SONAME).
DL_PKGS := libgit2 libarchive
DL_SONAME_GIT2    := $(shell bash scripts/soname.sh libgit2)
DL_SONAME_ARCHIVE := $(shell bash scripts/soname.sh libarchive)
DL_CFLAGS := $(if $(DL_SONAME_GIT2),-DDHG_LIBGIT2_SONAME='"$(DL_SONAME_GIT2)"') \
	$(if $(DL_SONAME_ARCHIVE),-DDHG_LIBARCHIVE_SONAME='"$(DL_SONAME_ARCHIVE)"')
# dlopen is in libc since glibc 2.34: then the libdl stub is not linked (as-needed)
DL_LIBS := -Wl,--push-state,--as-needed -ldl -Wl,--pop-state
OPT     ?= -O2 -g
SAN     ?=
CFLAGS_BASE := -std=c11 -Wall -Wextra -Werror -Wno-format-truncation -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-Iinternal -I. -pthread -MMD -MP
# libcurl: the static one scripts/build-curl.sh builds from Debian's source package (HTTP(S)
# only; Debian's libcurl4 loads gnutls, krb5, ldap, rtmp, ssh2... at start-up). `make deps`
# builds it; DHG_SYSTEM_CURL=1 links the system's shared libcurl instead.
CURL_PREFIX := $(CURDIR)/.tools/curl
ifeq ($(DHG_SYSTEM_CURL),1)
CURL_A      :=
CURL_CFLAGS  = $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS    = $(shell pkg-config --libs libcurl 2>/dev/null)
else
CURL_A      := $(CURL_PREFIX)/lib/libcurl.a
CURL_PC      = PKG_CONFIG_PATH=$(CURL_PREFIX)/lib/pkgconfig pkg-config --define-variable=prefix=$(CURL_PREFIX)
CURL_CFLAGS  = $(shell $(CURL_PC) --cflags libcurl 2>/dev/null)
CURL_LIBS    = $(CURL_A) $(filter-out -L% -lcurl,$(shell $(CURL_PC) --static --libs libcurl 2>/dev/null))
endif
# OpenSSL and libwebsockets are linked statically: a process maps only the code it uses, and
# the loader no longer resolves and relocates two large shared libraries at start-up (idle
# operator over TLS: 8.6 -> 7.7 MB RSS, bench/operator.sh). Their shared dependencies (libcap,
# zlib) stay shared. DHG_SHARED_TLS=1 links the shared libssl/libcrypto/libwebsockets instead.
ifeq ($(DHG_SHARED_TLS),1)
TLS_STATIC :=
TLS_LIBS   :=
else
TLS_STATIC := -lwebsockets -lssl -lcrypto
TLS_LIBS   := -Wl,-Bstatic $(TLS_STATIC) -Wl,-Bdynamic -lcap -lz
endif
PKG_CFLAGS = $(CURL_CFLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(filter-out $(TLS_STATIC),$(CURL_LIBS) $(shell pkg-config --libs $(filter-out $(DL_PKGS),$(PKGS)) 2>/dev/null)) \
	$(TLS_LIBS) $(DL_LIBS) -lm -pthread
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)
ALL_CFLAGS = $(CFLAGS_BASE) $(OPT) $(SAN) $(PKG_CFLAGS) $(DL_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN) $(LDFLAGS)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.0.0-dev)

# ---- areas: one static library each ------------------------------------------------------
srcs_of = $(sort $(shell find $(1) -name '*.c' 2>/dev/null))
SRC_util       := $(call srcs_of,internal/util)
SRC_engine     := $(call srcs_of,internal/engine)
SRC_kube       := $(call srcs_of,internal/kube)
SRC_runtime    := $(call srcs_of,internal/runtime)
SRC_output     := $(call srcs_of,internal/output)
SRC_httpserver := $(call srcs_of,internal/httpserver)
SRC_controller := $(call srcs_of,controller)
AREAS := util engine kube runtime output httpserver controller

# What each area links against (itself first, dependencies after).
DEPS_util       := util
DEPS_engine     := engine util
DEPS_kube       := kube util
DEPS_runtime    := runtime kube util
DEPS_output     := output engine util
DEPS_httpserver := httpserver util
DEPS_controller := controller runtime httpserver output kube engine util

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
lib = $(BUILD)/lib/libdhg_$(1).a
libs_for = $(foreach a,$(DEPS_$(1)),$(if $(SRC_$(a)),$(call lib,$(a))))

$(BUILD)/obj/%.o: %.c | $(CURL_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DDHG_VERSION='"$(VERSION)"' -c $< -o $@

define area_rules
$(call lib,$(1)): $(call obj,$(SRC_$(1)))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach a,$(AREAS),$(if $(SRC_$(a)),$(eval $(call area_rules,$(a)))))

# ---- binaries -----------------------------------------------------------------------------
SRC_dhg      := $(call srcs_of,cmd/dhg)
SRC_operator := $(call srcs_of,cmd/dhg-operator)

# The version is compiled into the commands: rebuild them when it changes.
VERSION_STAMP := $(BUILD)/.version
.PHONY: FORCE
$(VERSION_STAMP): FORCE
	@mkdir -p $(BUILD); echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
$(call obj,$(SRC_dhg) $(SRC_operator)): $(VERSION_STAMP)
# Likewise the loaders and the tests that dlopen: rebuilt when a SONAME changes.
DL_STAMP := $(BUILD)/.dl-sonames
$(DL_STAMP): FORCE
	@mkdir -p $(BUILD); echo '$(DL_SONAME_GIT2) $(DL_SONAME_ARCHIVE)' | cmp -s - $@ || \
		echo '$(DL_SONAME_GIT2) $(DL_SONAME_ARCHIVE)' > $@
$(call obj,$(filter %_dl.c,$(SRC_output)) tests/unit/test_util_dl.c tests/unit/test_output_package.c): $(DL_STAMP)
BINS := $(if $(SRC_dhg),$(BUILD)/dhg) $(if $(SRC_operator),$(BUILD)/dhg-operator)

$(BUILD)/dhg: $(call obj,$(SRC_dhg)) $(call libs_for,output) $(call libs_for,engine) $(CURL_A)
	$(CC) $(ALL_LDFLAGS) -o $@ $(call obj,$(SRC_dhg)) $(call libs_for,output) $(PKG_LIBS)

$(BUILD)/dhg-operator: $(call obj,$(SRC_operator)) $(call libs_for,controller) $(CURL_A)
	$(CC) $(ALL_LDFLAGS) -o $@ $(call obj,$(SRC_operator)) $(call libs_for,controller) $(PKG_LIBS)

# Helper programs used by integration tests and benchmarks (tests/tools/*.c, bench/*.c):
# each links every library.
ALL_LIBS = $(call libs_for,controller)
TOOL_SRCS := $(call srcs_of,tests/tools) $(call srcs_of,bench)
TOOLS := $(patsubst %.c,$(BUILD)/%,$(notdir $(TOOL_SRCS)))
# Keep their objects: as intermediates make would delete them and rebuild every tool each run.
.SECONDARY: $(call obj,$(TOOL_SRCS))
vpath %.c tests/tools bench
$(BUILD)/%: $(BUILD)/obj/tests/tools/%.o $(ALL_LIBS) $(CURL_A)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(ALL_LIBS) $(PKG_LIBS)
$(BUILD)/%: $(BUILD)/obj/bench/%.o $(ALL_LIBS) $(CURL_A)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(ALL_LIBS) $(PKG_LIBS)
# LD_PRELOAD libraries for tests (tests/preload/*.c): failalloc.so fails the Nth allocation.
PRELOADS := $(patsubst tests/preload/%.c,$(BUILD)/%.so,$(wildcard tests/preload/*.c))
$(BUILD)/%.so: tests/preload/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -fPIC -shared -o $@ $<

# ---- unit tests (Check): one runner per area, suites found by name -------------------------
UNIT_SRC = $(sort $(wildcard tests/unit/test_$(1)_*.c))
UNIT_AREAS := $(foreach a,$(AREAS),$(if $(call UNIT_SRC,$(a)),$(a)))
UNIT_BINS := $(foreach a,$(UNIT_AREAS),$(BUILD)/tests/unit-$(a))

$(BUILD)/obj/tests/unit/%.o: tests/unit/%.c | $(CURL_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -DDHG_SOURCE_DIR='"$(CURDIR)"' -c $< -o $@

define unit_rules
$(BUILD)/tests/suites-$(1).c: $(call UNIT_SRC,$(1)) tests/unit/gen-suites.sh
	@mkdir -p $$(dir $$@)
	bash tests/unit/gen-suites.sh $(call UNIT_SRC,$(1)) > $$@
$(BUILD)/tests/unit-$(1): $(call obj,$(call UNIT_SRC,$(1))) $(BUILD)/tests/suites-$(1).c \
		$(BUILD)/obj/tests/unit/runner.o $(call libs_for,$(1)) $(CURL_A)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) $(ALL_LDFLAGS) -o $$@ $(call obj,$(call UNIT_SRC,$(1))) \
		$(BUILD)/tests/suites-$(1).c $(BUILD)/obj/tests/unit/runner.o $(call libs_for,$(1)) \
		$(CHECK_LIBS) $(PKG_LIBS)
endef
$(foreach a,$(UNIT_AREAS),$(eval $(call unit_rules,$(a))))

ifneq ($(CURL_A),)
$(CURL_A):
	@echo "make: $(CURL_A) is missing: run 'make deps' (or bash scripts/build-curl.sh) to build" \
		"libcurl from Debian's source package, or add DHG_SYSTEM_CURL=1 to link the system libcurl" >&2; exit 1
endif

# ---- targets ------------------------------------------------------------------------------
.PHONY: all deps deps-build unit integration test asan tsan valgrind coverage lint fuzz bench demo clean tools deploy-manifests

all: $(BINS)
tools: $(TOOLS) $(PRELOADS)

deps:
	@bash scripts/install-deps.sh

deps-build:
	@DHG_DEPS_MINIMAL=1 bash scripts/install-deps.sh

# Run unit tests. UNIT_WRAP prefixes each runner (valgrind).
unit: $(UNIT_BINS)
	@rc=0; p=0; f=0; bad=""; for t in $(UNIT_BINS); do echo "== $$t"; \
		if $(UNIT_WRAP) $$t; then p=$$((p + 1)); else rc=1; f=$$((f + 1)); bad="$$bad $${t##*/}"; fi; done; \
		echo "unit: $$p passed, $$f failed (runners)$${bad:+:$$bad}"; exit $$rc

# Integration tests drive the built binaries against real helm/kubectl/git/registry.
# INTEGRATION selects scripts (default: all of tests/integration/test_*.sh).
INTEGRATION ?= $(sort $(wildcard tests/integration/test_*.sh))
integration: all tools
	@DHG_BUILD=$(abspath $(BUILD)) bash tests/integration/run.sh $(INTEGRATION)

test: deps
	@$(MAKE) --no-print-directory lint-banned
	@$(MAKE) --no-print-directory all tools
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# Their build directories: ASAN_BUILD=/TSAN_BUILD= to keep several apart.
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
asan: deps-build
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) OPT="-O1 -g" SAN="$(SAN_FLAGS)" all tools unit
	@ASAN_OPTIONS=detect_leaks=1 $(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) OPT="-O1 -g" \
		SAN="$(SAN_FLAGS)" INTEGRATION="$(ASAN_INTEGRATION)" integration

# Every area's unit tests under TSan (a race report makes Check count that test as an error).
tsan: deps-build
	@$(MAKE) --no-print-directory BUILD=$(TSAN_BUILD) OPT="-O1 -g" SAN="-fsanitize=thread" unit

VALGRIND := valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-fds=no
valgrind: deps-build all tools $(UNIT_BINS)
	@CK_FORK=no $(MAKE) --no-print-directory UNIT_WRAP="$(VALGRIND)" unit
	@DHG_WRAP="$(VALGRIND)" $(MAKE) --no-print-directory INTEGRATION="$(VALGRIND_INTEGRATION)" integration

# Integration scripts that are quick enough to run under sanitizers and valgrind.
ASAN_INTEGRATION ?= $(sort $(wildcard tests/integration/test_cli_*.sh))
VALGRIND_INTEGRATION ?= $(sort $(wildcard tests/integration/test_cli_*.sh))

coverage:
	@$(MAKE) --no-print-directory BUILD=build-cov OPT="-O0 -g --coverage" all tools unit

BANNED := sprintf|strcpy|strcat|atoi|strtok|gets
lint-banned:
	@if grep -nE '\b($(BANNED))\s*\(' $$(find internal cmd controller tests/unit tests/tools bench -name '*.[ch]' 2>/dev/null) \
		| grep -vE '(snprintf|vsnprintf|asprintf|fgets)\s*\(' | grep -vE '^\S+:\s*[0-9]+:\s*(\*|//)'; then \
		echo "lint: banned function used (use snprintf/dhg_buf/strtol)"; exit 1; fi

lint: lint-banned
	@clang-format --dry-run -Werror $$(find internal cmd controller -name '*.[ch]') 2>&1 | head -50 || true

fuzz:
	@bash tests/fuzz/run.sh

bench: all tools
	@DHG_BUILD=$(abspath $(BUILD)) bash bench/engine.sh
	@DHG_BUILD=$(abspath $(BUILD)) bash bench/operator.sh

demo: deps all tools
	@bash scripts/demo.sh

# Re-render deploy/operator.yaml and the chart's CRD copy after changing helm/ or crd/.
deploy-manifests:
	cp crd/helmcharts.dhg.deckhouse.io.yaml helm/dhg-operator/crds/
	bash deploy/render.sh > deploy/operator.yaml

clean:
	rm -rf build build-asan build-tsan build-cov

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
