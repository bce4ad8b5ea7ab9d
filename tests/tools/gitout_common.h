/* Shared by the gitout_* test drivers (header-only, not a tool itself). */
#ifndef DHG_TESTS_GITOUT_COMMON_H
#define DHG_TESTS_GITOUT_COMMON_H
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/engine.h"
#include "output/git/gitout.h"
#include "util/array.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/str.h"

__attribute__((unused)) static int add_dir(engine_chart *c, size_t *cap, const char *root, const char *rel)
{
	char *dir = rel[0] ? dhg_asprintf("%s/%s", root, rel) : dhg_strdup(root);
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;
	int error = 0;
	if (!d) {
		free(dir);
		return dhg_error_set(DHG_ERROR, "cannot open %s", root);
	}
	while (!error && (e = readdir(d))) {
		char *r, *full;
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, ".git"))
			continue;
		r = rel[0] ? dhg_asprintf("%s/%s", rel, e->d_name) : dhg_strdup(e->d_name);
		full = r ? dhg_asprintf("%s/%s", root, r) : NULL;
		if (!full || lstat(full, &st) < 0) {
			error = DHG_ERROR;
		} else if (S_ISDIR(st.st_mode)) {
			error = add_dir(c, cap, root, r);
		} else if (S_ISREG(st.st_mode)) {
			if ((error = dhg_array_reserve((void **)&c->files, cap, c->nfiles + 1, sizeof(*c->files))) < 0)
				goto next;
			if ((error = dhg_file_read(&c->files[c->nfiles].data, &c->files[c->nfiles].len, full,
						   (size_t)64 << 20)) == 0) {
				c->files[c->nfiles].path = r;
				r = NULL;
				c->nfiles++;
			}
		}
	next:
		free(r);
		free(full);
	}
	closedir(d);
	free(dir);
	return error;
}

__attribute__((unused)) static int file_cmp(const void *a, const void *b)
{
	return strcmp(((const engine_file *)a)->path, ((const engine_file *)b)->path);
}

__attribute__((unused)) static void chart_dispose(engine_chart *c)
{
	size_t i;
	for (i = 0; i < c->nfiles; i++) {
		free(c->files[i].path);
		free(c->files[i].data);
	}
	free(c->files);
}

/* A chart read from a directory, with the engine's digest definition. */
__attribute__((unused)) static int chart_from_dir(engine_chart *c, const char *dir, const char *name, const char *version)
{
	size_t cap = 0, i;
	dhg_sha256 *h = NULL;
	int error;
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->version, sizeof(c->version), "%s", version);
	if ((error = add_dir(c, &cap, dir, "")) < 0)
		return error;
	qsort(c->files, c->nfiles, sizeof(*c->files), file_cmp);
	for (i = 0; i < c->nfiles; i++)
		if (dhg_str_has_prefix(c->files[i].path, "templates/") && dhg_str_has_suffix(c->files[i].path, ".yaml"))
			c->resource_count++;
	if ((error = dhg_sha256_new(&h)) < 0)
		return error;
	for (i = 0; i < c->nfiles; i++) {
		unsigned char be[8];
		uint64_t n = c->files[i].len;
		int k;
		for (k = 7; k >= 0; k--, n >>= 8)
			be[k] = (unsigned char)(n & 0xff);
		dhg_sha256_update(h, c->files[i].path, strlen(c->files[i].path) + 1);
		dhg_sha256_update(h, be, 8);
		dhg_sha256_update(h, c->files[i].data, c->files[i].len);
	}
	error = dhg_sha256_final_str(c->digest, h);
	dhg_sha256_free(h);
	return error;
}

__attribute__((unused)) static char *read_opt_file(const char *path)
{
	char *data = NULL;
	size_t len;
	if (!path)
		return NULL;
	if (dhg_file_read(&data, &len, path, (size_t)1 << 20) < 0) {
		fprintf(stderr, "error: %s\n", dhg_error_last()->message);
		exit(2);
	}
	return data;
}
#endif
