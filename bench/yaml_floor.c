/*
 * The engine benchmark's floor: the least work any YAML-to-chart tool must do. Reads every
 * *.yaml / *.yml file under the given paths, parses it completely with libyaml's event
 * parser (no tree is built), then writes BYTES bytes (the size of the chart the engine
 * produced) into OUTDIR: as one file (default), or split over NFILES files with -n (to
 * separate the file-system cost of many small files from the engine's own cost).
 *
 * Usage: yaml_floor [-n NFILES] OUTDIR BYTES PATH...
 * Prints "events=<n> files_read=<n> bytes_written=<n>" on success; exit 0, else 1 (2: usage).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/str.h"

static unsigned long long events, files_read;

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
		events++;
		yaml_event_delete(&ev);
	}
	files_read++;
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
	if (!S_ISDIR(st.st_mode))
		return parse_file(path);
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

static int write_out(const char *dir, unsigned long long bytes, long nfiles)
{
	static char block[1 << 16];
	unsigned long long written = 0;

	memset(block, 'x', sizeof(block));
	for (long i = 0; i < nfiles; i++) {
		unsigned long long share = bytes / (unsigned long long)nfiles + ((unsigned long long)i < bytes % (unsigned long long)nfiles);
		char *path = dhg_asprintf("%s/out-%06ld.yaml", dir, i);
		FILE *f;
		if (!path)
			return -1;
		f = fopen(path, "wb");
		if (!f) {
			fprintf(stderr, "yaml_floor: %s: %s\n", path, strerror(errno));
			free(path);
			return -1;
		}
		while (share > 0) {
			size_t n = share < sizeof(block) ? (size_t)share : sizeof(block);
			if (fwrite(block, 1, n, f) != n)
				break;
			share -= n;
			written += n;
		}
		if (fclose(f) != 0 || share > 0) {
			fprintf(stderr, "yaml_floor: %s: write failed\n", path);
			free(path);
			return -1;
		}
		free(path);
	}
	printf("events=%llu files_read=%llu bytes_written=%llu files_written=%ld\n", events, files_read, written, nfiles);
	return 0;
}

int main(int argc, char **argv)
{
	long nfiles = 1, bytes;
	int a = 1;

	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		if (dhg_parse_long(&nfiles, argv[2], 1, 10000000) < 0)
			goto usage;
		a = 3;
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
	return write_out(argv[a], (unsigned long long)bytes, nfiles) < 0 ? 1 : 0;
usage:
	fprintf(stderr, "Usage: yaml_floor [-n NFILES] OUTDIR BYTES PATH...\n");
	return 2;
}
