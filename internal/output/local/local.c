#include "output/local/local.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/str.h"

int output_local_init(output_local *state, const char *root)
{
	if (!root || !*root)
		return dhg_error_set(DHG_EINVALID, "--output-root is empty");
	if (strlen(root) >= sizeof(state->root) - 300)
		return dhg_error_set(DHG_EINVALID, "--output-root is too long");
	snprintf(state->root, sizeof(state->root), "%s", root);
	return 0;
}

output_writer output_local_writer(output_local *state)
{
	output_writer w = { "local", output_local_write, state };
	return w;
}

int output_local_write(output_result *out, void *payload, const output_request *req)
{
	output_local *st = payload;
	char *dir = NULL, *digest_path = NULL, *versions = NULL, *old = NULL, *line = NULL;
	size_t oldlen = 0;
	int error = 0;
	FILE *f = NULL;

	memset(out, 0, sizeof(*out));
	if (!dhg_dns1123_label_valid(req->ns) || !dhg_dns1123_subdomain_valid(req->name))
		return dhg_error_set(DHG_EINVALID, "local output: invalid HelmChart key %s/%s", req->ns, req->name);
	dir = dhg_asprintf("%s/%s/%s", st->root, req->ns, req->name);
	digest_path = dhg_asprintf("%s/%s/.%s.digest", st->root, req->ns, req->name);
	versions = dhg_asprintf("%s/%s/%s.versions", st->root, req->ns, req->name);
	if (!dir || !digest_path || !versions) {
		error = DHG_ENOMEM;
		goto done;
	}
	snprintf(out->path, sizeof(out->path), "%s", dir);
	if (dhg_path_is_dir(dir) && dhg_file_read(&old, &oldlen, digest_path, 256) == 0 &&
	    strcmp(old, req->chart->digest) == 0) {
		snprintf(out->summary, sizeof(out->summary), "local %s (unchanged)", dir);
		goto done; /* same content already on disk */
	}
	dhg_error_clear();
	if ((error = dhg_mkdir_parent(dir, 0755)) < 0)
		goto done;
	if ((error = engine_chart_write_dir(req->chart, dir)) < 0) {
		dhg_error_wrap("local output %s", dir);
		goto done;
	}
	if ((error = dhg_file_write_atomic(digest_path, req->chart->digest, strlen(req->chart->digest), 0644)) < 0)
		goto done;
	if (!(f = fopen(versions, "a"))) {
		error = dhg_error_set(DHG_ERROR, "local output: cannot append to %s", versions);
		goto done;
	}
	fprintf(f, "%s %s\n", req->chart->version, req->chart->digest);
	if (fclose(f) != 0)
		error = dhg_error_set(DHG_ERROR, "local output: cannot write %s", versions);
	f = NULL;
	out->changed = 1;
	snprintf(out->summary, sizeof(out->summary), "local %s", dir);
done:
	free(dir);
	free(digest_path);
	free(versions);
	free(old);
	free(line);
	return error;
}
