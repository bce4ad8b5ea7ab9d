/*
 * Per-phase cost of the engine (bench/engine.sh, docs/benchmarks.md "Engine"): runs the same
 * steps as `dhg generate` -- engine_extract__paths_prepared() (files parsed, and their
 * objects' own part of normalize done, on the worker threads),
 * engine_normalize(), the generator on the same threads (engine_chart__generate_take(), as
 * engine_run_paths() calls it; DHG_THREADS=1 for the one-thread split),
 * engine_chart_write_dir_threads() on the same threads (or, with --dry-run, the chart files
 * written to /dev/null as `dhg generate --dry-run` prints them) -- then the disposal
 * (engine_chart_free + engine_objects_dispose), timing each phase separately.
 *
 * Per phase it prints CPU time (CLOCK_PROCESS_CPUTIME_ID), wall time and the peak RSS after
 * the phase (getrusage ru_maxrss). Under `valgrind --tool=callgrind --collect-atstart=no`
 * (bench/engine.sh with BENCH_CALLGRIND=1) each phase is also dumped as its own callgrind
 * part named after the phase (CALLGRIND_DUMP_STATS_AT), so that instruction counts per phase
 * are exact and independent of machine load.
 *
 * As dhg generate does, jansson's values come from the pool allocator (util/pool.h) unless
 * DHG_ALLOC=malloc; the dispose phase still frees everything (the library's teardown).
 *
 * Usage: engine_phases [--dry-run] [-o OUTDIR] --chart-name NAME -f PATH [-f PATH ...]
 * Output: one line per phase, "phase=<name> cpu_ms=<x> wall_ms=<x> maxrss_kb=<n>", then
 * "resources=<n> files=<n> bytes=<n> digest=<d>". Exit 0 on success, 1 on an engine error,
 * 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "engine/engine.h"
#include "engine/extract/normalize.h"
#include "engine/generate/generate.h"
#include "util/error.h"
#include "util/pool.h"

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif
#ifndef HAVE_CALLGRIND
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_DUMP_STATS_AT(s) ((void)(s))
#endif

#define MAX_INPUTS 64

typedef struct clocks {
	struct timespec cpu, wall;
} clocks;

static void clocks_now(clocks *c)
{
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c->cpu);
	clock_gettime(CLOCK_MONOTONIC, &c->wall);
}

static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static long maxrss_kb(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* Ends the phase started at *t0: prints its line, dumps its callgrind part, restarts *t0. */
static void phase_end(clocks *t0, const char *name)
{
	clocks t1;

	CALLGRIND_DUMP_STATS_AT(name);
	clocks_now(&t1);
	printf("phase=%s cpu_ms=%.2f wall_ms=%.2f maxrss_kb=%ld\n", name, ms_between(&t0->cpu, &t1.cpu),
	       ms_between(&t0->wall, &t1.wall), maxrss_kb());
	clocks_now(t0);
}

static int usage(void)
{
	fputs("usage: engine_phases [--dry-run] [-o OUTDIR] --chart-name NAME -f PATH [-f PATH ...]\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const char *inputs[MAX_INPUTS], *outdir = NULL;
	size_t ninputs = 0, bytes = 0;
	int dry_run = 0, rc = 1;
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_warnings warn = ENGINE_WARNINGS_INIT;
	engine_extract_options xopts = ENGINE_EXTRACT_OPTIONS_INIT;
	engine_options opts = ENGINE_OPTIONS_INIT;
	engine_chart *chart = NULL;
	char digest[DHG_DIGEST_STR_SIZE] = "";
	clocks t0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dry-run"))
			dry_run = 1;
		else if (!strcmp(argv[i], "-f") && i + 1 < argc && ninputs < MAX_INPUTS)
			inputs[ninputs++] = argv[++i];
		else if (!strcmp(argv[i], "-o") && i + 1 < argc)
			outdir = argv[++i];
		else if (!strcmp(argv[i], "--chart-name") && i + 1 < argc)
			opts.chart_name = argv[++i];
		else
			return usage();
	}
	if (ninputs == 0 || !opts.chart_name || !!outdir == !!dry_run)
		return usage();

	if (!getenv("DHG_ALLOC") || strcmp(getenv("DHG_ALLOC"), "malloc"))
		json_set_alloc_funcs(dhg_pool_malloc, dhg_pool_free);
	CALLGRIND_START_INSTRUMENTATION;
	CALLGRIND_TOGGLE_COLLECT;
	clocks_now(&t0);
	if (engine_threads_default(&xopts.threads) < 0 || engine_extract__paths_prepared(&objs, inputs, ninputs, &xopts) < 0)
		goto fail;
	phase_end(&t0, "extract");
	if (engine_normalize(&objs, &warn) < 0)
		goto fail;
	phase_end(&t0, "normalize");
	if (engine_chart__generate_take(&chart, &objs, &opts, xopts.threads) < 0)
		goto fail;
	phase_end(&t0, "generate");
	if (dry_run) {
		/* what `dhg generate --dry-run` does with the files */
		FILE *null = fopen("/dev/null", "w");
		if (!null) {
			perror("engine_phases: /dev/null");
			goto done;
		}
		for (size_t i = 0; i < chart->nfiles; i++) {
			fprintf(null, "---\n# Source: %s\n", chart->files[i].path);
			fwrite(chart->files[i].data, 1, chart->files[i].len, null);
		}
		fclose(null);
	} else if (engine_chart_write_dir_threads(chart, outdir, xopts.threads) < 0) {
		goto fail;
	}
	phase_end(&t0, "write");
	for (size_t i = 0; i < chart->nfiles; i++)
		bytes += chart->files[i].len;
	snprintf(digest, sizeof(digest), "%s", chart->digest);
	printf("resources=%zu files=%zu bytes=%zu warnings=%zu digest=%s\n", chart->resource_count, chart->nfiles,
	       bytes, warn.len + chart->warnings.len, digest);
	engine_chart_free(chart);
	chart = NULL;
	engine_objects_dispose(&objs);
	engine_warnings_dispose(&warn);
	phase_end(&t0, "dispose");
	CALLGRIND_TOGGLE_COLLECT;
	return 0;
fail:
	fprintf(stderr, "engine_phases: %s\n", dhg_error_last()->message);
done:
	engine_chart_free(chart);
	engine_objects_dispose(&objs);
	engine_warnings_dispose(&warn);
	return rc;
}
