/* Test driver for git as a source: exports a repository subtree at a ref into a directory.
 *   gitout_source --url URL --dest DIR [--branch B | --tag T | --commit HEX] [--path P]
 *                 [--work-dir D] [--username U] [--password-file F] [--identity-file F]
 *                 [--known-hosts-file F] [--ca-file F] [--extract]
 * Prints "commit=<hex> files=<n>"; with --extract also "objects=<n>" from engine_extract_path()
 * (when the engine's extractor is linked in). Exit: 0 ok, 2 usage, 3 failure. */
#include <string.h>

#include "gitout_common.h"

int main(int argc, char **argv)
{
	gitsrc_options o = GITSRC_OPTIONS_INIT;
	gitout_credentials cr = GITOUT_CREDENTIALS_INIT;
	gitsrc_result res;
	int i, extract = 0, rc = 0;

	for (i = 1; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(k, "--extract")) { extract = 1; continue; }
		if (!v) { fprintf(stderr, "missing value for %s\n", k); return 2; }
		i++;
		if (!strcmp(k, "--url")) o.url = v;
		else if (!strcmp(k, "--dest")) o.dest_dir = v;
		else if (!strcmp(k, "--branch")) o.branch = v;
		else if (!strcmp(k, "--tag")) o.tag = v;
		else if (!strcmp(k, "--commit")) o.commit = v;
		else if (!strcmp(k, "--path")) o.path = v;
		else if (!strcmp(k, "--work-dir")) o.work_dir = v;
		else if (!strcmp(k, "--username")) cr.username = dhg_strdup(v);
		else if (!strcmp(k, "--password-file")) cr.password = read_opt_file(v);
		else if (!strcmp(k, "--identity-file")) cr.identity = read_opt_file(v);
		else if (!strcmp(k, "--known-hosts-file")) cr.known_hosts = read_opt_file(v);
		else if (!strcmp(k, "--ca-file")) cr.ca_pem = read_opt_file(v);
		else { fprintf(stderr, "unknown option %s\n", k); gitout_credentials_dispose(&cr); return 2; }
	}
	if (!o.url || !o.dest_dir) {
		fprintf(stderr, "usage: gitout_source --url URL --dest DIR [options]\n");
		gitout_credentials_dispose(&cr);
		return 2;
	}
	if (cr.password) {
		size_t n = strlen(cr.password);
		while (n && (cr.password[n - 1] == '\n' || cr.password[n - 1] == '\r')) cr.password[--n] = '\0';
	}
	o.creds = &cr;
	if (gitsrc_fetch(&res, &o) < 0) {
		fprintf(stderr, "error: %s (%s)\n", dhg_error_last()->message, dhg_error_name(dhg_error_last()->code));
		rc = 3;
	} else {
		printf("commit=%s files=%zu reused=%d\n", res.commit, res.files, res.reused);
		if (extract) {
			engine_objects objs = ENGINE_OBJECTS_INIT;
			engine_extract_options xo = ENGINE_EXTRACT_OPTIONS_INIT;
			if (engine_extract_path(&objs, o.dest_dir, &xo) < 0) {
				fprintf(stderr, "error: extract: %s\n", dhg_error_last()->message);
				rc = 3;
			} else {
				printf("objects=%zu\n", objs.len);
			}
			engine_objects_dispose(&objs);
		}
	}
	gitout_credentials_dispose(&cr);
	return rc;
}
