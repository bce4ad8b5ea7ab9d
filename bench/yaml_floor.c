/*
 * The engine benchmark's floor: the least work any YAML-to-chart tool must do. Reads every
 * *.yaml / *.yml file under the given paths, parses it completely with libyaml's event
 * parser (no tree is built), then writes BYTES bytes (the size of the chart the engine
 * produced) into OUTDIR: as one file (default), or split over NFILES files with -n (to
 * separate the file-system cost of many small files from the engine's own cost).
 *
 * With -j THREADS (default 1) the files are parsed, then written, by that many threads, each
 * taking the next file in turn: the least any implementation using that many cores could take
 * (the engine benchmark reports it as the 2-core floor, for reference; its targets use the
 * one-thread floor).
 *
 * Usage: yaml_floor [-n NFILES] [-j THREADS] OUTDIR BYTES PATH...
 * Prints "events=<n> files_read=<n> bytes_written=<n>" on success; exit 0, else 1 (2: usage).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "engine/engine.h"
#include "engine/par.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/str.h"

static unsigned long long events, files_read; /* atomic */

/* The input files found by walk(), parsed by parse_all(). */
static char **inputs;
static size_t ninputs, capinputs;
static size_t next_job; /* atomic: the next input (parse) or output file (write) to take */
static int failed;      /* atomic */

typedef struct wjob {
	const char *dir;
	unsigned long long bytes, written; /* written: this thread's bytes */
	long nfiles;
} wjob;

static int parse_file(const char *path)
{
	char *data = NULL;
	size_t len = 0;
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = -1, done = 0;

	if (dhg_file_read(&data, &len, path, (size_t)64 << 20) < 0) {
		fprintf(stderr, "yaml_floor: %s\n", dhg_error_last()->message);
		return -1;
	}
	if (!yaml_parser_initialize(&p)) {
		free(data);
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			fprintf(stderr, "yaml_floor: %s: %s at line %zu\n", path, p.problem ? p.problem : "parse error",
				p.problem_mark.line + 1);
			goto out;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		__atomic_add_fetch(&events, 1, __ATOMIC_RELAXED);
		yaml_event_delete(&ev);
	}
	__atomic_add_fetch(&files_read, 1, __ATOMIC_RELAXED);
	rc = 0;
out:
	yaml_parser_delete(&p);
	free(data);
	return rc;
}

static int walk(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "yaml_floor: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		char *dup;
		if (ninputs == capinputs) {
			size_t ncap = capinputs ? capinputs * 2 : 64;
			char **n = realloc(inputs, ncap * sizeof(*n));
			if (!n)
				return -1;
			inputs = n;
			capinputs = ncap;
		}
		if (!(dup = dhg_strdup(path)))
			return -1;
		inputs[ninputs++] = dup;
		return 0;
	}
	if (!(d = opendir(path))) {
		fprintf(stderr, "yaml_floor: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char *child;
		if (e->d_name[0] == '.')
			continue;
		if (!(child = dhg_asprintf("%s/%s", path, e->d_name))) {
			rc = -1;
			break;
		}
		if (stat(child, &st) == 0 &&
		    (S_ISDIR(st.st_mode) || dhg_str_has_suffix(child, ".yaml") || dhg_str_has_suffix(child, ".yml")))
			rc = walk(child);
		free(child);
	}
	closedir(d);
	return rc;
}

static void *parse_main(void *arg)
{
	size_t i;
	(void)arg;
	while (!__atomic_load_n(&failed, __ATOMIC_RELAXED) &&
	       (i = __atomic_fetch_add(&next_job, 1, __ATOMIC_RELAXED)) < ninputs)
		if (parse_file(inputs[i]) < 0)
			__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void *write_main(void *arg)
{
	static const char block[1 << 16] = {0};
	wjob *j = arg;
	long i;

	while (!__atomic_load_n(&failed, __ATOMIC_RELAXED) &&
	       (i = (long)__atomic_fetch_add(&next_job, 1, __ATOMIC_RELAXED)) < j->nfiles) {
		unsigned long long share = j->bytes / (unsigned long long)j->nfiles +
					   ((unsigned long long)i < j->bytes % (unsigned long long)j->nfiles);
		char *path = dhg_asprintf("%s/out-%06ld.yaml", j->dir, i);
		FILE *f;
		if (!path || !(f = fopen(path, "wb"))) {
			fprintf(stderr, "yaml_floor: %s: %s\n", path ? path : "out of memory", strerror(errno));
			free(path);
			__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
			break;
		}
		while (share > 0) {
			size_t n = share < sizeof(block) ? (size_t)share : sizeof(block);
			if (fwrite(block, 1, n, f) != n)
				break;
			share -= n;
			j->written += n;
		}
		if (fclose(f) != 0 || share > 0) {
			fprintf(stderr, "yaml_floor: %s: write failed\n", path);
			__atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
		}
		free(path);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long nfiles = 1, bytes, threads = 1;
	unsigned long long written = 0;
	wjob jobs[ENGINE_MAX_THREADS];
	int a = 1;

	while (argc - a > 2 && argv[a][0] == '-') {
		if (strcmp(argv[a], "-n") == 0 && dhg_parse_long(&nfiles, argv[a + 1], 1, 10000000) == 0)
			a += 2;
		else if (strcmp(argv[a], "-j") == 0 && dhg_parse_long(&threads, argv[a + 1], 1, ENGINE_MAX_THREADS) == 0)
			a += 2;
		else
			goto usage;
	}
	if (argc - a < 3 || dhg_parse_long(&bytes, argv[a + 1], 0, (long)1 << 40) < 0)
		goto usage;
	if (dhg_mkdir_p(argv[a], 0755) < 0) {
		fprintf(stderr, "yaml_floor: %s\n", dhg_error_last()->message);
		return 1;
	}
	for (int i = a + 2; i < argc; i++) {
		if (walk(argv[i]) < 0)
			return 1;
	}
	engine_par_run(parse_main, NULL, 0, (int)threads);
	if (failed)
		return 1;
	next_job = 0;
	for (long t = 0; t < threads; t++)
		jobs[t] = (wjob){argv[a], (unsigned long long)bytes, 0, nfiles};
	engine_par_run(write_main, jobs, sizeof(jobs[0]), (int)threads);
	if (failed)
		return 1;
	for (long t = 0; t < threads; t++)
		written += jobs[t].written;
	printf("events=%llu files_read=%llu bytes_written=%llu files_written=%ld\n", events, files_read, written, nfiles);
	return 0;
usage:
	fprintf(stderr, "Usage: yaml_floor [-n NFILES] [-j THREADS] OUTDIR BYTES PATH...\n");
	return 2;
}
