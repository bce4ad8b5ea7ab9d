/* dhg: the generation engine as a command-line tool. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/dhg/cmd.h"
#include "util/error.h"
#include "util/json.h"
#include "util/pool.h"

#ifndef DHG_VERSION
#define DHG_VERSION "0.0.0-dev"
#endif

/* Subcommands live in their own files; one that is not linked in reports so. */
int dhg_cmd_generate(int argc, char **argv) __attribute__((weak));
int dhg_cmd_analyze(int argc, char **argv) __attribute__((weak));
int dhg_cmd_push(int argc, char **argv) __attribute__((weak));

static void usage(FILE *f)
{
	fputs("Usage: dhg <command> [flags]\n"
	      "\n"
	      "Turns Kubernetes manifests into a Helm chart, with no cluster needed.\n"
	      "\n"
	      "Commands:\n"
	      "  generate   generate a Helm chart from manifest files (dhg generate --help)\n"
	      "  analyze    print the relationships between objects and findings\n"
	      "  push       push a chart directory to an OCI registry, as `helm push` does\n"
	      "  version    print the version\n"
	      "\n"
	      "Exit codes: 0 ok, 1 error, 2 usage.\n",
	      f);
}

int dhg_cmd_pool;

#if defined(__SANITIZE_ADDRESS__)
#define LEAK_CHECKED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LEAK_CHECKED_BUILD 1
#endif
#endif

/* 1 when leaks are being checked: an ASan build, or valgrind's memcheck (which preloads
 * its malloc replacement). Pool memory is invisible to both. */
static int leak_checked(void)
{
#ifdef LEAK_CHECKED_BUILD
	return 1;
#else
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "vgpreload_memcheck") != NULL;
#endif
}

/* jansson's values (the engine's trees: most of generate's allocations) come from the pool
 * allocator (util/pool.h): no per-block headers, no coalescing, per-thread caches. Must run
 * before any jansson call. DHG_ALLOC=malloc keeps libc's malloc, and so does a run whose
 * leaks are checked (unless DHG_ALLOC=pool). Only commands whose jansson memory never
 * reaches free() use it (not push: the chart packager frees json_dumps() output). */
static void pool_install(void)
{
	const char *a = getenv("DHG_ALLOC");
	/* counted: jansson's parser and serializer ignore a failed allocation (util/json.h); no
	 * reserve: the engine's own jansson calls report theirs */
	if ((a && !strcmp(a, "malloc")) || (!(a && !strcmp(a, "pool")) && leak_checked())) {
		dhg_json_track_allocations_with(malloc, free, 0);
		return;
	}
	dhg_json_track_allocations_with(dhg_pool_malloc, dhg_pool_free, 0);
	dhg_cmd_pool = 1;
}

int dhg_cmd_fail(const char *context)
{
	const dhg_error *e = dhg_error_last();
	if (context)
		fprintf(stderr, "dhg: %s: %s\n", context, e->message[0] ? e->message : "failed");
	else
		fprintf(stderr, "dhg: %s\n", e->message[0] ? e->message : "failed");
	return 1;
}

int main(int argc, char **argv)
{
	int (*cmd)(int, char **) = NULL;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("dhg %s\n", DHG_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "generate") == 0) {
		cmd = dhg_cmd_generate;
		pool_install();
	} else if (strcmp(argv[1], "analyze") == 0) {
		cmd = dhg_cmd_analyze;
		pool_install();
	} else if (strcmp(argv[1], "push") == 0) {
		cmd = dhg_cmd_push;
		dhg_json_track_allocations(); /* libc malloc: the packager frees json_dumps() output */
	}
	else {
		fprintf(stderr, "dhg: unknown command '%s'\n\n", argv[1]);
		usage(stderr);
		return 2;
	}
	if (!cmd) {
		fprintf(stderr, "dhg: command '%s' is not part of this build\n", argv[1]);
		return 1;
	}
	return cmd(argc - 1, argv + 1);
}
